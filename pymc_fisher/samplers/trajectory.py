"""Fixed-length Riemannian HMC transition: integrate, check divergences, accept or reject.

Numeric core: NumPy only.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pymc_fisher.samplers.integrator import (
    DEFAULT_SOLVER,
    DivergenceKind,
    IntegratorState,
    LeapfrogReport,
    PositionPoint,
    RiemannianSystem,
    SolverOptions,
    generalized_leapfrog,
    integrator_state,
)
from pymc_fisher.samplers.metrics import condition_number

__all__ = [
    "MAX_ENERGY_ERROR",
    "MAX_HALVINGS",
    "TransitionInfo",
    "fixed_transition",
    "integrate",
    "subdivided_leapfrog",
]


class TransitionInfo(NamedTuple):
    """Statistics of one transition.

    Attributes
    ----------
    accepted
        Whether the proposal was accepted.
    acceptance_rate
        ``min(1, exp(H₀ - H₁))``; 0 for a divergent trajectory.
    energy_error
        ``H₁ - H₀`` of the proposal (``inf`` when divergent before the end).
    energy
        ``H`` of the returned state.
    divergence
        Kind of divergence (``"none"`` when none).
    n_steps
        Leapfrog steps taken (fewer than asked when the trajectory diverged).
    fixed_point_iterations
        Total evaluations of both implicit solves over the trajectory.
    fixed_point_residual
        Largest final solver residual over the trajectory.
    gradient_evaluations
        Compiled-function calls (position evaluations + metric-derivative reverse passes).
    condition_number
        Spectral condition number of the metric at the returned position.
    """

    accepted: bool
    acceptance_rate: float
    energy_error: float
    energy: float
    divergence: DivergenceKind
    n_steps: int
    fixed_point_iterations: int
    fixed_point_residual: float
    gradient_evaluations: int
    condition_number: float


#: A leapfrog step whose implicit solve fails is retried as 2, 4, ..., 2^MAX_HALVINGS substeps.
MAX_HALVINGS = 3

#: Energy error beyond which a trajectory diverges (PyMC's ``Emax``).
MAX_ENERGY_ERROR = 1000.0


def _substeps(
    system: RiemannianSystem,
    state: IntegratorState,
    step_size: float,
    k: int,
    options: SolverOptions,
    max_energy_error: float,
) -> tuple[IntegratorState, LeapfrogReport]:
    """``k`` leapfrog steps of ``step_size / k``, stopping at the first failure.

    A substep whose energy jumps by more than ``max_energy_error`` (or is not finite) fails with
    kind ``"energy"``: an implicit solve that found a spurious far root, or a step too coarse
    for the local geometry.
    """
    total = LeapfrogReport("none", 0, 0, 0.0, 0)
    current = state
    for _ in range(k):
        new, report = generalized_leapfrog(system, current, step_size / k, options)
        total = _add(total, report)
        if report.divergence != "none":
            return state, total
        if not abs(new.energy - state.energy) <= max_energy_error:
            return state, total._replace(divergence="energy")
        current = new
    return current, total


def _retry(kind: DivergenceKind) -> bool:
    return kind in ("solver", "energy")


def subdivided_leapfrog(
    system: RiemannianSystem,
    state: IntegratorState,
    step_size: float,
    options: SolverOptions = DEFAULT_SOLVER,
    max_energy_error: float = MAX_ENERGY_ERROR,
) -> tuple[IntegratorState, LeapfrogReport]:
    """A leapfrog step that survives a failed implicit solve by halving, reversibly.

    The step from ``z`` takes ``k(z)`` substeps of ``ε/k``: the smallest ``k`` in
    ``1, 2, 4, ..., 2^MAX_HALVINGS`` whose substeps end without a failed solve or an energy
    jump above ``max_energy_error`` (a ``"metric"`` failure is final). The map
    ``z ↦ Φ_{k(z)}(z)`` is reversible only where the reverse step from the end point picks the
    same ``k``; so when ``k > 1`` the smaller ``k'`` are tried backward from the end, and if one
    of them succeeds the step returns ``"reversal"``: the transition is rejected, which keeps
    detailed balance (the reversibility check of WALNUTS, Bou-Rabee, Carpenter, Kleppe & Liu
    2025, for step sizes chosen within an orbit). Each substep is a generalized leapfrog step,
    so volume is preserved.

    Returns
    -------
    IntegratorState, LeapfrogReport
        As :func:`~.integrator.generalized_leapfrog`, with the iterations and evaluations of every
        attempt (the failed ones and the reversibility check included).
    """
    new, report = _substeps(system, state, step_size, 1, options, max_energy_error)
    k = 1
    spent = report
    while _retry(report.divergence) and k < 2**MAX_HALVINGS:
        k *= 2
        new, report = _substeps(system, state, step_size, k, options, max_energy_error)
        spent = _add(spent, report)
    if report.divergence != "none" or k == 1:
        return new, spent._replace(divergence=report.divergence)
    k_back = 1
    while k_back < k:
        _, back = _substeps(system, new, -step_size, k_back, options, max_energy_error)
        spent = _add(spent, back)
        if not _retry(back.divergence):
            return state, spent._replace(divergence="reversal")
        k_back *= 2
    return new, spent._replace(divergence="none")


def _add(a: LeapfrogReport, b: LeapfrogReport) -> LeapfrogReport:
    return LeapfrogReport(
        b.divergence,
        a.momentum_iterations + b.momentum_iterations,
        a.position_iterations + b.position_iterations,
        max(a.residual, b.residual),
        a.gradient_evaluations + b.gradient_evaluations,
    )


def integrate(
    system: RiemannianSystem,
    state: IntegratorState,
    step_size: float,
    n_steps: int,
    *,
    max_energy_error: float = MAX_ENERGY_ERROR,
    options: SolverOptions = DEFAULT_SOLVER,
) -> tuple[IntegratorState, DivergenceKind, int, int, float, int]:
    """Take ``n_steps`` generalized-leapfrog steps, stopping at the first divergence.

    Returns
    -------
    tuple
        ``(last state, divergence kind, steps taken, fixed-point iterations, max residual,
        gradient evaluations)``.
    """
    if system.integrate is not None:
        return system.integrate(state, step_size, n_steps, max_energy_error, options)
    h0 = state.energy
    iterations = 0
    residual = 0.0
    evals = 0
    for i in range(n_steps):
        new, report = subdivided_leapfrog(system, state, step_size, options, max_energy_error)
        iterations += report.momentum_iterations + report.position_iterations
        residual = max(residual, report.residual)
        evals += report.gradient_evaluations
        if report.divergence != "none":
            return state, report.divergence, i + 1, iterations, residual, evals
        state = new
        error = state.energy - h0
        if not np.isfinite(error) or error > max_energy_error:
            return state, "energy", i + 1, iterations, residual, evals
    return state, "none", n_steps, iterations, residual, evals


def fixed_transition(
    system: RiemannianSystem,
    point: PositionPoint,
    step_size: float,
    n_steps: int,
    rng: np.random.Generator,
    *,
    max_energy_error: float = MAX_ENERGY_ERROR,
    options: SolverOptions = DEFAULT_SOLVER,
) -> tuple[PositionPoint, TransitionInfo]:
    """One Riemannian HMC transition with a fixed number of steps.

    Parameters
    ----------
    system
        Model and metric.
    point
        Current position (evaluated).
    step_size, n_steps
        Integration step size and number of steps.
    rng
        Random generator (momentum draw and the Metropolis test).
    max_energy_error
        A trajectory whose energy rises by more than this diverges (``"energy"``).
    options
        Implicit-solver tolerances.

    Returns
    -------
    PositionPoint, TransitionInfo
        The next position (the current one when rejected) and the statistics.

    Notes
    -----
    The momentum is drawn from ``N(0, G(θ))`` as ``S z``; the proposal is accepted with
    probability ``min(1, exp(H₀ - H₁))``. A divergent trajectory (of any kind) is always
    rejected. Both random draws come first, so the compiled transition (``system.transition``)
    and this reference consume the generator alike.
    """
    z = rng.standard_normal(point.theta.size)
    log_u = float(np.log(rng.uniform()))
    if system.transition is not None:
        return system.transition(
            point, z, log_u, float(step_size), int(n_steps), float(max_energy_error), options
        )
    p0 = point.metric.sqrt @ z
    start = integrator_state(system, point, p0)
    end, kind, steps, iterations, residual, evals = integrate(
        system,
        start,
        step_size,
        n_steps,
        max_energy_error=max_energy_error,
        options=options,
    )
    evals += 1  # the reverse pass of integrator_state
    if kind == "reversal":  # a rejection that keeps detailed balance, not a divergence
        info = TransitionInfo(
            False, 0.0, np.inf, start.energy, "none", steps, iterations, residual, evals,
            condition_number(point.metric),
        )  # fmt: skip
        return point, info
    if kind != "none":
        info = TransitionInfo(
            False, 0.0, float(end.energy - start.energy) if kind == "energy" else np.inf,
            start.energy, kind, steps, iterations, residual, evals, condition_number(point.metric),
        )  # fmt: skip
        return point, info
    error = float(end.energy - start.energy)
    accept_rate = float(np.exp(min(0.0, -error)))
    accepted = bool(log_u < -error)
    chosen = end if accepted else start
    info = TransitionInfo(
        accepted, accept_rate, error, chosen.energy, "none", steps, iterations, residual, evals,
        condition_number(chosen.position.metric),
    )  # fmt: skip
    return chosen.position, info
