"""The SoftAbs map of eigenvalues (Betancourt 2013) and its divided differences.

``register_jitable``: plain Python for :func:`pymc_fisher.linalg.softabs` and the reference
metric, compiled inside the Numba kernel. Kept apart from :mod:`pymc_fisher.linalg` so that the
kernel's disk cache depends on these two functions only.
"""

from __future__ import annotations

import numpy as np
from numba.extending import register_jitable

__all__ = ["SOFTABS_ALPHA", "softabs_divided_differences", "softabs_values"]

#: SoftAbs sharpness wherever a caller does not choose one: ``g(λ) ≈ |λ|`` once ``|λ| ≫ 1e-6``.
#: The sampler's SoftAbs metric uses its own, measured value (``RMHMC(softabs_alpha=...)``).
SOFTABS_ALPHA = 1e6

# |αλ| below this: the series (1 + (αλ)²/3)/α; above _SOFTABS_SIGN, g'(λ) = sign(λ) to double
# precision (coth(x) - x/sinh²(x) - 1 < 1e-16 for x > 20).
_SOFTABS_SERIES = 1e-4
_SOFTABS_SIGN = 20.0


@register_jitable
def softabs_values(lam: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    r"""SoftAbs of eigenvalues, ``g(λ) = λ coth(αλ)``, and its derivative ``g'(λ)``.

    The one implementation of the map: :func:`softabs`, the sampler's SoftAbs metric and its
    Numba kernel all call it (``register_jitable``: plain Python here, compiled in the kernel).

    Parameters
    ----------
    lam
        Eigenvalues of a symmetric matrix.
    alpha
        Sharpness: ``g(λ) ≈ |λ|`` for ``|λ| ≫ 1/α`` and ``g(0) = 1/α``.

    Returns
    -------
    g, dg
        ``λ coth(αλ)`` (the series ``(1 + (αλ)²/3)/α`` near 0, so no 0/0) and
        ``g'(λ) = coth(αλ) - αλ / sinh²(αλ)`` (``2αλ/3`` near 0, ``sign(λ)`` far out).

    Examples
    --------
    >>> g, dg = softabs_values(np.array([-2.0, 0.0, 3.0]), 10.0)
    >>> np.round(g, 6).tolist(), np.round(dg, 6).tolist()
    ([2.0, 0.1, 3.0], [-1.0, 0.0, 1.0])
    """
    n = lam.size
    g, dg = np.empty(n), np.empty(n)
    for i in range(n):
        x = alpha * lam[i]
        ax = abs(x)
        if ax < _SOFTABS_SERIES:
            g[i] = (1.0 + x * x / 3.0) / alpha
            dg[i] = 2.0 * x / 3.0
        else:
            g[i] = lam[i] / np.tanh(x)
            dg[i] = (
                np.sign(lam[i]) if ax > _SOFTABS_SIGN else 1.0 / np.tanh(x) - x / np.sinh(x) ** 2
            )
    return g, dg


@register_jitable
def softabs_divided_differences(lam: np.ndarray, g: np.ndarray, dg: np.ndarray) -> np.ndarray:
    r"""Divided differences ``D_ij = (g(λ_i) - g(λ_j)) / (λ_i - λ_j)`` of the SoftAbs map.

    Parameters
    ----------
    lam
        Eigenvalues ``λ``.
    g, dg
        :func:`softabs_values` of ``lam``.

    Returns
    -------
    numpy.ndarray
        ``D``, with the limit ``(g'(λ_i) + g'(λ_j)) / 2`` on the diagonal and for near-equal
        pairs.

    Notes
    -----
    The derivative of a spectral function ``G = Q g(Λ) Qᵀ`` is ``dG = Q (D ∘ QᵀdHQ) Qᵀ``
    (Daleckii-Krein). Autodiff through ``eigh`` divides by ``λ_i - λ_j`` and returns NaN at a
    repeated eigenvalue; the limit keeps ``D`` finite and continuous there. The averaged
    derivative has error ``O(|Δλ|²)``, the quotient rounding error ``O(ε/|Δλ|)``; the switch at
    ``|Δλ| ≈ 1e-6 (1 + |λ_i| + |λ_j|)`` balances the two.

    Examples
    --------
    >>> lam = np.array([1.0, 1.0, -2.0])
    >>> D = softabs_divided_differences(lam, *softabs_values(lam, 1.0))
    >>> bool(np.all(np.isfinite(D)))
    True
    """
    n = lam.size
    D = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            dl = lam[i] - lam[j]
            if abs(dl) <= 1e-6 * (1.0 + abs(lam[i]) + abs(lam[j])):
                D[i, j] = 0.5 * (dg[i] + dg[j])
            else:
                D[i, j] = (g[i] - g[j]) / dl
    return D
