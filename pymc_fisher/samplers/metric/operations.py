"""Riemannian metric bundles: from a matrix to momentum draws, kinetic energy and its gradient.

A metric is chosen once and turns the matrix ``A(θ)`` that the compiled model function returns
into a :class:`MetricFactor` (``G(θ)``, its inverse, log-determinant and a square root). The
integrator only ever calls the bundle's functions, so it does not know which metric it runs.

- ``direct`` metrics (Fisher, Hessian, user callables): ``G = A``, factored by Cholesky.
- ``softabs`` (Betancourt 2013): ``A = H`` is the Hessian of ``-log p`` and
  ``G = Q diag(λ coth(αλ)) Qᵀ`` (:func:`pymc_fisher.linalg.softabs_values`, the one SoftAbs).

The metric-derivative term of the Hamiltonian is ``∂/∂θ_i [½ log det G + ½ pᵀG⁻¹p]
= Σ_jk C_jk ∂G_jk/∂θ_i`` with ``C = ½ (G⁻¹ - G⁻¹ppᵀG⁻¹)``. :func:`contraction_weights` maps
``C`` to the weights ``W`` on ``A`` (``Σ C ∘ dG = Σ W ∘ dA``) so that one reverse pass of
``sum(A(θ) * W)`` gives the whole term; no third-order tensor is ever formed.

A :class:`MetricFactor` holds arrays only (empty ones where a metric has nothing to say), so
the Numba kernel (:mod:`.metric.compiled`) makes and reads the very same type.

Numeric core: NumPy only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, NamedTuple

import numpy as np

from pymc_fisher.samplers.core.types import MetricFactor
from pymc_fisher.softabs import softabs_divided_differences, softabs_values

__all__ = [
    "Metric",
    "condition_number",
    "contraction_weights",
    "direct_metric",
    "draw_momentum",
    "kinetic_energy",
    "pull_back",
    "softabs_metric",
    "velocity",
]


class Metric(NamedTuple):
    """A metric bundle: how to factor ``A(θ)``.

    Attributes
    ----------
    name
        ``"direct"`` or ``"softabs"``.
    factor
        ``A -> MetricFactor``, or ``None`` when ``G`` is not positive definite.
    alpha
        SoftAbs sharpness (0 for a direct metric).
    """

    name: Literal["direct", "softabs"]
    factor: Callable[[np.ndarray], MetricFactor | None]
    alpha: float = 0.0


def _direct_factor(matrix: np.ndarray) -> MetricFactor | None:
    if not np.isfinite(matrix.sum()):  # one reduction catches inf and nan
        return None
    diagonal = matrix.diagonal()
    if np.count_nonzero(matrix) == np.count_nonzero(diagonal):
        # Diagonal metric (the funnel's Fisher metric, independent priors): no factorisation.
        if not diagonal.min() > 0.0:
            return None
        return MetricFactor(np.diag(1.0 / diagonal), np.diag(np.sqrt(diagonal)),
                            float(np.log(diagonal).sum()), diagonal.copy())  # fmt: skip
    try:
        chol = np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        return None
    # np.linalg.inv of the triangular factor: scipy's solve_triangular/potri cost milliseconds
    # per call at d = 10 on a loaded machine (measured; BLAS threading), numpy's getri µs.
    inv_chol = np.linalg.inv(chol)
    logdet = 2.0 * float(np.log(chol.diagonal()).sum())
    return MetricFactor(inv_chol.T @ inv_chol, chol, logdet)


def direct_metric() -> Metric:
    """Metric ``G = A`` (expected Fisher information, Hessian of ``-log p``, or a callable).

    Returns
    -------
    Metric
        Its ``factor`` returns ``None`` when the Cholesky factorisation fails.
    """
    return Metric("direct", _direct_factor)


def softabs_metric(alpha: float) -> Metric:
    """SoftAbs metric of Betancourt (2013), ``G = Q diag(λ coth(αλ)) Qᵀ`` for ``H = QΛQᵀ``.

    Parameters
    ----------
    alpha
        Sharpness: ``g(λ) ≈ |λ|`` for ``|λ| ≫ 1/α`` and ``g(0) = 1/α``.

    Returns
    -------
    Metric

    References
    ----------
    Betancourt, M. (2013). A general metric for Riemannian manifold Hamiltonian Monte Carlo.
    Geometric Science of Information, LNCS 8085, 327-334.
    """

    def factor(hessian: np.ndarray) -> MetricFactor | None:
        if not np.all(np.isfinite(hessian)):
            return None
        lam, Q = np.linalg.eigh(hessian)
        Q = np.ascontiguousarray(Q)
        g, dg = softabs_values(lam, alpha)
        inverse = (Q / g) @ Q.T
        D = softabs_divided_differences(lam, g, dg)
        return MetricFactor(inverse, Q * np.sqrt(g), float(np.sum(np.log(g))), g, Q, lam, D)

    return Metric("softabs", factor, float(alpha))


def velocity(factor: MetricFactor, p: np.ndarray) -> np.ndarray:
    """``G⁻¹ p``: the time derivative of θ."""
    return factor.inverse @ p


def kinetic_energy(factor: MetricFactor, p: np.ndarray) -> float:
    """``½ log det G + ½ pᵀG⁻¹p`` (the normalising constant ``d/2 log 2π`` omitted)."""
    return 0.5 * factor.logdet + 0.5 * float(p @ (factor.inverse @ p))


def draw_momentum(factor: MetricFactor, rng: np.random.Generator) -> np.ndarray:
    """Draw ``p ~ N(0, G)`` as ``S z`` with ``S Sᵀ = G``."""
    return factor.sqrt @ rng.standard_normal(factor.sqrt.shape[0])


def contraction_weights(factor: MetricFactor, p: np.ndarray) -> np.ndarray:
    """Weights ``W`` with ``∇_θ[½ log det G + ½ pᵀG⁻¹p] = ∇_θ Σ (A(θ) ∘ W)`` (W held fixed).

    Parameters
    ----------
    factor
        The metric at θ.
    p
        Momentum.

    Returns
    -------
    numpy.ndarray
        ``C = ½ (G⁻¹ - vvᵀ)``, ``v = G⁻¹p``, for a direct metric; for SoftAbs its pull-back
        ``Q (D ∘ QᵀCQ) Qᵀ`` onto the Hessian.
    """
    v = factor.inverse @ p
    if factor.basis.size == 0:
        return 0.5 * (factor.inverse - np.outer(v, v))
    Q, D, g = factor.basis, factor.divided_differences, factor.eigenvalues
    # QᵀCQ = ½ (diag(1/g) - uuᵀ) with u = Qᵀv: no extra d³ products for the inner matrix.
    u = Q.T @ v
    inner = -0.5 * np.outer(u, u)
    inner.flat[:: g.size + 1] += 0.5 / g
    return Q @ (D * inner) @ Q.T


def pull_back(factor: MetricFactor, weights: np.ndarray) -> np.ndarray:
    """Map weights ``C`` on ``G`` to weights ``W`` on ``A`` with ``Σ C ∘ dG = Σ W ∘ dA``.

    The identity for a direct metric; ``Q (D ∘ QᵀCQ) Qᵀ`` for SoftAbs (``C`` symmetric).
    """
    if factor.basis.size == 0:
        return weights
    Q, D = factor.basis, factor.divided_differences
    return Q @ (D * (Q.T @ weights @ Q)) @ Q.T


def condition_number(factor: MetricFactor) -> float:
    """Spectral condition number of ``G`` (from eigenvalues already known, or an ``eigvalsh``)."""
    g = factor.eigenvalues
    if g.size == 0:
        g = np.linalg.eigvalsh(factor.sqrt @ factor.sqrt.T)
    g = np.abs(g)
    return float(np.max(g) / np.min(g)) if np.min(g) > 0 else float("inf")
