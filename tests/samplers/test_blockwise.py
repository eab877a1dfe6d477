"""The explicit blockwise integrator and the semi-separable structure it runs on.

Exact checks first (reversibility, volume, the order of the energy error, the structure read
from the graph against the metric the sampler evaluates); the slow tier checks the chains
against the exact posteriors with MCSE-derived tolerances (``test_rmhmc_statistical._check``).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest

import pymc_fisher as pmf
from pymc_fisher.errors import NotSemiSeparableError
from pymc_fisher.fisher.dependencies import information_dependencies
from pymc_fisher.fisher.structure import semi_separable_structure
from pymc_fisher.samplers.core.options import SolverOptions
from pymc_fisher.samplers.core.types import BlockSplit
from pymc_fisher.samplers.drivers.model import compile_model
from pymc_fisher.samplers.drivers.step import RMHMC
from pymc_fisher.samplers.reference.blockwise import blockwise_kernel, blockwise_leapfrog
from pymc_fisher.samplers.reference.integrator import integrator_state
from pymc_fisher.samplers.transitions.nuts import nuts_transition
from tests.samplers import models
from tests.samplers.systems import make_system

OPTIONS = SolverOptions()


def funnel_system(n: int = 4, coupling: float = 0.0):
    """Neal's funnel θ = (v, x) with its Fisher metric diag(1/9 + n/2 + c|x|², e^{−v} I).

    ``coupling = c > 0`` makes ``G_BB`` depend on ``θ_A`` (still semi-separable), so the
    A-kicks need their metric-derivative pass.
    """

    def logp_grad(q):
        v, x = q[0], q[1:]
        logp = -(v**2) / 18 - 0.5 * np.exp(-v) * x @ x - 0.5 * n * v
        grad = np.concatenate([[-v / 9 + 0.5 * np.exp(-v) * x @ x - 0.5 * n], -np.exp(-v) * x])
        return float(logp), grad

    def matrix(q):
        return np.diag(np.concatenate([[1 / 9 + n / 2 + coupling * q[1:] @ q[1:]],
                                       np.full(n, np.exp(-q[0]))]))  # fmt: skip

    def contract(q, w):
        out = np.zeros_like(q)
        out[0] = -np.exp(-q[0]) * np.trace(w[1:, 1:])
        out[1:] = 2.0 * coupling * w[0, 0] * q[1:]
        return out

    split = BlockSplit(np.arange(1, n + 1), np.array([0]), coupling != 0.0)
    return make_system(logp_grad, matrix, contract), split


def _start(system, rng, d):
    theta = rng.normal(size=d)
    point = system.evaluate(theta)
    return integrator_state(system, point, point.metric.sqrt @ rng.normal(size=d))


def _flat(state):
    return np.concatenate([state.position.theta, state.momentum])


@pytest.mark.parametrize("coupling", [0.0, 0.3])
def test_one_step_is_reversible(coupling):
    system, split = funnel_system(coupling=coupling)
    rng = np.random.default_rng(0)
    for _ in range(5):
        start = _start(system, rng, 5)
        end, report = blockwise_leapfrog(system, split, start, 0.3, OPTIONS)
        assert report.divergence == "none"
        back, _ = blockwise_leapfrog(system, split, end, -0.3, OPTIONS)
        assert np.max(np.abs(_flat(back) - _flat(start))) <= 1e-12
        assert np.max(np.abs(_flat(end) - _flat(start))) > 1e-2  # it did move


@pytest.mark.parametrize("coupling", [0.0, 0.3])
def test_one_step_preserves_volume(coupling):
    system, split = funnel_system(coupling=coupling)
    rng = np.random.default_rng(1)
    start = _start(system, rng, 5)
    z0 = _flat(start)

    def step(z):
        point = system.evaluate(z[:5])
        end, _ = blockwise_leapfrog(system, split, integrator_state(system, point, z[5:]), 0.3,
                                    OPTIONS)  # fmt: skip
        return _flat(end)

    delta = 1e-5
    jac = np.empty((10, 10))
    for k in range(10):
        e = np.zeros(10)
        e[k] = delta
        jac[:, k] = (step(z0 + e) - step(z0 - e)) / (2 * delta)
    _, logdet = np.linalg.slogdet(jac)
    assert abs(logdet) <= 1e-8
    # not symplectic (nothing asserts it): the map is not the identity either
    assert np.max(np.abs(jac - np.eye(10))) > 1e-2


def test_energy_error_is_second_order():
    system, split = funnel_system()
    start = _start(system, np.random.default_rng(2), 5)
    errors = []
    for h in (0.1, 0.05, 0.025):
        state = start
        for _ in range(round(1.0 / h)):
            state, report = blockwise_leapfrog(system, split, state, h, OPTIONS)
            assert report.divergence == "none"
        errors.append(abs(state.energy - start.energy))
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all((ratios > 3.0) & (ratios < 5.5)), (errors, ratios)


def test_the_first_kick_reuses_the_last_and_counts_its_calls():
    system, split = funnel_system()
    start = _start(system, np.random.default_rng(3), 5)
    end, report = blockwise_leapfrog(system, split, start, 0.2, OPTIONS)
    # three positions evaluated, three metric-derivative passes (G_BB constant)
    assert report.gradient_evaluations == 6
    fresh = integrator_state(system, end.position, end.momentum)
    np.testing.assert_allclose(end.dH_dtheta, fresh.dH_dtheta, rtol=1e-14, atol=1e-14)
    assert end.energy == pytest.approx(fresh.energy, abs=1e-14)
    coupled, split_c = funnel_system(coupling=0.3)
    _, report = blockwise_leapfrog(coupled, split_c, _start(coupled, np.random.default_rng(3), 5),
                                   0.2, OPTIONS)  # fmt: skip
    assert report.gradient_evaluations == 9  # + the two A-kicks' and the end state's ∇_A H


def test_a_position_that_cannot_be_evaluated_is_a_divergence():
    system, split = funnel_system()
    start = _start(system, np.random.default_rng(4), 5)
    end, report = blockwise_leapfrog(system, split, start, 1e6, OPTIONS)
    assert report.divergence in ("energy", "metric")
    assert end is start


def test_kernel_runs_a_no_u_turn_transition():
    system, split = funnel_system()
    kernel = blockwise_kernel(system, split)
    point = system.evaluate(np.zeros(5))
    new, info = nuts_transition(kernel, point, 0.3, np.random.default_rng(5), 8, OPTIONS)
    assert info.divergence == "none"
    assert info.n_steps >= 1
    assert info.fixed_point_iterations == 0
    assert not np.array_equal(new.theta, point.theta)


def test_kernel_rejects_an_overlapping_split():
    system, _ = funnel_system()
    with pytest.raises(ValueError, match="overlap"):
        blockwise_kernel(system, BlockSplit(np.arange(0, 5), np.array([0])))


# -- the structure on the graph ----------------------------------------------------------------


def test_funnel_structure():
    s = semi_separable_structure(models.funnel(10))
    assert (s.latent, s.hyper) == (("x",), ("v",))
    assert s.latent_depends_on == ("v",)
    assert s.hyper_depends_on == ()
    assert (s.latent_sparsity, s.hyper_sparsity) == ("diagonal", "diagonal")
    np.testing.assert_array_equal(s.latent_index, np.arange(1, 10))
    np.testing.assert_array_equal(s.hyper_index, [0])


def test_eight_schools_centered_structure():
    model = models.eight_schools_centered()
    s = semi_separable_structure(model)
    assert (s.latent, s.hyper) == (("mu", "theta"), ("tau_log__",))
    assert s.latent_depends_on == ("tau_log__",)
    assert s.hyper_depends_on == ()
    # arrowhead: mu's row and column are full
    assert s.latent_sparsity == "dense"
    assert s.latent_bandwidth == 8
    pattern = information_dependencies(model)
    names = pattern.names
    i, j = names.index("mu"), names.index("tau_log__")
    assert not pattern.nonzero[i][j]
    assert not pattern.nonzero[j][i]
    # τ's own block is constant: 2J from the eight schools plus the HalfCauchy's location term,
    # although each factor's term depends on τ (the values show it, the graph does not)
    assert pattern.depends_on[j][j] == frozenset()


@pytest.mark.parametrize(
    "model", [models.quickstart_logistic(), models.eight_schools_noncentered()],
    ids=["logistic", "noncentered"],
)  # fmt: skip
def test_no_structure(model):
    # logistic: G_ββ = Xᵀ W(β) X depends on β itself; non-centered: G couples μ, τ and θ̃
    assert semi_separable_structure(model) is None


def test_structure_blocks_are_the_sampler_s_metric():
    model = models.eight_schools_centered()
    pattern = information_dependencies(model)
    point = model.initial_point()
    vars = [model.rvs_to_values[rv] for rv in model.free_RVs]
    compiled = compile_model(model, vars, point, "fisher")
    rng = np.random.default_rng(6)
    theta = rng.normal(size=compiled.size)
    matrix = compiled.evaluate(theta)[2]
    import pytensor

    sizes = [int(pattern.pieces[n].type.shape[0]) for n in pattern.names]
    offsets = np.cumsum([0, *sizes])
    inputs = [pattern.pieces[n] for n in pattern.names]
    args = [theta[offsets[k] : offsets[k + 1]] for k in range(len(sizes))]
    checked = 0
    for a, b in np.ndindex(len(sizes), len(sizes)):
        block = matrix[offsets[a] : offsets[a + 1], offsets[b] : offsets[b + 1]]
        if not pattern.nonzero[a][b]:
            assert np.all(block == 0.0)
            continue
        fn = pytensor.function(inputs, pattern.blocks[a][b], on_unused_input="ignore")
        np.testing.assert_allclose(fn(*args), block, rtol=1e-12, atol=1e-14)
        checked += 1
    assert checked == 5


# -- the step method -----------------------------------------------------------------------------


def test_step_picks_the_integrator():
    with models.funnel(6):
        assert RMHMC(integrator="auto").integrator == "blockwise"
        assert RMHMC().integrator == "implicit"
        assert RMHMC(integrator="auto", metric="softabs").integrator == "implicit"
    with models.quickstart_logistic():
        assert RMHMC(integrator="auto").integrator == "implicit"


def test_step_refuses_what_it_cannot_run():
    with models.quickstart_logistic(), pytest.raises(NotSemiSeparableError, match="beta"):
        RMHMC(integrator="blockwise")
    with models.funnel(4):
        with pytest.raises(NotSemiSeparableError, match="softabs"):
            RMHMC(integrator="blockwise", metric="softabs")
        with pytest.raises(ValueError, match="integrator="):
            RMHMC(integrator="explicit")


def test_blockwise_kernel_on_a_model_is_reversible_and_counts_no_solves():
    with models.eight_schools_centered():
        step = RMHMC(integrator="blockwise")
    kernel = step.kernel
    rng = np.random.default_rng(7)
    point = kernel.evaluate(step._start_theta + rng.uniform(-1, 1, step._start_theta.size))
    start = kernel.start(point, point.metric.sqrt @ rng.normal(size=point.theta.size))
    state = start
    for _ in range(10):
        state, report = kernel.leapfrog(state, 0.2, OPTIONS)
        assert report.divergence == "none"
        assert report.momentum_iterations == 0
    for _ in range(10):
        state, _ = kernel.leapfrog(state, -0.2, OPTIONS)
    assert np.max(np.abs(_flat(state) - _flat(start))) <= 1e-12


# -- exactness (slow) ----------------------------------------------------------------------------


def _sample(model, **options):
    return pmf.sample(
        500, tune=500, chains=2, cores=2, model=model, random_seed=11, progressbar=False,
        compute_convergence_checks=False, method="rmhmc", integrator="blockwise", **options,
    )  # fmt: skip


@pytest.mark.slow
def test_funnel_is_exact():
    from tests.samplers.test_rmhmc_statistical import _check

    idata = _sample(models.funnel(10))
    _check(idata, [("v", None, "mean", 0.0), ("v", None, "sd", 3.0)])
    assert float(idata.sample_stats["diverging"].mean()) <= 0.01


@pytest.mark.slow
def test_eight_schools_centered_is_exact():
    from tests.samplers.test_rmhmc_statistical import _check

    ref = models.eight_schools_reference()
    idata = pmf.sample(
        1000, tune=1000, chains=4, cores=2, model=models.eight_schools_centered(),
        random_seed=11, progressbar=False, compute_convergence_checks=False, method="rmhmc",
        integrator="blockwise",
    )  # fmt: skip
    checks = [(v, None, k, ref[f"{v}_{k}"]) for v in ("mu", "tau") for k in ("mean", "sd")]
    _check(idata, checks)


def test_pm_sample_accepts_the_option():
    with models.funnel(4):
        idata = pm.sample(
            draws=20, tune=20, chains=1, step=RMHMC(integrator="blockwise"), random_seed=1,
            progressbar=False, compute_convergence_checks=False,
        )  # fmt: skip
    stats = idata.sample_stats
    assert int(stats["fixed_point_iterations"].sum()) == 0
    assert int(stats["gradient_evaluations"].sum()) > 0
