"""Generalized leapfrog: closed-form trajectory, O(ε²) energy error, time reversibility."""

from __future__ import annotations

import numpy as np
import pytest

from pymc_fisher.samplers.core.options import SolverOptions
from pymc_fisher.samplers.reference.integrator import (
    _newton_momentum,
    generalized_leapfrog,
    hamiltonian_gradient,
    integrator_state,
)
from pymc_fisher.samplers.reference.solvers import solve_fixed_point
from pymc_fisher.samplers.reference.trajectory import integrate, subdivided_leapfrog
from tests.samplers.systems import rank_one_system, sinh_exact, sinh_system

TIGHT = SolverOptions(tol=1e-13, max_iterations=100)
#: the reference integrator's options of old: solves to 1e-9
ACCURATE = SolverOptions(tol=1e-9, max_iterations=30)


def _run(system, q0, p0, eps, n):
    state = integrator_state(system, system.evaluate(q0), p0)
    end, kind, *_ = integrate(system, state, eps, n, TIGHT)
    assert kind == "none"
    return state, end


def test_closed_form_trajectory_second_order():
    system = sinh_system()
    q0, p0, t = np.array([0.7, -1.2]), np.array([0.4, 1.5]), 1.0
    q_exact, p_exact = sinh_exact(q0, p0, t)
    errors = []
    for n in (20, 40, 80):
        _, end = _run(system, q0, p0, t / n, n)
        errors.append(
            np.max(np.abs(end.position.theta - q_exact)) + np.max(np.abs(end.momentum - p_exact))
        )
    errors = np.array(errors)
    assert errors[0] < 0.05
    # Halving ε divides the global error by 4 for a second-order method.
    np.testing.assert_allclose(errors[:-1] / errors[1:], 4.0, rtol=0.1)


@pytest.mark.parametrize("make", [sinh_system, lambda: rank_one_system(np.diag([1.0, 4.0]))])
def test_energy_error_is_second_order(make):
    system = make()
    q0, p0 = np.array([0.5, -0.8]), np.array([1.0, 0.3])
    drift = []
    for n in (10, 20, 40):
        start, end = _run(system, q0, p0, 1.0 / n, n)
        drift.append(abs(end.energy - start.energy))
    ratios = np.array(drift[:-1]) / np.array(drift[1:])
    np.testing.assert_allclose(ratios, 4.0, rtol=0.25)


@pytest.mark.parametrize("make", [sinh_system, lambda: rank_one_system(np.diag([1.0, 4.0]))])
def test_time_reversibility(make):
    system = make()
    q0, p0 = np.array([0.3, 0.9]), np.array([-0.7, 0.6])
    _, end = _run(system, q0, p0, 0.1, 15)
    # Flip the momentum and integrate forward again: back to the start.
    flipped = integrator_state(system, end.position, -end.momentum)
    back, kind, *_ = integrate(system, flipped, 0.1, 15, TIGHT)
    assert kind == "none"
    np.testing.assert_allclose(back.position.theta, q0, atol=1e-10)
    np.testing.assert_allclose(-back.momentum, p0, atol=1e-10)
    # A negative step size integrates backward in time (what a tree builder calls).
    state = end
    for _ in range(15):
        state, report = generalized_leapfrog(system, state, -0.1, TIGHT)
        assert report.divergence == "none"
    np.testing.assert_allclose(state.position.theta, q0, atol=1e-10)
    np.testing.assert_allclose(state.momentum, p0, atol=1e-10)


def test_solver_reports_and_few_iterations():
    system = rank_one_system(np.diag([1.0, 4.0]))
    state = integrator_state(system, system.evaluate(np.array([0.5, -0.8])), np.array([1.0, 0.3]))
    _, report = generalized_leapfrog(system, state, 0.2, ACCURATE)
    assert report.divergence == "none"
    assert report.residual < 1e-8
    assert report.momentum_iterations <= 8
    assert report.position_iterations <= 8


def test_newton_momentum_solve_matches_fixed_point():
    system = rank_one_system(np.diag([1.0, 4.0]), scale=5.0)
    state = integrator_state(system, system.evaluate(np.array([0.6, -0.4])), np.array([2.0, 1.0]))
    eps, p0 = 0.5, state.momentum
    newton = _newton_momentum(
        system, state.position, p0, eps, p0, ACCURATE._replace(newton_iterations=10)
    )
    assert newton.converged
    assert newton.iterations <= 6

    def momentum_map(p):
        return p0 - 0.5 * eps * hamiltonian_gradient(system, state.position, p), None

    picard = solve_fixed_point(momentum_map, p0, tol=1e-13, max_iter=500)
    assert picard.converged
    np.testing.assert_allclose(newton.solution, picard.solution, atol=1e-8)


def test_non_converged_solve_is_a_solver_divergence():
    system = rank_one_system(np.diag([1.0, 4.0]), scale=5.0)
    state = integrator_state(system, system.evaluate(np.array([2.0, -3.0])), np.array([9.0, 7.0]))
    same, report = generalized_leapfrog(
        system,
        state,
        2.0,
        SolverOptions(tol=1e-9, max_iterations=3, anderson_memory=0, newton_iterations=0),
    )
    assert report.divergence == "solver"
    assert same is state


def _reverse_outcomes(options: SolverOptions, trials: int = 1000) -> dict[str, int]:
    """Subdivided steps of the sinh system from random states, each followed by its reverse.

    ``"broken"`` counts accepted steps whose reverse fails or lands elsewhere than the start:
    the steps that are not involutions.
    """
    system = sinh_system()
    rng = np.random.default_rng(3)
    counts = {"accepted": 0, "reversal": 0, "broken": 0}
    for _ in range(trials):
        q, p, eps = rng.normal(size=2), 2.0 * rng.normal(size=2), rng.uniform(0.02, 0.5)
        start = integrator_state(system, system.evaluate(q), p)
        new, report = subdivided_leapfrog(system, start, eps, options)
        if report.divergence == "reversal":
            counts["reversal"] += 1
        if report.divergence != "none":
            continue
        counts["accepted"] += 1
        back, back_report = subdivided_leapfrog(system, new, -eps, options)
        scale = options.tol * 100 * (1 + np.abs(q).max())  # a few solves' tolerance
        if back_report.divergence != "none" or np.abs(back.position.theta - q).max() > scale:
            counts["broken"] += 1
    return counts


def test_reverse_check_makes_every_accepted_step_an_involution():
    # three evaluations per solve: solves fail often, and some converge one way only
    capped = SolverOptions(max_iterations=3, newton_iterations=0)
    unchecked = _reverse_outcomes(capped)
    checked = _reverse_outcomes(capped._replace(reverse_check=True))
    assert unchecked["broken"] > 0  # the hole the check closes
    assert checked["broken"] == 0
    assert checked["accepted"] > 0.4 * unchecked["accepted"]
    assert checked["reversal"] > unchecked["reversal"]


def test_reverse_check_rejects_a_reverse_that_lands_elsewhere(monkeypatch):
    # a reverse step that converges to another root: the check compares where it lands
    from pymc_fisher.samplers.reference import trajectory

    system = sinh_system()
    start = integrator_state(system, system.evaluate(np.array([0.3, -0.2])), np.array([1.0, 0.5]))
    real = trajectory._substeps

    def elsewhere(system, state, step_size, k, options, *leapfrog):
        new, report = real(system, state, step_size, k, options, *leapfrog)
        if step_size < 0:  # the reverse: land 1e-3 off, as at a spurious root
            moved = new.position._replace(theta=new.position.theta + 1e-3)
            new = new._replace(position=moved)
        return new, report

    options = SolverOptions(tol=1e-10, max_iterations=50, reverse_check=True)
    _new, report = subdivided_leapfrog(system, start, 0.1, options)
    assert report.divergence == "none"  # the true reverse lands at the start
    monkeypatch.setattr(trajectory, "_substeps", elsewhere)
    same, report = subdivided_leapfrog(system, start, 0.1, options)
    assert report.divergence == "reversal"
    assert same is start


def test_compiled_landing_check_is_the_reference_s():
    from pymc_fisher.samplers.compiled.integrator import _returns_to
    from pymc_fisher.samplers.reference.trajectory import returns_to

    system = sinh_system()
    start = integrator_state(system, system.evaluate(np.array([0.3, -0.2])), np.array([1.0, 0.5]))
    for shift in (0.0, 1e-9, 5e-8, 1e-6, 1e-2):
        for which in ("theta", "momentum"):
            if which == "theta":
                moved = start._replace(position=start.position._replace(
                    theta=start.position.theta + shift))  # fmt: skip
            else:
                moved = start._replace(momentum=start.momentum - shift)
            expected = returns_to(moved, start, 1e-9)
            assert _returns_to(moved, start, 1e-9) == expected
            assert expected == (shift <= 1e-7 * (1 + 1.0))
