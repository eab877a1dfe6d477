"""Cholesky-first linear algebra for precision matrices: checks, regularisation, Gaussian draws.

Numeric core: NumPy and SciPy only. A precision matrix (a negative Hessian, an information
matrix) is factored once, ``P = Uᵀ U`` with ``U`` upper triangular, and the factor is reused for
the covariance ``P⁻¹``, the log-determinant, Gaussian draws ``μ + U⁻¹ z`` and log-densities.
Nothing here calls ``inv``.

A matrix that is not positive definite is never silently used: :func:`regularized_precision`
applies an explicit policy and returns a :class:`Regularization` report saying what it did.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np
import scipy.linalg as sla

from pymc_fisher.errors import NotPositiveDefiniteError
from pymc_fisher.softabs import SOFTABS_ALPHA, softabs_divided_differences, softabs_values
from pymc_fisher.validation import check_option

__all__ = [
    "SOFTABS_ALPHA",
    "CholeskyFactor",
    "NonPositiveDefinitePolicy",
    "Regularization",
    "cholesky",
    "covariance",
    "describe_non_positive_directions",
    "gaussian_draws",
    "gaussian_logpdf",
    "is_positive_definite",
    "minimal_jitter",
    "regularized_precision",
    "scaled_eigenvalues",
    "softabs",
    "softabs_divided_differences",
    "softabs_values",
]

NonPositiveDefinitePolicy = Literal["error", "warn", "jitter", "softabs"]

#: Smallest eigenvalue of the diagonally scaled matrix (a correlation-like matrix with unit
#: diagonal) that still counts as positive definite: a condition number of at most 1e10 after
#: removing the scale of each parameter.
DEFAULT_RTOL = 1e-10


class CholeskyFactor(NamedTuple):
    """Upper Cholesky factor ``U`` of a precision matrix ``P = Uᵀ U``."""

    upper: np.ndarray

    @property
    def logdet(self) -> float:
        """``log det P``."""
        return float(2.0 * np.sum(np.log(np.diag(self.upper))))


class Regularization(NamedTuple):
    """What was done to make a precision matrix positive definite.

    Attributes
    ----------
    policy
        The policy applied (``"none"`` when the matrix was positive definite already).
    positive_definite
        Whether the original matrix was positive definite.
    jitter
        The diagonal addition (``"jitter"`` and ``"warn"``); 0 otherwise.
    softabs_alpha
        The SoftAbs sharpness (``"softabs"``); NaN otherwise.
    eigenvalues
        Eigenvalues of the original (symmetrised) matrix, ascending.
    message
        Which directions were flat or negative, by label; empty when positive definite.
    """

    policy: str
    positive_definite: bool
    jitter: float
    softabs_alpha: float
    eigenvalues: np.ndarray
    message: str


def _symmetric(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    return 0.5 * (a + a.T)


def _scales(a: np.ndarray) -> np.ndarray:
    d = np.abs(np.diag(a))
    return np.where(d > 0, 1.0 / np.sqrt(np.where(d > 0, d, 1.0)), 1.0)


def scaled_eigenvalues(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-decomposition of ``S a S`` with ``S = diag(|a_ii|)^{-1/2}``.

    ``S a S`` is congruent to ``a``, so it has the same numbers of positive, zero and negative
    eigenvalues (Sylvester's law of inertia), but it does not depend on the units of the
    parameters. Returns the eigenvalues (ascending) and the directions in the original
    coordinates (columns ``S v``, normalised).
    """
    a = _symmetric(a)
    s = _scales(a)
    values, vectors = np.linalg.eigh(s[:, None] * a * s[None, :])
    directions = s[:, None] * vectors
    directions /= np.linalg.norm(directions, axis=0, keepdims=True)
    return values, directions


def is_positive_definite(a: np.ndarray, *, rtol: float = DEFAULT_RTOL) -> bool:
    """Whether ``a`` is numerically positive definite, independent of parameter scales.

    True when every diagonally scaled eigenvalue exceeds ``rtol`` and the Cholesky
    factorisation succeeds.
    """
    a = _symmetric(a)
    if a.size == 0:
        return True
    if not np.all(np.isfinite(a)):
        return False
    values, _ = scaled_eigenvalues(a)
    if values[0] <= rtol:
        return False
    try:
        sla.cholesky(a, lower=False)
    except np.linalg.LinAlgError:
        return False
    return True


def describe_non_positive_directions(
    a: np.ndarray, labels: Sequence[str], *, rtol: float = DEFAULT_RTOL, max_terms: int = 4
) -> str:
    """Name the flat and negative directions of ``a`` by parameter label.

    Each direction is written as a combination of its largest components, e.g.
    ``flat along 0.707·a − 0.707·b``.
    """
    values, directions = scaled_eigenvalues(a)
    parts = []
    for value, vector in zip(values, directions.T, strict=True):
        if value > rtol:
            continue
        kind = "negative" if value < -rtol else "flat"
        ranked = [int(i) for i in np.argsort(-np.abs(vector))[:max_terms]]
        order = [i for i in ranked if abs(vector[i]) >= 0.1 * abs(vector[ranked[0]])]
        if vector[order[0]] < 0:
            vector = -vector
        terms = []
        for k, i in enumerate(order):
            coef = vector[i]
            sign = ("" if coef >= 0 else "−") if k == 0 else (" + " if coef >= 0 else " − ")
            terms.append(f"{sign}{abs(coef):.3g}·{labels[i]}")
        more = " + …" if np.count_nonzero(np.abs(vector) > 1e-12) > len(order) else ""
        parts.append(f"{kind} along {''.join(terms)}{more} (scaled eigenvalue {value:.3g})")
    return "; ".join(parts)


def softabs(a: np.ndarray, alpha: float = SOFTABS_ALPHA) -> np.ndarray:
    r"""Betancourt's SoftAbs of a symmetric matrix: eigenvalues ``λ ↦ λ coth(αλ)``.

    Large eigenvalues keep their magnitude (``|λ|``), eigenvalues near zero become ``1/α``, so
    the result is positive definite with the eigenvectors of ``a``.

    Parameters
    ----------
    a
        Symmetric matrix.
    alpha
        Sharpness: eigenvalues with ``|λ| ≫ 1/α`` are mapped to ``|λ|``.

    Returns
    -------
    numpy.ndarray

    References
    ----------
    Betancourt, M. (2013). A general metric for Riemannian manifold Hamiltonian Monte Carlo.
    Geometric Science of Information, 327-334.

    Examples
    --------
    >>> import numpy as np
    >>> np.round(softabs(np.diag([-2.0, 0.0, 3.0]), alpha=10.0), 6)
    array([[2. , 0. , 0. ],
           [0. , 0.1, 0. ],
           [0. , 0. , 3. ]])
    """
    values, vectors = np.linalg.eigh(_symmetric(a))
    mapped, _ = softabs_values(values, alpha)
    return (vectors * mapped) @ vectors.T


def minimal_jitter(a: np.ndarray, *, rtol: float = DEFAULT_RTOL, steps: int = 40) -> float:
    """Find the smallest ``τ ≥ 0`` (to 1 %) such that ``a + τ I`` is positive definite.

    Positive definite in the sense of :func:`is_positive_definite` with the same ``rtol``.
    """
    a = _symmetric(a)
    if is_positive_definite(a, rtol=rtol):
        return 0.0
    eigenvalues = np.linalg.eigvalsh(a)
    scale = max(float(np.max(np.abs(eigenvalues))), np.finfo(float).tiny)
    eye = np.eye(a.shape[0])
    hi = max(-eigenvalues[0], 0.0) + rtol * scale
    while not is_positive_definite(a + hi * eye, rtol=rtol):
        hi *= 2.0
    lo = 0.0
    for _ in range(steps):
        if hi - lo <= 0.01 * hi:
            break
        mid = 0.5 * (lo + hi)
        if is_positive_definite(a + mid * eye, rtol=rtol):
            hi = mid
        else:
            lo = mid
    return float(hi)


def regularized_precision(
    a: np.ndarray,
    labels: Sequence[str],
    *,
    policy: NonPositiveDefinitePolicy = "error",
    rtol: float = DEFAULT_RTOL,
    softabs_alpha: float = SOFTABS_ALPHA,
    what: str = "The negative Hessian",
) -> tuple[np.ndarray, Regularization]:
    """Return ``a`` if it is positive definite, else regularise it as ``policy`` says.

    Parameters
    ----------
    a
        Symmetric matrix meant as a precision (a negative Hessian, an information matrix).
    labels
        One label per row, used to name flat and negative directions.
    policy
        ``"error"``: raise :class:`~pymc_fisher.errors.NotPositiveDefiniteError` naming the
        directions. ``"warn"``: warn, then add the minimal jitter. ``"jitter"``: add the
        smallest multiple of the identity that makes ``a`` positive definite.
        ``"softabs"``: replace ``a`` by its SoftAbs (:func:`softabs`).
    rtol
        Positive-definiteness threshold (:func:`is_positive_definite`).
    softabs_alpha
        Sharpness of the SoftAbs map.
    what
        How to call the matrix in messages.

    Returns
    -------
    precision : numpy.ndarray
        A positive-definite matrix.
    report : Regularization

    Raises
    ------
    NotPositiveDefiniteError
        Under ``policy="error"`` when ``a`` is not positive definite, or when ``a`` is not
        finite.
    """
    check_option("on_non_positive_definite", policy, NonPositiveDefinitePolicy)
    a = _symmetric(a)
    if not np.all(np.isfinite(a)):
        bad = sorted({labels[int(i)] for i in np.argwhere(~np.isfinite(a)).ravel()})
        raise NotPositiveDefiniteError(f"{what} has non-finite entries in rows/columns {bad}.")
    eigenvalues = np.linalg.eigvalsh(a) if a.size else np.zeros(0)
    if is_positive_definite(a, rtol=rtol):
        return a, Regularization("none", True, 0.0, np.nan, eigenvalues, "")
    directions = describe_non_positive_directions(a, labels, rtol=rtol)
    message = f"{what} is not positive definite: {directions}."
    if policy == "error":
        raise NotPositiveDefiniteError(
            f"{message} The data and prior do not pin these directions down at the mode. "
            "Reparametrise, add an informative prior, or pass "
            "on_non_positive_definite='jitter' | 'softabs' | 'warn'."
        )
    if policy == "softabs":
        out = softabs(a, softabs_alpha)
        return out, Regularization("softabs", False, 0.0, softabs_alpha, eigenvalues, message)
    tau = minimal_jitter(a, rtol=rtol)  # "jitter" or "warn"
    if policy == "warn":
        warnings.warn(
            f"{message} Adding {tau:.3g} to the diagonal (on_non_positive_definite='warn').",
            UserWarning,
            stacklevel=3,
        )
    out = a + tau * np.eye(a.shape[0])
    return out, Regularization(policy, False, tau, np.nan, eigenvalues, message)


def cholesky(precision: np.ndarray) -> CholeskyFactor:
    """Upper Cholesky factor of a positive-definite precision matrix.

    Raises
    ------
    NotPositiveDefiniteError
        If the factorisation fails.
    """
    try:
        upper = sla.cholesky(_symmetric(precision), lower=False)
    except np.linalg.LinAlgError as err:
        raise NotPositiveDefiniteError(f"Cholesky factorisation failed: {err}") from None
    return CholeskyFactor(upper)


def covariance(factor: CholeskyFactor) -> np.ndarray:
    """``P⁻¹`` from the Cholesky factor of ``P`` (two triangular solves)."""
    n = factor.upper.shape[0]
    cov = sla.cho_solve((factor.upper, False), np.eye(n))
    return 0.5 * (cov + cov.T)


def gaussian_draws(
    mean: np.ndarray, factor: CholeskyFactor, size: int, rng: np.random.Generator
) -> np.ndarray:
    """``size`` draws from ``N(mean, P⁻¹)``: ``mean + U⁻¹ z`` with ``z ~ N(0, I)``.

    ``Cov(U⁻¹ z) = U⁻¹ U⁻ᵀ = (Uᵀ U)⁻¹ = P⁻¹``. Returns an array ``(size, n)``.
    """
    z = rng.standard_normal((len(mean), size))
    return mean[None, :] + sla.solve_triangular(factor.upper, z, lower=False).T


def gaussian_logpdf(x: np.ndarray, mean: np.ndarray, factor: CholeskyFactor) -> np.ndarray:
    """Log-density of ``N(mean, P⁻¹)`` at the rows of ``x``."""
    x = np.atleast_2d(x)
    n = len(mean)
    r = (x - mean[None, :]) @ factor.upper.T  # rows of U (x − μ)
    return -0.5 * n * np.log(2 * np.pi) + 0.5 * factor.logdet - 0.5 * np.sum(r * r, axis=1)
