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
    PositionPoint,
    RiemannianSystem,
    SolverOptions,
    generalized_leapfrog,
    integrator_state,
)
from pymc_fisher.samplers.metrics import condition_number

__all__ = ["TransitionInfo", "fixed_transition", "integrate"]


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


def integrate(
    system: RiemannianSystem,
    state: IntegratorState,
    step_size: float,
    n_steps: int,
    *,
    max_energy_error: float = 1000.0,
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
        new, report = generalized_leapfrog(system, state, step_size, options)
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
    max_energy_error: float = 1000.0,
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
