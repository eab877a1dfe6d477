"""The global linear whitening ``w = ŵ + M u``, fitted from a compiled ``log p`` (NumPy only).

``ŵ`` is the mode of the density of the non-centred coordinates ``w`` and ``M`` a square root
of the inverse of its negative Hessian there (the Laplace covariance): ``L⁻ᵀ`` with
``L Lᵀ = -∇² log p(ŵ)`` (dense), or the Laplace marginal standard deviations (diagonal). In the
coordinates ``u`` a Gaussian posterior is standard normal, and NUTS needs no warm-up of its
mass matrix to see it.

The Hessian only sets the whitening, which changes efficiency, never the posterior, so central
differences of the exact gradient serve (step ``1e-5 max(1, |w|)``: an error of about ``1e-10``
relative, far below what a mass matrix needs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from pymc_fisher.errors import FisherError
from pymc_fisher.laplace.mode import ModeNotFoundError, find_mode

__all__ = ["Whitening", "difference_hessian", "fit_whitening", "identity_whitening"]

LogpGrad = Callable[[np.ndarray], tuple[float, np.ndarray]]


class Whitening(NamedTuple):
    """``w = shift + scale @ u`` (``scale`` a matrix) or ``shift + scale * u`` (a vector).

    Attributes
    ----------
    shift, scale
        The map.
    kind
        ``"dense"``, ``"diagonal"`` or ``"none"``.
    reason
        Why this kind (the mode's outcome, the size, a non-positive-definite Hessian).
    mode
        The mode ``ŵ`` (``None`` where none was found).
    """

    shift: np.ndarray
    scale: np.ndarray
    kind: str
    reason: str
    mode: np.ndarray | None

    @property
    def log_det(self) -> float:
        """``log |det M|``."""
        if self.scale.ndim == 1:
            return float(np.sum(np.log(np.abs(self.scale))))
        return float(np.linalg.slogdet(self.scale)[1])


def identity_whitening(size: int, dense: bool, reason: str) -> Whitening:
    """``w = u``, with ``scale`` shaped as the model's slot (matrix when ``dense``)."""
    scale = np.eye(size) if dense else np.ones(size)
    return Whitening(np.zeros(size), scale, "none", reason, None)


def difference_hessian(logp_grad: LogpGrad, x: np.ndarray) -> np.ndarray:
    """``-∇² log p(x)`` by central differences of the gradient, symmetrised."""
    h = 1e-5 * np.maximum(1.0, np.abs(x))
    columns = []
    for i in range(x.size):
        step = np.zeros_like(x)
        step[i] = h[i]
        columns.append((logp_grad(x - step)[1] - logp_grad(x + step)[1]) / (2.0 * h[i]))
    matrix = np.column_stack(columns) if columns else np.zeros((0, 0))
    return 0.5 * (matrix + matrix.T)


def _direction(vector: np.ndarray, labels: Sequence[str]) -> str:
    """The three largest components of a unit vector, named: ``0.71·a + -0.71·b``."""
    top = np.argsort(-np.abs(vector))[:3]
    return " + ".join(f"{vector[i]:.2f}·{labels[i]}" for i in top)


def fit_whitening(
    logp_grad: LogpGrad,
    size: int,
    *,
    kind: str,
    dense_slot: bool,
    labels: Sequence[str],
) -> tuple[Whitening, str | None]:
    """The whitening of the density ``logp_grad`` (of ``w``), and a warning to give, if any.

    Parameters
    ----------
    logp_grad
        ``w -> (log p, ∇ log p)``, ``-inf`` outside the support.
    size
        Length of ``w``.
    kind
        ``"dense"``, ``"diagonal"`` or ``"none"``.
    dense_slot
        Whether the model holds ``M`` as a matrix (else as a vector: diagonal only).
    labels
        Names of ``w``'s coordinates, for the warning.

    Returns
    -------
    whitening, warning
        ``warning`` is a message when the Hessian at the mode is not positive definite (the
        whitening then takes the diagonal of its absolute value), else ``None``.
    """
    if kind == "none" or size == 0:
        return identity_whitening(size, dense_slot, "whiten='none'"), None
    try:
        result = find_mode(logp_grad, lambda x: difference_hessian(logp_grad, x), np.zeros(size))
    except (ModeNotFoundError, FisherError) as err:
        reason = f"no mode to whiten at ({type(err).__name__}: {str(err).splitlines()[0][:160]})"
        return identity_whitening(size, dense_slot, reason), None
    mode = np.asarray(result.theta, dtype=float)
    precision = difference_hessian(logp_grad, mode)
    values, vectors = np.linalg.eigh(precision)
    # Curvature below 1e-8 of the largest counts as none: the Hessian comes from differences of
    # the gradient (error ~1e-10 relative), and a whitening conditioned beyond 1e8 says nothing.
    tol = 1e-8 * max(float(np.max(np.abs(values))), 1e-200)
    # Newton's predicted rise from here, with flat directions at the tolerance: a "mode" that
    # the optimiser accepted by its relative criterion while log p still rises along a flat
    # direction (log p = x: the gradient is 1 at any x) is no mode.
    along = vectors.T @ np.asarray(result.gradient, dtype=float)
    with np.errstate(over="ignore"):
        gains = along**2 / np.maximum(values, tol)
    rise = 0.5 * float(np.sum(gains))
    if not rise <= 1e-2:
        i = int(np.argmax(gains))
        reason = (
            f"no mode to whiten at (log p still rises along {_direction(vectors[:, i], labels)})"
        )
        return identity_whitening(size, dense_slot, reason), None
    if values[0] <= tol:
        message = (
            f"The negative Hessian at the mode is not positive definite (eigenvalue "
            f"{values[0]:.3g} along {_direction(vectors[:, 0], labels)}); whitening by the "
            "diagonal, with scale 1 along coordinates without curvature."
        )
        diag = np.diag(precision)
        diagonal = np.where(diag > tol, 1.0 / np.sqrt(np.maximum(diag, tol)), 1.0)
        scale = np.diag(diagonal) if dense_slot else diagonal
        reason = "the negative Hessian at the mode is not positive definite"
        return Whitening(mode, scale, "diagonal", reason, mode), message
    chol = np.linalg.cholesky(precision)
    inverse_factor = np.linalg.solve(chol, np.eye(size)).T  # L⁻ᵀ: M Mᵀ = (L Lᵀ)⁻¹
    if kind == "dense" and dense_slot:
        reason = f"the Laplace precision at the mode, {size} coordinates"
        return Whitening(mode, inverse_factor, "dense", reason, mode), None
    marginal = np.sqrt(np.sum(inverse_factor**2, axis=1))  # sqrt(diag((L Lᵀ)⁻¹))
    scale = np.diag(marginal) if dense_slot else marginal
    reason = f"the Laplace marginal scales at the mode, {size} coordinates"
    return Whitening(mode, scale, "diagonal", reason, mode), None
