"""The compiled kernel against the NumPy reference kernel, trajectory by trajectory.

Both run the same algorithm on the same compiled model functions, so every trajectory must end
at the same point (to rounding), with the same divergence kind and the same solver counters.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest

from pymc_fisher.samplers.compiled.kernel import compiled_kernel
from pymc_fisher.samplers.core.options import SolverOptions
from pymc_fisher.samplers.drivers.model import compile_model, reference_system
from pymc_fisher.samplers.drivers.select import make_kernel
from pymc_fisher.samplers.metric.operations import direct_metric, draw_momentum, softabs_metric
from pymc_fisher.samplers.reference.kernel import reference_kernel
from pymc_fisher.samplers.transitions.fixed import fixed_transition
from tests.models import python_op_model
from tests.samplers.models import correlated_gaussian, eight_schools_centered, funnel

OPTIONS = SolverOptions(tol=1e-9, max_iterations=15)
#: every step verified by its reverse, the momentum solve from a guess of the state alone
CHECKED = OPTIONS._replace(reverse_check=True)


def _kernels(model, metric, vars=None, point=None):
    vars = vars or model.continuous_value_vars
    point = point or model.initial_point()
    compiled = compile_model(model, vars, point, metric)
    bundle = softabs_metric(1e3) if metric == "softabs" else direct_metric()
    fast = compiled_kernel(compiled, bundle)
    reference = reference_kernel(reference_system(compiled, bundle))
    return fast, reference, compiled.size


def _start(kernel, theta, p):
    return kernel.start(kernel.evaluate(theta), p)


def _integrate(kernel, state, eps, n):
    """n leapfrog steps through the kernel's own leapfrog: (state, kind, steps, its, evals)."""
    iterations = evals = 0
    for i in range(n):
        state, report = kernel.leapfrog(state, eps, OPTIONS)
        iterations += report.momentum_iterations + report.position_iterations
        evals += report.gradient_evaluations
        if report.divergence != "none":
            return state, report.divergence, i + 1, iterations, evals
    return state, "none", n, iterations, evals


CASES = [
    ("funnel", lambda: funnel(10), "fisher", 0.2, 25),
    ("funnel-softabs", lambda: funnel(10), "softabs", 0.1, 10),
    ("eight-schools", eight_schools_centered, "fisher", 0.2, 20),
    ("eight-schools-softabs", eight_schools_centered, "softabs", 0.05, 10),
    ("correlated-hessian", lambda: correlated_gaussian(4)[0], "hessian", 0.3, 10),
]


@pytest.mark.parametrize(("name", "build", "metric", "eps", "steps"), CASES, ids=lambda c: c)
def test_kernel_trajectory_equals_reference(name, build, metric, eps, steps):
    fast, reference, d = _kernels(build(), metric)
    rng = np.random.default_rng(7)
    for trial in range(3):
        theta = rng.normal(scale=0.5, size=d)
        start_ref = _start(reference, theta, np.zeros(d))
        p = draw_momentum(start_ref.position.metric, rng)
        ends = [_integrate(s, _start(s, theta, p), eps, steps) for s in (fast, reference)]
        (end_f, kind_f, n_f, it_f, ev_f), (end_r, kind_r, n_r, it_r, ev_r) = ends
        assert (kind_f, n_f, it_f, ev_f) == (kind_r, n_r, it_r, ev_r), trial
        scale = 1.0 + np.abs(end_r.position.theta).max()
        np.testing.assert_allclose(end_f.position.theta, end_r.position.theta, atol=1e-9 * scale)
        np.testing.assert_allclose(end_f.momentum, end_r.momentum, atol=1e-9 * scale)
        assert end_f.energy == pytest.approx(end_r.energy, abs=1e-9 * abs(end_r.energy) + 1e-9)


@pytest.mark.parametrize("options", [OPTIONS, CHECKED], ids=["unchecked", "reverse-check"])
@pytest.mark.parametrize(("name", "build", "metric", "eps", "steps"), CASES, ids=lambda c: c)
def test_kernel_transition_equals_reference(name, build, metric, eps, steps, options):
    # the whole transition (momentum draw, trajectory, Metropolis test, condition number) from
    # one generator state: the same next position and statistics; the absurd step size makes
    # divergent transitions too
    fast, reference, d = _kernels(build(), metric)
    assert (fast.name, reference.name) == ("compiled", "reference")
    rng = np.random.default_rng(11)
    kinds = set()
    for trial in range(6):
        theta = rng.normal(scale=0.5, size=d)
        step = eps * (40.0 if trial == 5 else 1.0)
        seed = int(rng.integers(2**32))
        out = [
            fixed_transition(
                s, s.evaluate(theta), step, steps, np.random.default_rng(seed), options
            )
            for s in (fast, reference)
        ]
        (point_f, info_f), (point_r, info_r) = out
        kinds.add(info_r.divergence)
        if trial == 5:
            # at 40x the step size the steps subdivide; where the iterates overflow, which failure
            # each implementation meets first is rounding, but both reject or both move alike
            assert info_f.accepted == info_r.accepted
            if info_r.accepted:
                np.testing.assert_allclose(point_f.theta, point_r.theta, atol=1e-7)
            else:
                np.testing.assert_array_equal(point_f.theta, theta)
            continue
        exact = ("accepted", "divergence", "n_steps", "fixed_point_iterations")
        exact += ("gradient_evaluations",)
        assert [getattr(info_f, k) for k in exact] == [getattr(info_r, k) for k in exact], trial
        np.testing.assert_allclose(point_f.theta, point_r.theta, atol=1e-9 * (1 + abs(theta).max()))
        assert point_f.logp == pytest.approx(point_r.logp, rel=1e-9, abs=1e-9)
        for k in ("acceptance_rate", "energy", "condition_number"):
            assert getattr(info_f, k) == pytest.approx(getattr(info_r, k), rel=1e-7, abs=1e-9), k
        if np.isfinite(info_r.energy_error):
            assert info_f.energy_error == pytest.approx(info_r.energy_error, abs=1e-7)
        else:
            assert not np.isfinite(info_f.energy_error)
    assert "none" in kinds


def test_kernel_step_is_reversible_and_reports_divergences_like_the_reference():
    fast, reference, d = _kernels(funnel(10), "fisher")
    rng = np.random.default_rng(3)
    theta = rng.normal(size=d)
    state = _start(fast, theta, draw_momentum(fast.evaluate(theta).metric, rng))
    forward, report = fast.leapfrog(state, 0.3, OPTIONS)
    assert report.divergence == "none"
    flipped = forward._replace(momentum=-forward.momentum)
    back, _ = fast.leapfrog(flipped, 0.3, OPTIONS)
    np.testing.assert_allclose(back.position.theta, theta, atol=1e-8)
    np.testing.assert_allclose(-back.momentum, state.momentum, atol=1e-8)
    # a step far too large: both implementations give up the same way, returning the input
    for eps in (50.0, -50.0):
        out = [s.leapfrog(_start(s, theta, state.momentum), eps, OPTIONS)
               for s in (fast, reference)]  # fmt: skip
        assert out[0][1].divergence == out[1][1].divergence != "none"
        np.testing.assert_array_equal(out[0][0].position.theta, theta)


def test_kernel_reads_shared_inputs_of_a_compound_step():
    # RMHMC on x only: the discrete k is a shared input of the compiled functions, set by the
    # step before each transition; the data container is one too
    with pm.Model() as model:
        data = pm.Data("data", np.array([0.5, -1.0, 2.0]))
        k = pm.Bernoulli("k", 0.5)
        x = pm.Normal("x", 0.0, 1.0 + 2.0 * k, shape=3)
        pm.Normal("y", x, 1.0, observed=data)
    point = model.initial_point()
    compiled = compile_model(model, [model.rvs_to_values[x]], point, "hessian")
    fast = compiled_kernel(compiled, direct_metric())
    reference = reference_kernel(reference_system(compiled, direct_metric()))
    [k_shared] = [sv for v, sv in compiled.shared.items() if v.name == "k"]
    theta, p = np.array([0.1, 0.2, -0.3]), np.array([0.3, -0.2, 0.1])
    finals = []
    for k_value in (0, 1):
        k_shared.set_value(np.asarray(k_value, dtype=k_shared.type.dtype))
        ends = []
        for s in (fast, reference):
            s.sync()  # the compiled kernel reads the shared input by address
            ends.append(_integrate(s, _start(s, theta, p), 0.2, 5)[0])
        np.testing.assert_allclose(ends[0].position.theta, ends[1].position.theta, atol=1e-12)
        # G = -∇²log p = diag(1/σ² + 1) with σ = 1 + 2k: the metric the kernel saw follows k
        np.testing.assert_allclose(
            np.diag(ends[0].position.metric.inverse), 1.0 / (1.0 / (1.0 + 2.0 * k_value) ** 2 + 1)
        )
        finals.append(ends[0].position.theta)
    assert not np.allclose(finals[0], finals[1])


def test_functions_the_kernel_cannot_call_run_on_the_reference():
    # an op without a Numba implementation: PyTensor runs it in object mode, with a body of
    # another signature; the step falls back to the NumPy integrator and still samples
    from pymc_fisher.samplers.core.kernel import KernelFallbackWarning
    from pymc_fisher.samplers.drivers.step import RMHMC

    model = python_op_model()
    with model, pytest.warns(KernelFallbackWarning, match="PythonOnlyLogCosh"):
        step = RMHMC(metric="softabs")
    assert step.kernel.name == "reference"
    with model:
        idata = pm.sample(
            draws=20, tune=20, chains=1, step=step, progressbar=False,
            compute_convergence_checks=False, random_seed=1,
        )  # fmt: skip
    assert np.isfinite(idata.posterior["x"].values).all()


def test_make_kernel_picks_the_compiled_kernel_when_it_agrees():
    model = eight_schools_centered()
    point = model.initial_point()
    compiled = compile_model(model, model.continuous_value_vars, point, "fisher")
    theta = np.concatenate([np.ravel(point[v.name]) for v in model.continuous_value_vars])
    assert make_kernel(compiled, direct_metric(), theta, prefer="compiled").name == "compiled"
    assert make_kernel(compiled, direct_metric(), theta, prefer="reference").name == "reference"


def _nudged(kernel, by):
    """``kernel`` whose leapfrog ends ``by`` off in θ: a kernel that disagrees."""

    def leapfrog(state, step_size, options):
        new, report = kernel.leapfrog(state, step_size, options)
        return new._replace(position=new.position._replace(theta=new.position.theta + by)), report

    return kernel._replace(leapfrog=leapfrog)


def _failing_at(kernel, theta0):
    """``kernel`` whose log density is not finite at ``theta0`` exactly (and only there)."""

    def evaluate(theta):
        return "energy" if np.array_equal(theta, theta0) else kernel.evaluate(theta)

    return kernel._replace(evaluate=evaluate)


def test_the_self_test_finds_a_disagreement_and_never_passes_vacuously():
    from pymc_fisher.samplers.drivers.select import NOT_COMPARED, _agrees

    fast, reference, d = _kernels(funnel(4), "fisher")
    theta = np.full(d, 0.3)
    tight = SolverOptions(tol=1e-12)
    assert _agrees(fast, reference, theta, tight) is None
    assert "differs by" in _agrees(_nudged(fast, 1e-6), reference, theta, tight)
    # both fail to evaluate the start: the test moves to another point, where it still sees
    # the disagreement (it used to compare the two failures and pass)
    a, b = _failing_at(_nudged(fast, 1e-6), theta), _failing_at(reference, theta)
    assert "differs by" in _agrees(a, b, theta, tight)
    # kernels that never take a step in common are not known to agree
    nowhere = reference._replace(evaluate=lambda theta: "metric")
    assert _agrees(nowhere, nowhere, theta, tight) == NOT_COMPARED


def test_the_bound_model_keeps_the_code_its_addresses_point_into():
    from pymc_fisher.samplers.compiled.binding import Bound, _addresses

    model = funnel(3)
    point = model.initial_point()
    compiled = compile_model(model, model.continuous_value_vars, point, "fisher")
    ev, ct = compiled.evaluate.vm, compiled.contract.vm
    extra = (tuple(c[0] for c in ev.inputs[1:]), tuple(c[0] for c in ct.inputs[2:]))
    bound = Bound(ev.jit_fn, ct.jit_fn, *extra, compiled.size, 0, 0.0)
    held = [_addresses(next(iter(dispatcher.overloads.values())))
            for dispatcher in bound._dispatchers[2:]]  # fmt: skip
    assert np.array_equal(bound._model.functions, np.ravel(held))


def test_newton_fallback_of_a_singular_jacobian_is_a_solver_divergence():
    # No fixed-point iteration (max_iterations=1) leaves Newton to a step far too large: where
    # its Jacobian is singular or not finite the step fails as a solve (kind "solver" or
    # "energy"), never with an exception, and both kernels agree
    fast, reference, d = _kernels(funnel(10), "softabs")
    options = SolverOptions(tol=1e-12, max_iterations=1, newton_iterations=3)
    rng = np.random.default_rng(5)
    kinds = set()
    for _ in range(5):
        theta = rng.normal(scale=2.0, size=d)
        p = 50.0 * rng.normal(size=d)
        reports = [k.leapfrog(_start(k, theta, p), 25.0, options)[1] for k in (fast, reference)]
        assert reports[0].divergence == reports[1].divergence
        kinds.add(reports[0].divergence)
    assert kinds - {"none"}


def test_an_edit_of_a_module_the_kernel_calls_flushes_its_disk_cache(tmp_path, monkeypatch):
    # numba keys a cached function on its own file only: an edit of a module it calls must flush
    # it. Two throwaway modules stand in for the kernel's, so the real cache stays warm.
    import importlib

    from pymc_fisher.samplers.compiled.cache import refresh_disk_cache

    (tmp_path / "jitted_here.py").write_text(
        "import numba as nb\n\n@nb.njit(cache=True)\ndef f(x):\n    return x + 1\n"
    )
    (tmp_path / "called_there.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("jitted_here")
    modules = ("jitted_here", "called_there")
    index = module.f._cache._cache_file

    module.f(1.0)
    assert index._load_index(), "numba cached nothing: the test cannot see a flush"
    refresh_disk_cache(module.f, modules)  # no stamp yet: flush, then stamp
    assert not index._load_index()
    module.f(1)  # a new signature is cached again
    refresh_disk_cache(module.f, modules)  # same sources: kept
    assert index._load_index()
    (tmp_path / "called_there.py").write_text("VALUE = 2\n")
    refresh_disk_cache(module.f, modules)  # the called module changed: flushed
    assert not index._load_index()
