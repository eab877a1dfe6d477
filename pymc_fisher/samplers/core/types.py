"""The types every sampler module shares: positions, phase-space states, transition reports.

Named tuples of arrays and numbers, so the NumPy reference and the Numba kernel make and read the
very same values. This module imports nothing from the samplers: everything else builds on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, NamedTuple

import numpy as np

__all__ = [
    "DIVERGENCE_KINDS",
    "EMPTY_MATRIX",
    "EMPTY_VECTOR",
    "BlockSplit",
    "DivergenceKind",
    "IntegratorState",
    "LeapfrogReport",
    "MetricFactor",
    "NutsInfo",
    "PositionPoint",
    "RiemannianSystem",
    "TransitionInfo",
]

#: What a factor holds where a metric has no such array (Numba needs a typed placeholder).
EMPTY_VECTOR = np.empty(0)
EMPTY_MATRIX = np.empty((0, 0))


class MetricFactor(NamedTuple):
    """``G(θ)`` factored once, reused for solves, log-determinant and draws.

    Attributes
    ----------
    inverse
        ``G⁻¹``.
    sqrt
        ``S`` with ``S Sᵀ = G`` (Cholesky factor, or ``Q diag(√g)`` for SoftAbs).
    logdet
        ``log det G``.
    eigenvalues
        Eigenvalues ``g`` of ``G`` where they come free (SoftAbs; the diagonal of a diagonal
        metric), else empty.
    basis
        SoftAbs eigenvectors ``Q`` of ``H`` (empty for direct metrics).
    hessian_eigenvalues
        SoftAbs eigenvalues ``λ`` of ``H`` (empty for direct metrics).
    divided_differences
        SoftAbs divided differences ``D`` of ``λ ↦ λ coth(αλ)``
        (:func:`~pymc_fisher.linalg.softabs_divided_differences`; empty for direct metrics).
    """

    inverse: np.ndarray
    sqrt: np.ndarray
    logdet: float
    eigenvalues: np.ndarray = EMPTY_VECTOR
    basis: np.ndarray = EMPTY_MATRIX
    hessian_eigenvalues: np.ndarray = EMPTY_VECTOR
    divided_differences: np.ndarray = EMPTY_MATRIX


# "reversal": a subdivided step whose reverse would subdivide differently (a rejection, see
# trajectory.subdivided_leapfrog), never reported as a divergence
DivergenceKind = Literal["none", "energy", "solver", "metric", "reversal"]


class PositionPoint(NamedTuple):
    """Everything the integrator needs at one position θ (one compiled-function call).

    Attributes
    ----------
    theta, logp, grad_logp
        The position, ``log p(θ)`` and its gradient.
    metric
        ``G(θ)`` factored.
    """

    theta: np.ndarray
    logp: float
    grad_logp: np.ndarray
    metric: MetricFactor


class RiemannianSystem(NamedTuple):
    """The model and metric as seen by the reference integrator.

    Attributes
    ----------
    evaluate
        ``θ -> PositionPoint``, or a :data:`DivergenceKind` string (``"metric"`` when ``G(θ)``
        is not positive definite, ``"energy"`` when ``log p(θ)`` is not finite).
    contract
        ``(θ, W) -> ∇_θ Σ_jk A_jk(θ) W_jk`` with ``W`` held fixed: one reverse pass.
    """

    evaluate: Callable[[np.ndarray], PositionPoint | str]
    contract: Callable[[np.ndarray, np.ndarray], np.ndarray]


class BlockSplit(NamedTuple):
    """A split of θ under which ``G`` is semi-separable (Zhang & Sutton 2014).

    ``G_AB = 0``, ``G_AA`` depends on ``θ_B`` only, ``G_BB`` on ``θ_A`` only or on nothing
    (:func:`pymc_fisher.fisher.structure.semi_separable_structure` finds it on the graph).

    Attributes
    ----------
    latent
        Indices of the block A in θ (sorted).
    hyper
        Indices of the block B in θ (sorted; may be empty when ``G`` is constant).
    hyper_metric_varies
        Whether ``G_BB`` depends on ``θ_A`` (else the A-kicks need no metric-derivative pass).
    """

    latent: np.ndarray
    hyper: np.ndarray
    hyper_metric_varies: bool = True


class IntegratorState(NamedTuple):
    """A point in phase space with its energy.

    Attributes
    ----------
    position
        The position and what was evaluated there.
    momentum
        ``p``.
    energy
        ``H(θ, p)``.
    dH_dtheta
        ``∇_θ H`` at θ with the momentum of the last half step (reused as the initial guess of
        the next implicit momentum solve, in either time direction).
    """

    position: PositionPoint
    momentum: np.ndarray
    energy: float
    dH_dtheta: np.ndarray


class LeapfrogReport(NamedTuple):
    """What happened in one generalized-leapfrog step.

    Attributes
    ----------
    divergence
        ``"none"``, ``"solver"`` (an implicit solve did not converge), ``"metric"`` (``G`` not
        positive definite at an iterate) or ``"energy"`` (non-finite log density, or an
        iteration that overflowed; the subdivided step of the fixed trajectory retries both
        ``"solver"`` and ``"energy"``).
    momentum_iterations, position_iterations
        Evaluations made by the implicit momentum and position solves.
    residual
        Largest final residual of the two solves.
    gradient_evaluations
        Compiled-function calls: position evaluations (log p, gradient, metric) plus
        metric-derivative reverse passes.
    """

    divergence: DivergenceKind
    momentum_iterations: int
    position_iterations: int
    residual: float
    gradient_evaluations: int


#: The divergence kinds in the order of their integer codes (the compiled kernel's and the
#: chain records' ``divergence_kind``).
DIVERGENCE_KINDS: tuple[DivergenceKind, ...] = ("none", "energy", "solver", "metric", "reversal")


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


class NutsInfo(NamedTuple):
    """Statistics of one No-U-Turn transition (PyMC's NUTS names plus the Riemannian ones).

    Attributes
    ----------
    accepted
        Whether the returned state differs from the initial one.
    acceptance_rate
        Mean over the tree's states of ``min(1, exp(H₀ - H))`` (Stan's ``accept_stat``; a
        state whose step diverged in the solver or metric counts 0).
    energy_error
        ``H - H₀`` of the returned state.
    energy
        ``H`` of the returned state.
    divergence
        Kind of the divergence that stopped the tree (``"none"`` when none).
    n_steps
        Generalized-leapfrog steps taken (tree nodes, including a discarded last subtree).
    fixed_point_iterations
        Evaluations of the implicit solves over the tree.
    fixed_point_residual
        Largest final solver residual over the tree.
    gradient_evaluations
        Compiled-function calls (position evaluations and reverse passes).
    tree_depth
        Number of doublings of the accepted trajectory.
    reached_max_treedepth
        Whether the tree stopped at ``max_treedepth`` rather than by a U-turn or divergence.
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
    tree_depth: int
    reached_max_treedepth: bool
