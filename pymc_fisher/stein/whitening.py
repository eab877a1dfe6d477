"""The preconditioner of the Stein discrepancy as a change of coordinates (numeric core).

A metric ``Γ = Uᵀ U`` (a precision: the information) enters the discrepancy as the linear map
``z = U (x − x̄)``. The draws' density in ``z`` has the score ``s_z = U⁻ᵀ s_x`` (the chain rule,
``x = x̄ + U⁻¹ z``), so the IMQ Stein kernel of :mod:`pymc_fisher.stein.kernel` on ``(z, s_z)``
is, in the original coordinates,

    k₀ = −4β(β−1)‖r‖²_Γ q^(β−2) − 2β (d + (s − s')·r) q^(β−1) + (sᵀ Γ⁻¹ s') q^β,
    q = c² + ‖r‖²_Γ,  r = x − x',

the Langevin operator with the constant diffusion ``Γ⁻¹`` (Gorham, Duncan, Vollmer & Mackey
2019). It is affine invariant: for ``x ↦ A x + b`` (scores ``A⁻ᵀ s``) and ``Γ ↦ A⁻ᵀ Γ A⁻¹``
the whitened points change by an orthogonal map, which the kernel does not see.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.linalg as sla

from pymc_fisher.linalg import cholesky

__all__ = ["Whitened", "covariance_information", "score_information", "whiten"]


class Whitened(NamedTuple):
    """Points and scores in the coordinates ``z = U (x − x̄)`` of a metric ``Γ = Uᵀ U``."""

    points: np.ndarray
    scores: np.ndarray


def whiten(x: np.ndarray, scores: np.ndarray, metric: np.ndarray) -> Whitened:
    """Map rows ``x`` and their scores to the coordinates in which ``metric`` is the identity.

    Raises
    ------
    NotPositiveDefiniteError
        If ``metric`` has no Cholesky factor.

    Examples
    --------
    >>> w = whiten(np.array([[1.0], [3.0]]), np.array([[-1.0], [1.0]]), np.array([[4.0]]))
    >>> w.points.ravel().tolist(), w.scores.ravel().tolist()  # z = 2 (x − 2), s_z = s / 2
    ([-2.0, 2.0], [-0.5, 0.5])
    """
    x = np.asarray(x, dtype=float)
    upper = cholesky(metric).upper
    centred = x - x.mean(axis=0)  # the kernel sees differences only; centring keeps digits
    points = centred @ upper.T
    white_scores = sla.solve_triangular(upper, np.asarray(scores, float).T, trans="T").T
    return Whitened(np.ascontiguousarray(points), np.ascontiguousarray(white_scores))


def score_information(scores: np.ndarray) -> np.ndarray:
    """``(1/n) Σ sᵢ sᵢᵀ``: the posterior-averaged information by the Fisher identity.

    For draws of ``p``, ``E[s sᵀ] = E[−∇² log p]`` (integrate by parts), so this estimates the
    posterior-averaged curvature without a Hessian.
    """
    s = np.asarray(scores, dtype=float)
    return (s.T @ s) / s.shape[0]


def covariance_information(x: np.ndarray) -> np.ndarray:
    """The inverse of the draws' sample covariance (a precision), by a Cholesky solve."""
    cov = np.atleast_2d(np.cov(np.asarray(x, dtype=float), rowvar=False))
    upper = cholesky(cov).upper
    inverse = sla.cho_solve((upper, False), np.eye(cov.shape[0]))
    return 0.5 * (inverse + inverse.T)
