"""Generalized leapfrog for the non-separable Riemannian Hamiltonian.

``H(θ, p) = -log p(θ) + ½ log det G(θ) + ½ pᵀG(θ)⁻¹p`` (Girolami & Calderhead 2011). One call of
:func:`generalized_leapfrog` advances a state by a signed step size, so a trajectory builder
(fixed length, or the No-U-Turn tree) extends in either time direction and gets back the new
state, its energy and the solvers' report. The integrator knows the model only through a
:class:`RiemannianSystem` and the metric only through its :class:`MetricFactor`.

Numeric core: NumPy only.
"""

from __future__ import annotations

import numpy as np

from pymc_fisher.samplers.core.options import SolverOptions
from pymc_fisher.samplers.core.types import (
    DivergenceKind,
    IntegratorState,
    LeapfrogReport,
    PositionPoint,
    RiemannianSystem,
)
from pymc_fisher.samplers.metric.operations import (
    contraction_weights,
    kinetic_energy,
    pull_back,
    velocity,
)
from pymc_fisher.samplers.reference.solvers import FixedPointResult, solve_fixed_point

__all__ = [
    "generalized_leapfrog",
    "hamiltonian_gradient",
    "integrator_state",
]


def hamiltonian_gradient(
    system: RiemannianSystem, point: PositionPoint, p: np.ndarray
) -> np.ndarray:
    """``∇_θ H(θ, p) = -∇log p + ∇_θ[½ log det G + ½ pᵀG⁻¹p]`` by one reverse pass."""
    return -point.grad_logp + system.contract(point.theta, contraction_weights(point.metric, p))


def integrator_state(
    system: RiemannianSystem, point: PositionPoint, p: np.ndarray
) -> IntegratorState:
    """Phase-space state at ``(θ, p)``: its energy and ``∇_θ H`` (one reverse pass)."""
    energy = -point.logp + kinetic_energy(point.metric, p)
    return IntegratorState(point, p, energy, hamiltonian_gradient(system, point, p))


def momentum_guess(state: IntegratorState, eps: float, options: SolverOptions) -> np.ndarray:
    """The momentum solve's first iterate.

    ``p - ε/2 ∇_θH`` with the previous half step's ``∇_θH`` (free, and within O(ε²) of the
    root), or, under ``options.reverse_check``, ``p + ε/2 ∇log p(θ)``: a function of ``(θ, p)``
    alone, so that the step and its reverse are functions of the state, whatever the
    trajectory came from.
    """
    if options.reverse_check:
        return state.momentum + 0.5 * eps * state.position.grad_logp
    return state.momentum - 0.5 * eps * state.dH_dtheta


def _newton_momentum(
    system: RiemannianSystem,
    point: PositionPoint,
    p0: np.ndarray,
    eps: float,
    guess: np.ndarray,
    options: SolverOptions,
) -> FixedPointResult:
    """Solve ``p = p0 - ε/2 ∇_θH(θ, p)`` by Newton's method (d + 1 reverse passes per step).

    The Jacobian of ``∇_θH`` in ``p`` has columns ``∇_θ Σ A ∘ W_j`` with
    ``W_j = pull_back(-½ (u_j vᵀ + v u_jᵀ))``, ``u_j = G⁻¹e_j``, ``v = G⁻¹p``.
    """
    d = p0.size
    inverse = point.metric.inverse
    p = guess
    residual = np.inf
    for it in range(1, options.newton_iterations + 1):
        grad = hamiltonian_gradient(system, point, p)
        r = p - p0 + 0.5 * eps * grad
        residual = float(np.abs(r).max())
        if not residual < np.inf:
            return FixedPointResult(p, grad, False, np.inf, it, True)
        if residual <= options.tol * (1.0 + float(np.abs(p).max())):
            return FixedPointResult(p, grad, True, residual, it, False)
        v = inverse @ p
        jac = np.eye(d)
        for j in range(d):
            u = inverse[:, j]
            c = -0.5 * (np.outer(u, v) + np.outer(v, u))
            jac[:, j] += 0.5 * eps * system.contract(point.theta, pull_back(point.metric, c))
        try:
            p = p - np.linalg.solve(jac, r)
        except np.linalg.LinAlgError:
            return FixedPointResult(p, grad, False, residual, it, False)
    return FixedPointResult(p, None, False, residual, options.newton_iterations, False)


def _failure(
    state: IntegratorState, kind: DivergenceKind, it_p: int, it_q: int, res: float, n: int
) -> tuple[IntegratorState, LeapfrogReport]:
    return state, LeapfrogReport(kind, it_p, it_q, res, n)


def generalized_leapfrog(
    system: RiemannianSystem,
    state: IntegratorState,
    step_size: float,
    options: SolverOptions,
) -> tuple[IntegratorState, LeapfrogReport]:
    """One generalized-leapfrog step; a negative ``step_size`` integrates backward in time.

    Parameters
    ----------
    system
        Model and metric.
    state
        Current state.
    step_size
        Signed step size ε.
    options
        Tolerances of the implicit solves.

    Returns
    -------
    IntegratorState, LeapfrogReport
        The new state and the report. If ``report.divergence != "none"`` the returned state is
        the input state and must not be used as a proposal.

    Notes
    -----
    Girolami & Calderhead (2011), eqs. 16-18::

        p½ = p - ε/2 ∇_θH(θ, p½)                          (implicit in p½)
        θ' = θ + ε/2 [G⁻¹(θ) + G⁻¹(θ')] p½                (implicit in θ')
        p' = p½ - ε/2 ∇_θH(θ', p½)                         (explicit)

    The map is symmetric: the step with ``-ε`` from ``(θ', p')`` returns to ``(θ, p)`` (up to
    the solver tolerance). Initial guesses are explicit steps that cost no evaluation: for p½ the
    previous ``∇_θH`` held in the state (:func:`momentum_guess`), for θ' an Euler step with
    ``G⁻¹(θ) p½``.
    """
    # Divergent iterates overflow; they are detected (non-finite residual) and reported.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _leapfrog(system, state, float(step_size), options)


def _leapfrog(
    system: RiemannianSystem, state: IntegratorState, eps: float, options: SolverOptions
) -> tuple[IntegratorState, LeapfrogReport]:
    point = state.position
    n_evals = 0

    def momentum_map(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        grad = hamiltonian_gradient(system, point, p)  # eq. 16
        return state.momentum - 0.5 * eps * grad, grad

    mom: FixedPointResult = solve_fixed_point(
        momentum_map,
        momentum_guess(state, eps, options),
        tol=options.tol,
        max_iter=options.max_iterations,
        memory=options.anderson_memory,
    )
    n_evals += mom.iterations
    if not mom.converged and not mom.failed and options.newton_iterations > 0:
        # Picard/Anderson fails where the momentum map is not a contraction (large ε|∂G|,
        # e.g. SoftAbs in a funnel's neck). Newton finds the same root; the integrator stays
        # the same deterministic, reversible map wherever the root is unique.
        mom = _newton_momentum(system, point, state.momentum, eps, mom.solution, options)
        n_evals += mom.iterations * (1 + point.theta.size)
    if not mom.converged:
        kind0: DivergenceKind = "energy" if mom.failed else "solver"
        return _failure(state, kind0, mom.iterations, 0, mom.residual, n_evals)
    p_half = mom.solution
    v0 = velocity(point.metric, p_half)
    failure: list[DivergenceKind] = []

    def position_map(theta: np.ndarray) -> tuple[np.ndarray, PositionPoint] | None:
        new = system.evaluate(theta)
        if isinstance(new, str):
            failure.append(new)  # type: ignore[arg-type]
            return None
        return point.theta + 0.5 * eps * (v0 + velocity(new.metric, p_half)), new  # eq. 17

    pos = solve_fixed_point(
        position_map,
        point.theta + eps * v0,
        tol=options.tol,
        max_iter=options.max_iterations,
        memory=options.anderson_memory,
    )
    n_evals += pos.iterations
    residual = max(mom.residual, pos.residual)
    if pos.failed:
        kind: DivergenceKind = failure[-1] if failure else "energy"
        return _failure(state, kind, mom.iterations, pos.iterations, residual, n_evals)
    if not pos.converged:
        return _failure(state, "solver", mom.iterations, pos.iterations, residual, n_evals)
    new_point: PositionPoint = pos.aux
    grad = hamiltonian_gradient(system, new_point, p_half)  # eq. 18
    n_evals += 1
    p_new = p_half - 0.5 * eps * grad
    energy = -new_point.logp + kinetic_energy(new_point.metric, p_new)
    new_state = IntegratorState(new_point, p_new, energy, grad)
    report = LeapfrogReport("none", mom.iterations, pos.iterations, residual, n_evals)
    return new_state, report
