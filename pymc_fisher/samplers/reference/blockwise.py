"""The explicit alternating blockwise leapfrog for a semi-separable metric (NumPy reference).

With θ split into a latent block A and a hyper block B such that ``G_AB = 0``, ``G_AA`` depends
on ``θ_B`` only and ``G_BB`` on ``θ_A`` only (or on nothing), the Riemannian Hamiltonian

    H = U(θ) + K_A(θ_B, p_A) + K_B(θ_A, p_B),
    U = -log p(θ),   K_X = ½ log det G_XX + ½ p_Xᵀ G_XX⁻¹ p_X,

is, with one block frozen, a separable Hamiltonian in the other:

    H_A(θ_A, p_A) = [U + K_B(θ_A, p_B)] + ½ p_Aᵀ G_AA(θ_B)⁻¹ p_A      (θ_B, p_B frozen)
    H_B(θ_B, p_B) = [U + K_A(θ_B, p_A)] + ½ p_Bᵀ G_BB(θ_A)⁻¹ p_B      (θ_A, p_A frozen)

so each has an ordinary, explicit leapfrog. One step is the symmetric composition
``Φ_B(h/2) ∘ Φ_A(h) ∘ Φ_B(h/2)`` (Zhang & Sutton 2014, Alg. 1, the "alternating blockwise
leapfrog"). No fixed point is solved.

Every sub-map is a shear: a kick of ``p_B`` by a force of ``(θ, p_A)``, of ``p_A`` by one of
``(θ, p_B)``, a drift of ``θ_A`` by ``G_AA(θ_B)⁻¹p_A``, of ``θ_B`` by ``G_BB(θ_A)⁻¹p_B``. So the
step preserves volume exactly, and the symmetric composition of symmetric leapfrogs is
reversible under ``p ↦ −p`` exactly (to rounding): Metropolis is exact, and a No-U-Turn tree may
use it. It is *not* symplectic (each kick ignores the force the frozen block's momentum would
feel), which the sampler does not need. It is second order.

Cost per step, with the model's one-call ``evaluate`` (log p, its gradient and G) and the
metric-derivative reverse pass ``contract``: 3 evaluations (θ moves three times) and 3 passes
when ``G_BB`` is constant (the funnel, centred Gaussian hierarchies), 6 when it varies (the
A-kicks, and ``∇_A H`` of the end state, need their own); the first kick reuses the last one of
the previous step (first same as last). A step's ``LeapfrogReport``
counts both (``gradient_evaluations``).

Numeric core: NumPy only.

References
----------
Zhang, Y. & Sutton, C. (2014). Semi-separable Hamiltonian Monte Carlo for inference in
Bayesian hierarchical models. NeurIPS 27, arXiv:1406.3843.
"""

from __future__ import annotations

import numpy as np

from pymc_fisher.samplers.core.kernel import Kernel
from pymc_fisher.samplers.core.options import SolverOptions
from pymc_fisher.samplers.core.types import (
    BlockSplit,
    DivergenceKind,
    IntegratorState,
    LeapfrogReport,
    PositionPoint,
    RiemannianSystem,
)
from pymc_fisher.samplers.metric.operations import kinetic_energy
from pymc_fisher.samplers.reference.integrator import hamiltonian_gradient
from pymc_fisher.samplers.reference.kernel import reference_kernel

__all__ = ["blockwise_kernel", "blockwise_leapfrog"]


class _Failed(Exception):
    """A position the step moved to cannot be evaluated (carries the divergence kind)."""

    def __init__(self, kind: str, evaluations: int) -> None:
        super().__init__(kind)
        self.kind = kind
        self.evaluations = evaluations


def _force(
    system: RiemannianSystem,
    split: BlockSplit,
    point: PositionPoint,
    p: np.ndarray,
    block: np.ndarray,
    varies: bool,
) -> tuple[np.ndarray, int]:
    """``∇_θ H(θ, p)`` on ``block``, and the reverse passes it took (0 or 1).

    On A this is ``∇_A[U + K_B]``, on B ``∇_B[U + K_A]``: the other block's kinetic energy does
    not depend on the block's position. Where that block's metric-derivative term is known to be
    zero (``varies`` false) no reverse pass is made.
    """
    if not varies:
        return -point.grad_logp[block], 0
    return hamiltonian_gradient(system, point, p)[block], 1


def _velocity(point: PositionPoint, p: np.ndarray, block: np.ndarray) -> np.ndarray:
    """``(G⁻¹p)`` on ``block`` = ``G_XX⁻¹ p_X`` (``G⁻¹`` is block-diagonal)."""
    return point.metric.inverse[np.ix_(block, block)] @ p[block]


def _drift(
    system: RiemannianSystem,
    point: PositionPoint,
    p: np.ndarray,
    block: np.ndarray,
    step: float,
    evaluations: int,
) -> PositionPoint:
    """``θ_X ← θ_X + step · G_XX⁻¹ p_X`` with the other block frozen, evaluated there."""
    theta = point.theta.copy()
    theta[block] += step * _velocity(point, p, block)
    new = system.evaluate(theta)
    if isinstance(new, str):
        raise _Failed(new, evaluations + 1)
    return new


def blockwise_leapfrog(
    system: RiemannianSystem,
    split: BlockSplit,
    state: IntegratorState,
    step_size: float,
    options: SolverOptions,
) -> tuple[IntegratorState, LeapfrogReport]:
    """One step ``Φ_B(h/2) ∘ Φ_A(h) ∘ Φ_B(h/2)``; a negative ``step_size`` integrates backward.

    Parameters
    ----------
    system
        Model and metric; the metric must be semi-separable under ``split``.
    split
        The blocks A (``latent``) and B (``hyper``).
    state
        Current state; its ``dH_dtheta`` must be ``∇_θH`` at its ``(θ, p)`` (as
        :func:`~.reference.integrator.integrator_state` and this function return it).
    step_size
        Signed step size ``h``.
    options
        Unused by the explicit step (no solves); kept for the leapfrog signature.

    Returns
    -------
    IntegratorState, LeapfrogReport
        As :func:`~.reference.integrator.generalized_leapfrog`: the input state with the kind
        ``"energy"`` or ``"metric"`` when a position on the way cannot be evaluated.

    Notes
    -----
    Zhang & Sutton (2014), Alg. 1, with ``Φ_X(τ)`` the leapfrog of the separable ``H_X``::

        p_X ← p_X − τ/2 ∇_X H(θ, p)
        θ_X ← θ_X + τ G_XX⁻¹ p_X
        p_X ← p_X − τ/2 ∇_X H(θ, p)

    ``∇_B H`` depends on ``(θ, p_A)`` and ``∇_A H`` on ``(θ, p_B)`` only, so the first kick of a
    step is the last one of the step before (the state's ``dH_dtheta``).
    """
    del options
    h = float(step_size)
    latent, hyper = split.latent, split.hyper
    has_hyper = hyper.size > 0
    varies_a = has_hyper and split.hyper_metric_varies
    point = state.position
    p = state.momentum.copy()
    grad = state.dH_dtheta.copy()
    n = 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            if has_hyper:  # Φ_B(h/2)
                p[hyper] -= 0.25 * h * grad[hyper]
                point = _drift(system, point, p, hyper, 0.5 * h, n)
                n += 1
                force, k = _force(system, split, point, p, hyper, True)
                n += k
                p[hyper] -= 0.25 * h * force
            force, k = _force(system, split, point, p, latent, varies_a)  # Φ_A(h)
            n += k
            p[latent] -= 0.5 * h * force
            point = _drift(system, point, p, latent, h, n)
            n += 1
            force, k = _force(system, split, point, p, latent, varies_a)
            n += k
            p[latent] -= 0.5 * h * force
            if has_hyper:  # Φ_B(h/2)
                force, k = _force(system, split, point, p, hyper, True)
                n += k
                p[hyper] -= 0.25 * h * force
                point = _drift(system, point, p, hyper, 0.5 * h, n)
                n += 1
                force, k = _force(system, split, point, p, hyper, True)
                n += k
                p[hyper] -= 0.25 * h * force
        except _Failed as failed:
            kind: DivergenceKind = "metric" if failed.kind == "metric" else "energy"
            return state, LeapfrogReport(kind, 0, 0, 0.0, failed.evaluations)
    # ∇_θH at the end: B from the last kick's force (a function of θ and p_A, which that kick
    # did not change); A with the final p_B
    grad = -point.grad_logp.copy()
    if has_hyper:
        grad[hyper] = force
    if varies_a:
        grad[latent], k = _force(system, split, point, p, latent, True)
        n += k
    energy = -point.logp + kinetic_energy(point.metric, p)
    if not np.isfinite(energy):
        return state, LeapfrogReport("energy", 0, 0, 0.0, n)
    return IntegratorState(point, p, energy, grad), LeapfrogReport("none", 0, 0, 0.0, n)


def blockwise_kernel(system: RiemannianSystem, split: BlockSplit) -> Kernel:
    """The NumPy reference kernel with the blockwise leapfrog as its integrator.

    Parameters
    ----------
    system
        Model and metric, semi-separable under ``split``.
    split
        The blocks (:func:`pymc_fisher.fisher.structure.semi_separable_structure`).

    Returns
    -------
    Kernel
        Named ``"reference"``: the fixed-length transition (with the same divergence and
        subdivision rules) and the No-U-Turn tree run on :func:`blockwise_leapfrog`.
    """
    latent = np.asarray(split.latent, dtype=np.int64)
    hyper = np.asarray(split.hyper, dtype=np.int64)
    if latent.size == 0:
        raise ValueError("The blockwise split needs a non-empty latent block A.")
    if np.intersect1d(latent, hyper).size:
        raise ValueError("The blocks A and B of the blockwise split overlap.")
    split = BlockSplit(latent, hyper, bool(split.hyper_metric_varies))

    def leapfrog(
        system: RiemannianSystem, state: IntegratorState, step_size: float, options: SolverOptions
    ) -> tuple[IntegratorState, LeapfrogReport]:
        return blockwise_leapfrog(system, split, state, step_size, options)

    return reference_kernel(system, leapfrog=leapfrog)
