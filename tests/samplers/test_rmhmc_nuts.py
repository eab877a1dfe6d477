"""Riemannian No-U-Turn tree builder: reversibility, criterion, divergences, step method."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest

from pymc_fisher.samplers.core.options import SolverOptions
from pymc_fisher.samplers.drivers.step import RMHMC
from pymc_fisher.samplers.metric.operations import draw_momentum
from pymc_fisher.samplers.reference.integrator import generalized_leapfrog, integrator_state
from pymc_fisher.samplers.reference.kernel import reference_kernel
from pymc_fisher.samplers.transitions.nuts import build_trajectory, no_u_turn, nuts_transition
from tests.samplers import models
from tests.samplers.systems import make_system, rank_one_system, sinh_system

ACCURATE = SolverOptions(tol=1e-9, max_iterations=30)
SOLVER_TOL = 1e-6  # solver tolerance 1e-9 per step, accumulated over at most 2^5 steps


def _start(system, theta, seed):
    point = system.evaluate(np.asarray(theta, dtype=float))
    p = draw_momentum(point.metric, np.random.default_rng(seed))
    return integrator_state(system, point, p)


def _directions(index: int, depth: int) -> list[int]:
    """Directions that build the aligned tree of 2^depth states around position ``index``."""
    return [1 if (index >> j) & 1 == 0 else -1 for j in range(depth)]


@pytest.mark.parametrize("system_name", ["sinh", "rank_one"])
def test_forward_then_backward_returns_to_start(system_name):
    system = sinh_system() if system_name == "sinh" else rank_one_system(np.diag([1.0, 4.0]))
    state = _start(system, [0.3, -0.7], 1)
    z = state
    for eps in [0.2] * 16 + [-0.2] * 16:
        z, report = generalized_leapfrog(system, z, eps, ACCURATE)
        assert report.divergence == "none"
    np.testing.assert_allclose(z.position.theta, state.position.theta, atol=SOLVER_TOL)
    np.testing.assert_allclose(z.momentum, state.momentum, atol=SOLVER_TOL)


@pytest.mark.parametrize("seed", [3, 4])
def test_tree_is_the_same_from_each_of_its_states(seed):
    """NUTS's reversibility: rebuilt from any of its states with the matching direction
    sequence, the tree has the same states (so the multinomial draw is a valid kernel)."""
    system = rank_one_system(np.diag([1.0, 3.0, 0.5]), scale=0.3)
    start = _start(system, [0.5, -0.2, 1.0], seed)
    max_depth = 5
    directions = [1, -1, -1, 1, -1]
    rng = np.random.default_rng(0)
    _, info, states = build_trajectory(
        reference_kernel(system), start, 0.15, rng, max_treedepth=max_depth,
        options=ACCURATE, directions=directions, record=True,
    )  # fmt: skip
    depth = info.tree_depth
    assert depth >= 2
    assert len(states) == 2**depth
    thetas = np.array([s.position.theta for s in states])
    for k, z in enumerate(states):
        _, info_k, states_k = build_trajectory(
            reference_kernel(system), z, 0.15, rng, max_treedepth=max_depth, options=ACCURATE,
            directions=_directions(k, depth) + directions[depth:], record=True,
        )  # fmt: skip
        assert info_k.tree_depth == depth
        np.testing.assert_allclose(
            np.array([s.position.theta for s in states_k]), thetas, atol=SOLVER_TOL
        )


def test_selected_state_is_symmetric_in_time():
    """On a 1-d Gaussian with a unit metric, the drawn state's signed offset from the start
    (in steps) has a symmetric distribution: P(offset = k) = P(offset = -k) within 4 sd."""
    system = rank_one_system(np.eye(1), scale=0.0)
    point = system.evaluate(np.array([0.4]))
    rng = np.random.default_rng(7)
    offsets = []
    for _ in range(400):
        p = draw_momentum(point.metric, rng)
        start = integrator_state(system, point, p)
        sample, _, states = build_trajectory(
            reference_kernel(system), start, 0.3, rng, options=ACCURATE, record=True
        )
        i0 = next(i for i, s in enumerate(states) if s is start)
        offsets.append(next(i for i, s in enumerate(states) if s is sample) - i0)
    offsets = np.array(offsets)
    pos, neg = np.sum(offsets > 0), np.sum(offsets < 0)
    assert abs(pos - neg) <= 4.0 * np.sqrt(pos + neg)


def test_criterion_and_tree_stops_at_u_turn():
    assert no_u_turn(np.array([1.0, 0.0]), np.array([1.0, 1.0]), np.array([1.0, 0.0]))
    assert not no_u_turn(np.array([1.0, 0.0]), np.array([-1.0, 1.0]), np.array([1.0, 0.0]))
    # Harmonic oscillator, unit metric: a U-turn after half a period (π), so with ε = 0.1 the
    # tree stops after about 2^5 steps and well before the maximum depth.
    system = rank_one_system(np.eye(2), scale=0.0)
    start = _start(system, [1.0, 0.0], 0)
    _, info, _ = build_trajectory(
        reference_kernel(system), start, 0.1, np.random.default_rng(0), options=ACCURATE
    )
    assert 3 <= info.tree_depth <= 7
    assert not info.reached_max_treedepth
    assert info.divergence == "none"
    assert info.n_steps >= 2**info.tree_depth - 1


def test_max_treedepth():
    system = rank_one_system(np.eye(2), scale=0.0)
    start = _start(system, [1.0, 0.0], 0)
    _, info, _ = build_trajectory(
        reference_kernel(system), start, 0.01, np.random.default_rng(0), max_treedepth=3,
        options=ACCURATE,
    )  # fmt: skip
    assert info.tree_depth == 3
    assert info.reached_max_treedepth
    assert info.n_steps == 7


def _cliff_system(kind):
    """Gaussian whose log density or metric breaks for θ₀ > 1.5."""

    def logp_grad(q):
        if kind == "energy" and q[0] > 1.5:
            return -np.inf, np.zeros_like(q)
        return float(-0.5 * q @ q), -q

    def matrix(q):
        return -np.eye(q.size) if kind == "metric" and q[0] > 1.5 else np.eye(q.size)

    return make_system(logp_grad, matrix, lambda q, w: np.zeros_like(q))


@pytest.mark.parametrize("kind", ["energy", "metric"])
def test_divergence_inside_tree_stops_it(kind):
    system = _cliff_system(kind)
    point = system.evaluate(np.array([1.0, 0.0]))
    start = integrator_state(system, point, np.array([3.0, 0.0]))
    sample, info, _ = build_trajectory(
        reference_kernel(system), start, 0.2, np.random.default_rng(0), options=ACCURATE,
        directions=[1] * 10,
    )  # fmt: skip
    assert info.divergence == kind
    assert sample.position.theta[0] <= 1.5  # a divergent state is never proposed


def test_solver_divergence_inside_tree():
    system = sinh_system()
    point = system.evaluate(np.array([2.0, 0.0]))
    start = integrator_state(system, point, np.array([40.0, 0.0]))

    _, info, _ = build_trajectory(
        reference_kernel(system), start, 0.5, np.random.default_rng(0),
        options=SolverOptions(tol=1e-9, max_iterations=2, newton_iterations=0),
    )  # fmt: skip
    assert info.divergence == "solver"


def test_transition_counts_gradients():
    system = rank_one_system(np.eye(2), scale=0.2)
    point = system.evaluate(np.array([0.5, 0.5]))
    new, info = nuts_transition(
        reference_kernel(system), point, 0.3, np.random.default_rng(1), 10, ACCURATE
    )
    assert info.gradient_evaluations > info.n_steps
    assert 0.0 <= info.acceptance_rate <= 1.0
    assert np.all(np.isfinite(new.theta))


def test_step_method_nuts_stats():
    with models.funnel(3):
        step = RMHMC(metric="fisher", trajectory="nuts", max_treedepth=6)
        idata = pm.sample(
            draws=30, tune=30, chains=1, step=step, random_seed=3, progressbar=False,
            compute_convergence_checks=False,
        )  # fmt: skip
    ss = idata.sample_stats
    for name in ("tree_depth", "n_steps", "reached_max_treedepth", "acceptance_rate"):
        assert name in ss
    assert int(ss["tree_depth"].max()) <= 6
    assert np.all(ss["n_steps"].values >= 2 ** ss["tree_depth"].values - 1)
