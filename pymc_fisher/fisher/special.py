"""Special functions for the closed forms, from elementary PyTensor operations only.

Elementary so that every one compiles in Numba mode without object-mode fallbacks and has a
gradient (the sampler differentiates the metric once more).
"""

from __future__ import annotations

import math

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor.variable import TensorVariable

__all__ = [
    "mv_student_t_nu_information",
    "negative_binomial_dispersion",
    "skew_normal_mills_moments",
    "student_t_nu_information",
    "trigamma",
]


# ψ′(y) ~ 1/y + 1/(2y²) + Σ_k B_2k / y^(2k+1) (Abramowitz & Stegun 6.4.12), B_2 ... B_12
_TRIGAMMA_SERIES = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730)
_TRIGAMMA_SHIFT = 8


def trigamma(x: TensorVariable) -> TensorVariable:
    """ψ′(x) for ``x > 0`` from elementary operations only.

    PyTensor's ``polygamma`` has no Numba implementation (the default backend falls back to
    object mode, with a warning, for it and for its derivative). Here
    ``ψ′(x) = Σ_{k<8} 1/(x + k)² + ψ′(x + 8)`` and the asymptotic series at ``y = x + 8 ≥ 8``,
    whose first omitted term ``(7/6)/y¹⁵`` bounds the error by 3e-14 (relative 3e-13); its
    derivative is that of the same smooth expression.
    """
    head = sum(1 / (x + k) ** 2 for k in range(_TRIGAMMA_SHIFT))
    y = x + _TRIGAMMA_SHIFT
    inv2 = 1 / y**2
    tail = 0.0
    for coefficient in reversed(_TRIGAMMA_SERIES):
        tail = (tail + coefficient) * inv2
    return head + 1 / y + inv2 / 2 + tail / y


# I_νν = Σ_n c_n ν⁻ⁿ (n = 4 ... 11) for large ν; see student_t_nu_information
_STUDENT_T_NU_SERIES = (3.5, -13.0, 39.5, -119.0, 363.5, -1101.0, 3279.5, -9763.0)
_STUDENT_T_NU_SWITCH = 200.0


def student_t_nu_information(nu: TensorVariable) -> TensorVariable:
    """``I_νν = ¼[ψ′(ν/2) − ψ′((ν + 1)/2)] − (ν + 5)/(2ν(ν + 1)(ν + 3))`` without cancellation.

    Notes
    -----
    Both terms are about ``1/(2ν²)`` and the difference about ``3.5/ν⁴``, so the direct form
    loses ``log₁₀(ν³)`` digits. Above ν = 200 use the expansion in ``u = 1/ν``: with
    ``ψ′(x) − ψ′(x + ½) = 2ψ′(x) − 4ψ′(2x)`` (duplication) and ψ′'s asymptotic series,
    ``¼[…] = u²/2 + Σ_k B_2k (4ᵏ − 1) u^(2k+1)``, and the rational term is
    ``½u² Σ_n (2(−1)ⁿ − (−3)ⁿ) uⁿ``; their difference starts ``3.5u⁴ − 13u⁵ + 39.5u⁶``. The
    first omitted term is below 1e-14 relative at ν = 200, where the direct form is good to
    about 1e-8.
    """
    direct = (trigamma(nu / 2) - trigamma((nu + 1) / 2)) / 4 - (nu + 5) / (
        2 * nu * (nu + 1) * (nu + 3)
    )
    u = 1 / nu
    series = 0.0
    for coefficient in reversed(_STUDENT_T_NU_SERIES):
        series = (series + coefficient) * u
    return pt.switch(nu > _STUDENT_T_NU_SWITCH, series * u**3, direct)


_REMAINDER_SWITCH = 16.0


def _trigamma_remainder(x: TensorVariable) -> TensorVariable:
    """``g(x) = ψ′(x) − 1/x − 1/(2x²)``, positive and decreasing, without cancellation.

    Above x = 16 the asymptotic series ``Σ_k B_2k / x^(2k+1)`` (first omitted term relative
    ``7/x¹²`` ≤ 3e-14); below it ``trigamma`` minus the two leading terms, which loses at most
    ``6x²`` ≤ 1.6e3 ulps. Each branch is evaluated at an argument clipped into its own range, so
    neither overflows (nor poisons the gradient) where it is not selected.
    """
    big = pt.maximum(x, _REMAINDER_SWITCH)
    inv2 = 1 / big**2
    series = 0.0
    for coefficient in reversed(_TRIGAMMA_SERIES):
        series = (series + coefficient) * inv2
    small = pt.minimum(x, _REMAINDER_SWITCH)
    direct = trigamma(small) - 1 / small - 1 / (2 * small**2)
    return pt.switch(x > _REMAINDER_SWITCH, series / big, direct)


def mv_student_t_nu_information(nu: TensorVariable, p: TensorVariable) -> TensorVariable:
    """``I_νν`` of a ``p``-variate Student-t with ν degrees of freedom, without cancellation.

    ``I_νν = ¼[ψ′(ν/2) − ψ′((ν + p)/2)] − p(ν + p + 4)/(2ν(ν + p)(ν + p + 2))`` (Lange, Little
    & Taylor 1989, JASA 84:881, appendix B; ``p = 1`` is ``student_t_nu_information``).

    Notes
    -----
    Both terms are about ``p/(2ν²)`` and their difference of order ``p(p + 4)/ν⁴``. Writing
    ``ψ′(x) = 1/x + 1/(2x²) + g(x)`` (``_trigamma_remainder``), the rational parts combine
    exactly into ``p[ν(p + 4) + p(p + 2)]/(2ν²(ν + p)²(ν + p + 2))`` and what is left is
    ``¼[g(ν/2) − g((ν + p)/2)]``: two positive terms, so no cancellation at the top level and
    a result that is never negative. The difference of ``g`` loses about ``log₁₀(ν/p)``
    digits (``g(x) ~ 1/(6x³)`` changes by a relative ``3p/ν`` over the gap).
    """
    rational = p * (nu * (p + 4) + p * (p + 2)) / (2 * nu**2 * (nu + p) ** 2 * (nu + p + 2))
    return rational + (_trigamma_remainder(nu / 2) - _trigamma_remainder((nu + p) / 2)) / 4


NB_NODES = 128


def negative_binomial_dispersion(n: TensorVariable, ratio: TensorVariable) -> TensorVariable:
    """``I_nn = ψ′(n) − E[ψ′(Y + n)]`` for ``Y ~ NegativeBinomial(n, p)``, ``ratio = μ/n``.

    Parameters
    ----------
    n
        The dispersion (PyMC's ``alpha``), positive.
    ratio
        ``μ/n = (1 − p)/p``, positive; broadcasts with ``n``.

    Returns
    -------
    TensorVariable
        ``I_nn`` elementwise, a smooth graph of ``n`` and ``ratio`` (reverse mode works).

    Notes
    -----
    With ``ψ′(x) = ∫₀^∞ t e^(−xt)/(1 − e^(−t)) dt`` and the generating function
    ``E[e^(−tY)] = (1 + ratio (1 − e^(−t)))^(−n)``,

    ``I_nn = ∫₀^∞ t e^(−nt) (1 − E[e^(−tY)]) / (1 − e^(−t)) dt``,

    a positive integrand ``≈ μt`` at 0 and ``≈ t e^(−nt)`` at ∞. After ``t = e^u`` it decays
    double-exponentially on the right and like ``e^(2u)`` on the left; the trapezoidal rule in
    ``u`` (Trefethen & Weideman 2014, SIAM Review 56:385) on ``[log t_lo, log t_hi]`` with
    ``t_lo = 10⁻⁸ / max(1, μ, n)`` (left tail ``< μ t_lo²``, relative ``≲ 10⁻¹⁶``) and
    ``t_hi = 45/n + 1`` (right tail ``< e^(−45)``) converges geometrically in the node count.

    For large ``n`` (the Poisson limit) ``I_nn ≈ (1 − p)/n`` and the information left for ``n``
    once ``p`` (or μ) is accounted for is of order ``μ²/n⁴``: the pull-back's difference loses
    relative accuracy as ``μ/n²`` shrinks (measured: 1e-10 at n = 1e3, μ = 10; 7e-7 at
    n = 1e4, μ = 10; 3e-4 at n = 1e5, μ = 10).
    """
    mu = n * ratio
    ndim = max(n.type.ndim, ratio.type.ndim)
    lo = math.log(1e-8) - pt.log(pt.maximum(pt.maximum(mu, n), 1.0))
    hi = pt.log(45 / n + 1)
    grid = np.linspace(0.0, 1.0, NB_NODES)
    weights = np.full(NB_NODES, 1.0)
    weights[[0, -1]] = 0.5
    grid_t = pt.as_tensor(grid.reshape((NB_NODES,) + (1,) * ndim))
    weights_t = pt.as_tensor(weights.reshape((NB_NODES,) + (1,) * ndim))
    u = lo + (hi - lo) * grid_t
    t = pt.exp(u)
    one_minus_e = -pt.expm1(-t)
    one_minus_pgf = -pt.expm1(-n * pt.log1p(ratio * one_minus_e))
    integrand = t * t * pt.exp(-n * t) * one_minus_pgf / one_minus_e  # the extra t is dt/du
    return (hi - lo) / (NB_NODES - 1) * pt.sum(weights_t * integrand, axis=0)


SKEW_NORMAL_NODES = 48


def skew_normal_mills_moments(alpha: TensorVariable) -> tuple[TensorVariable, ...]:
    """``aₖ = E[Zᵏ w(αZ)²]``, k = 0, 1, 2, for ``Z ~ SkewNormal(0, 1, α)``, ``w = φ/Φ``.

    Returns
    -------
    tuple of TensorVariable
        ``(a₀, a₁, a₂)``, smooth graphs of α (Gauss-Hermite nodes and weights are constants).

    Notes
    -----
    With ``r = √(1 + α²)`` and ``δ = α/r``, the density ``2φ(z)Φ(αz)`` times ``w(αz)²`` is
    ``2φ(z)φ(αz)w(αz) = (2/√(2π)) φ(rz) w(αz)``, so after ``t = rz``

    ``aₖ = 2/(√(2π) r^(k+1)) E[tᵏ w(δt)]``,  ``t ~ Normal(0, 1)``,

    a Gaussian expectation of a function analytic in a strip about the real line whose width
    does not shrink with α (``|δ| < 1``; the poles of ``w`` sit at the complex zeros of Φ, at
    imaginary part ±2.8 or more). ``w(u) = √(2/π)/erfcx(−u/√2)`` has no cancellation or
    overflow at the nodes (``|u| < 10``). A fixed 48-node Gauss-Hermite rule: against
    ``scipy.integrate.quad`` for α in ``{0, ±1e-3, …, ±50}``, 1e-15 relative to ``max aₖ``
    (32 nodes: 6e-13; 24: 4e-11).
    """
    t, weights = np.polynomial.hermite_e.hermegauss(SKEW_NORMAL_NODES)
    weights = weights / weights.sum()
    ndim = alpha.type.ndim
    shape = (SKEW_NORMAL_NODES,) + (1,) * ndim
    t_t = pt.as_tensor(t.reshape(shape))
    w_t = pt.as_tensor(weights.reshape(shape))
    r = pt.sqrt(1 + alpha**2)
    delta = alpha / r
    mills = math.sqrt(2 / math.pi) / pt.erfcx(-delta * t_t / math.sqrt(2))
    front = 2 / (math.sqrt(2 * math.pi) * r)
    return tuple(front / r**k * pt.sum(w_t * t_t**k * mills, axis=0) for k in range(3))
