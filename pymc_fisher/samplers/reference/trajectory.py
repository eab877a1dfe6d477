"""Fixed-length Riemannian HMC transition: integrate, check divergences, accept or reject.

The reference implementation (NumPy) on a :class:`~..core.types.RiemannianSystem`, given the
transition's random numbers (:func:`~..transitions.fixed.fixed_transition` draws them).

Numeric core: NumPy only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pymc_fisher.samplers.core.options import LANDING_TOLERANCE, MAX_HALVINGS, SolverOptions
from pymc_fisher.samplers.core.types import (
    DivergenceKind,
    IntegratorState,
    LeapfrogReport,
    PositionPoint,
    RiemannianSystem,
    TransitionInfo,
)
from pymc_fisher.samplers.metric.operations import condition_number
from pymc_fisher.samplers.reference.integrator import generalized_leapfrog, integrator_state

__all__ = [
    "Leapfrog",
    "integrate",
    "returns_to",
    "subdivided_leapfrog",
    "transition",
]


#: ``(system, state, signed step size, options) -> (state, report)``: one integrator step
#: (:func:`~.reference.integrator.generalized_leapfrog`, or the blockwise leapfrog of
#: :mod:`~.reference.blockwise`).
Leapfrog = Callable[
    [RiemannianSystem, IntegratorState, float, SolverOptions],
    tuple[IntegratorState, LeapfrogReport],
]


def _substeps(
    system: RiemannianSystem,
    state: IntegratorState,
    step_size: float,
    k: int,
    options: SolverOptions,
    leapfrog: Leapfrog = generalized_leapfrog,
) -> tuple[IntegratorState, LeapfrogReport]:
    """``k`` leapfrog steps of ``step_size / k``, stopping at the first failure.

    A substep whose energy jumps by more than ``max_energy_error`` (or is not finite) fails with
    kind ``"energy"``: an implicit solve that found a spurious far root, or a step too coarse
    for the local geometry.
    """
    total = LeapfrogReport("none", 0, 0, 0.0, 0)
    current = state
    for _ in range(k):
        new, report = leapfrog(system, current, step_size / k, options)
        total = _add(total, report)
        if report.divergence != "none":
            return state, total
        if not abs(new.energy - state.energy) <= options.max_energy_error:
            return state, total._replace(divergence="energy")
        current = new
    return current, total


def _retry(kind: DivergenceKind) -> bool:
    return kind in ("solver", "energy")


def subdivided_leapfrog(
    system: RiemannianSystem,
    state: IntegratorState,
    step_size: float,
    options: SolverOptions,
    leapfrog: Leapfrog = generalized_leapfrog,
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

    That the reverse with ``k`` substeps succeeds is assumed: it holds where the solves converge
    with a margin, but a solve capped at ``max_iterations`` can converge forward and not
    backward, or converge to another root. ``options.reverse_check`` checks both for every step
    (``k = 1`` included): the reverse must succeed and land where the step began, within
    :data:`~.core.options.LANDING_TOLERANCE` times the solves' tolerance, as the reverse
    projection check of constrained HMC does (Zappa, Holmes-Cerfon & Goodman 2018; Lelièvre,
    Rousset & Stoltz 2019): the step is then an involution wherever it is accepted,
    under any pattern of solver failures.

    Returns
    -------
    IntegratorState, LeapfrogReport
        As :func:`~.reference.integrator.generalized_leapfrog`, with the iterations and evaluations
        of every attempt (the failed ones and the reversibility check included).
    """
    new, report = _substeps(system, state, step_size, 1, options, leapfrog)
    k = 1
    spent = report
    while _retry(report.divergence) and k < 2**MAX_HALVINGS:
        k *= 2
        new, report = _substeps(system, state, step_size, k, options, leapfrog)
        spent = _add(spent, report)
    if report.divergence != "none" or (k == 1 and not options.reverse_check):
        return new, spent._replace(divergence=report.divergence)
    k_back = 1
    while k_back < k:
        _, back = _substeps(system, new, -step_size, k_back, options, leapfrog)
        spent = _add(spent, back)
        if not _retry(back.divergence):
            return state, spent._replace(divergence="reversal")
        k_back *= 2
    if options.reverse_check:  # the reverse with k substeps must succeed, and land at the start
        returned, back = _substeps(system, new, -step_size, k, options, leapfrog)
        spent = _add(spent, back)
        if back.divergence != "none" or not returns_to(returned, state, options.tol):
            return state, spent._replace(divergence="reversal")
    return new, spent._replace(divergence="none")


def returns_to(back: IntegratorState, start: IntegratorState, tol: float) -> bool:
    """Whether the reverse of a step ended where the step began (position and momentum).

    Examples
    --------
    >>> import numpy as np
    >>> from pymc_fisher.samplers.core.types import MetricFactor, PositionPoint
    >>> metric = MetricFactor(np.eye(2), np.eye(2), 0.0)
    >>> point = PositionPoint(np.zeros(2), 0.0, np.zeros(2), metric)
    >>> start = IntegratorState(point, np.ones(2), 1.0, np.zeros(2))
    >>> returns_to(start, start, 1e-8)
    True
    >>> returns_to(start._replace(momentum=np.array([1.0, -1.0])), start, 1e-8)
    False
    """
    bound = LANDING_TOLERANCE * tol
    for a, b in ((back.position.theta, start.position.theta), (back.momentum, start.momentum)):
        if not np.max(np.abs(a - b)) <= bound * (1.0 + np.max(np.abs(b))):
            return False
    return True


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
    options: SolverOptions,
    leapfrog: Leapfrog = generalized_leapfrog,
) -> tuple[IntegratorState, DivergenceKind, int, int, float, int]:
    """Take ``n_steps`` subdivided generalized-leapfrog steps, stopping at the first divergence.

    Returns
    -------
    tuple
        ``(last state, divergence kind, steps taken, fixed-point iterations, max residual,
        gradient evaluations)``.
    """
    h0 = state.energy
    iterations = 0
    residual = 0.0
    evals = 0
    for i in range(n_steps):
        new, report = subdivided_leapfrog(system, state, step_size, options, leapfrog)
        iterations += report.momentum_iterations + report.position_iterations
        residual = max(residual, report.residual)
        evals += report.gradient_evaluations
        if report.divergence != "none":
            return state, report.divergence, i + 1, iterations, residual, evals
        state = new
        error = state.energy - h0
        if not np.isfinite(error) or error > options.max_energy_error:
            return state, "energy", i + 1, iterations, residual, evals
    return state, "none", n_steps, iterations, residual, evals


def transition(
    system: RiemannianSystem,
    point: PositionPoint,
    z: np.ndarray,
    log_u: float,
    step_size: float,
    n_steps: int,
    options: SolverOptions,
    leapfrog: Leapfrog = generalized_leapfrog,
) -> tuple[PositionPoint, TransitionInfo]:
    """One Riemannian HMC transition with a fixed number of steps, given its random numbers.

    Parameters
    ----------
    system
        Model and metric.
    point
        Current position (evaluated).
    z
        Standard normal draw of the momentum, ``p = S z`` with ``S Sᵀ = G(θ)``.
    log_u
        Log of the uniform draw of the Metropolis test.
    step_size, n_steps
        Integration step size and number of steps.
    options
        The implicit solves and the divergence threshold.
    leapfrog
        The integrator (default: the generalized leapfrog).

    Returns
    -------
    PositionPoint, TransitionInfo
        The next position (the current one when rejected) and the statistics.

    Notes
    -----
    The proposal is accepted with probability ``min(1, exp(H₀ - H₁))``. A divergent trajectory
    (of any kind) is always rejected; a ``"reversal"`` of a subdivided step is a rejection, not
    a divergence.
    """
    p0 = point.metric.sqrt @ z
    start = integrator_state(system, point, p0)
    end, kind, steps, iterations, residual, evals = integrate(
        system, start, step_size, n_steps, options, leapfrog
    )
    evals += 1  # the reverse pass of integrator_state
    if kind != "none":
        error = float(end.energy - start.energy) if kind == "energy" else np.inf
        info = TransitionInfo(
            False, 0.0, error, start.energy, kind, steps, iterations, residual, evals,
            condition_number(point.metric),
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
