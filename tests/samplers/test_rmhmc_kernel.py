"""The Numba kernel against the NumPy reference integrator, trajectory by trajectory.

Both run the same algorithm on the same compiled model functions, so every trajectory must end
at the same point (to rounding), with the same divergence kind and the same solver counters.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest

from pymc_fisher.samplers.compiled import compile_model, riemannian_system
from pymc_fisher.samplers.integrator import (
    SolverOptions,
    generalized_leapfrog,
    integrator_state,
)
from pymc_fisher.samplers.metrics import direct_metric, draw_momentum, softabs_metric
from pymc_fisher.samplers.trajectory import fixed_transition, integrate
from tests.samplers.models import correlated_gaussian, eight_schools_centered, funnel

OPTIONS = SolverOptions(1e-9, 1e-9, 15, 3, 5)


def _systems(model, metric, vars=None, point=None):
    vars = vars or model.continuous_value_vars
    point = point or model.initial_point()
    compiled = compile_model(model, vars, point, metric)
    bundle = softabs_metric(1e3) if metric == "softabs" else direct_metric()
    fast = riemannian_system(compiled, bundle)
    reference = riemannian_system(compiled, bundle, compiled_integrator=False)
    assert fast.integrate is not None
    assert reference.integrate is None
    return fast, reference, compiled.size


def _start(system, theta, p):
    point = system.evaluate(theta)
    return integrator_state(system, point, p)


CASES = [
    ("funnel", lambda: funnel(10), "fisher", 0.2, 25),
    ("funnel-softabs", lambda: funnel(10), "softabs", 0.1, 10),
    ("eight-schools", eight_schools_centered, "fisher", 0.2, 20),
    ("eight-schools-softabs", eight_schools_centered, "softabs", 0.05, 10),
    ("correlated-hessian", lambda: correlated_gaussian(4)[0], "hessian", 0.3, 10),
]


@pytest.mark.parametrize(("name", "build", "metric", "eps", "steps"), CASES, ids=lambda c: c)
def test_kernel_trajectory_equals_reference(name, build, metric, eps, steps):
    fast, reference, d = _systems(build(), metric)
    rng = np.random.default_rng(7)
    for trial in range(3):
        theta = rng.normal(scale=0.5, size=d)
        start_ref = _start(reference, theta, np.zeros(d))
        p = draw_momentum(start_ref.position.metric, rng)
        ends = [
            integrate(s, _start(s, theta, p), eps, steps, options=OPTIONS)
            for s in (fast, reference)
        ]
        (end_f, kind_f, n_f, it_f, _, ev_f), (end_r, kind_r, n_r, it_r, _, ev_r) = ends
        assert (kind_f, n_f, it_f, ev_f) == (kind_r, n_r, it_r, ev_r), trial
        scale = 1.0 + np.abs(end_r.position.theta).max()
        np.testing.assert_allclose(end_f.position.theta, end_r.position.theta, atol=1e-9 * scale)
        np.testing.assert_allclose(end_f.momentum, end_r.momentum, atol=1e-9 * scale)
        assert end_f.energy == pytest.approx(end_r.energy, abs=1e-9 * abs(end_r.energy) + 1e-9)


@pytest.mark.parametrize(("name", "build", "metric", "eps", "steps"), CASES, ids=lambda c: c)
def test_kernel_transition_equals_reference(name, build, metric, eps, steps):
    # the whole transition (momentum draw, trajectory, Metropolis test, condition number) from
    # one generator state: the same next position and statistics; the absurd step size makes
    # divergent transitions too
    fast, reference, d = _systems(build(), metric)
    assert fast.transition is not None
    assert reference.transition is None
    rng = np.random.default_rng(11)
    kinds = set()
    for trial in range(6):
        theta = rng.normal(scale=0.5, size=d)
        step = eps * (40.0 if trial == 5 else 1.0)
        seed = int(rng.integers(2**32))
        out = [
            fixed_transition(
                s, s.evaluate(theta), step, steps, np.random.default_rng(seed), options=OPTIONS
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
    fast, reference, d = _systems(funnel(10), "fisher")
    rng = np.random.default_rng(3)
    theta = rng.normal(size=d)
    state = _start(fast, theta, draw_momentum(fast.evaluate(theta).metric, rng))
    forward, report = generalized_leapfrog(fast, state, 0.3, OPTIONS)
    assert report.divergence == "none"
    flipped = forward._replace(momentum=-forward.momentum)
    back, _ = generalized_leapfrog(fast, flipped, 0.3, OPTIONS)
    np.testing.assert_allclose(back.position.theta, theta, atol=1e-8)
    np.testing.assert_allclose(-back.momentum, state.momentum, atol=1e-8)
    # a step far too large: both implementations give up the same way, returning the input
    for eps in (50.0, -50.0):
        out = [generalized_leapfrog(s, _start(s, theta, state.momentum), eps, OPTIONS)
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
    [k_shared] = [sv for v, sv in compiled.shared.items() if v.name == "k"]
    theta, p = np.array([0.1, 0.2, -0.3]), np.array([0.3, -0.2, 0.1])
    finals = []
    for k_value in (0, 1):
        k_shared.set_value(np.asarray(k_value, dtype=k_shared.type.dtype))
        ends = []
        for fast in (True, False):
            s = riemannian_system(compiled, direct_metric(), compiled_integrator=fast)
            assert (s.integrate is not None) is fast
            ends.append(integrate(s, _start(s, theta, p), 0.2, 5, options=OPTIONS)[0])
        np.testing.assert_allclose(ends[0].position.theta, ends[1].position.theta, atol=1e-12)
        # G = -∇²log p = diag(1/σ² + 1) with σ = 1 + 2k: the metric the kernel saw follows k
        np.testing.assert_allclose(
            np.diag(ends[0].position.metric.inverse), 1.0 / (1.0 / (1.0 + 2.0 * k_value) ** 2 + 1)
        )
        finals.append(ends[0].position.theta)
    assert not np.allclose(finals[0], finals[1])


def test_functions_the_kernel_cannot_call_run_on_the_reference():
    # polygamma has no Numba implementation: PyTensor runs it in object mode, with a body of
    # another signature; the step falls back to the NumPy integrator and still samples
    import pytensor.tensor as pt

    from pymc_fisher.samplers.step import RMHMC

    with pm.Model() as model:
        x = pm.Normal("x", 0.0, 1.0, shape=2)
        pm.Potential("p", -0.01 * pt.polygamma(1, 2.0 + pt.exp(x)).sum())
        step = RMHMC(metric="softabs")
    system = riemannian_system(step._compiled, step._metric)
    assert system.integrate is None
    assert step._compiled.bound is False
    with model:
        idata = pm.sample(
            draws=20, tune=20, chains=1, step=step, progressbar=False,
            compute_convergence_checks=False, random_seed=1,
        )  # fmt: skip
    assert np.isfinite(idata.posterior["x"].values).all()
