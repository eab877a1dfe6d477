"""More univariate closed forms: HalfStudentT, Laplace, Logistic, Gumbel, AsymmetricLaplace, ...

The first five are also covered by the quantile quadrature; the closed form is exact and
cheaper (the quadrature evaluates 64 quantiles per element, HalfStudentT's through
``betaincinv``). Wald and VonMises have no quantile function in PyMC: without these entries
they took the local rule, as SkewNormal and LogitNormal did.

============================  ===================================  ===========
Op                            coordinates                          value
============================  ===================================  ===========
HalfStudentT                  σ, ν                                 [log]
Laplace, Logistic             loc, scale                           [identity]
Gumbel                        loc, scale                           [identity]
AsymmetricLaplace             b, κ, μ                              [identity]
Wald                          μ, λ (α: the support's edge)         [log, α = 0]
VonMises                      μ, κ                                 [circular]
SkewNormal                    μ, σ, α (α's terms: Gauss-Hermite)   [identity]
LogitNormal (by name)         μ, σ                                 [identity]
Kumaraswamy                   a, b                                 (observed only)
============================  ===================================  ===========

SkewNormal's α terms are integrals of ``(φ/Φ)²`` with no elementary closed form; they are a
fixed 48-node Gauss-Hermite rule (``special.skew_normal_mills_moments``), deterministic, a
graph of α, and within 1e-15 of ``scipy.integrate.quad`` for α in [−20, 20]. LogitNormal is a
``CustomDist``: PyMC builds a new Op class for every variable, so its entry is registered by
class name and inner graph (``registry.register_symbolic``).

Distributions on an interval (Uniform, Pareto, Triangular, TruncatedNormal), whose free values
PyMC holds under its interval transform, are in ``bounded.py``. Left to the quadrature or the
local rule, for want of an exact entry: a free Kumaraswamy value (its ``logodds``
coordinate, whose terms are Beta-function combinations with poles at b = 1, 2 in each term) and
ExGaussian (its ν terms are integrals of ``φ/Φ`` whose Gaussian and exponential parts need
different rules as ν/σ ranges over orders of magnitude).
"""

from __future__ import annotations

import math

import numpy as np
import pytensor.tensor as pt
from pymc.distributions.continuous import (
    AsymmetricLaplaceRV,
    HalfStudentTRV,
    KumaraswamyRV,
    SkewNormalRV,
)
from pymc.distributions.continuous import WaldRV as ShiftedWaldRV
from pymc.distributions.custom import CustomSymbolicDistRV
from pytensor.scalar.math import Sigmoid
from pytensor.tensor.basic import get_underlying_scalar_constant_value
from pytensor.tensor.elemwise import DimShuffle, Elemwise
from pytensor.tensor.exceptions import NotScalarConstantError
from pytensor.tensor.random import basic as prb

from pymc_fisher.fisher.closed_form import extend, location_scale, log_scale_family
from pymc_fisher.fisher.registry import Information, register, register_symbolic, unsupported
from pymc_fisher.fisher.special import skew_normal_mills_moments, student_t_nu_information

__all__: list[str] = []


@register(HalfStudentTRV)
def _half_student_t(params, value, coordinate):
    """HalfStudentT as ``z = σ|t|``, t ~ StudentT(ν).

    log z − log σ = log|t| has location information ``2ν/(ν + 3)`` (StudentT's ``I_σσ σ²``);
    ν's blocks are StudentT's, and ``I_φν = −σ I_σν``.
    """
    nu, sigma = params
    a = 2 * nu / (nu + 3)
    nu_sigma = -2 / (sigma * (nu + 1) * (nu + 3))
    info = log_scale_family(value, coordinate, sigma, a, "HalfStudentT")
    cross = {len(info.coords) - 1: nu_sigma}
    if value is not None:
        cross[0] = 2 / ((nu + 1) * (nu + 3))
    return extend(info, nu, student_t_nu_information(nu), cross)


@register(prb.LaplaceRV)
def _laplace(params, value, coordinate):
    # s_μ = sign(z)/b, s_b = (|z| − 1)/b with z = (x − μ)/b ~ Laplace(0, 1)
    loc, scale = params
    return location_scale(value, coordinate, loc, scale, 1 / scale**2, 1 / scale**2, "Laplace")


@register(prb.LogisticRV)
def _logistic(params, value, coordinate):
    # E[(2σ(z) − 1)²] = 1/3; E[(z(2σ(z) − 1) − 1)²] = (π² + 3)/9 for z ~ Logistic(0, 1)
    loc, scale = params
    return location_scale(
        value,
        coordinate,
        loc,
        scale,
        1 / (3 * scale**2),
        (math.pi**2 + 3) / (9 * scale**2),
        "Logistic",
    )


@register(prb.GumbelRV)
def _gumbel(params, value, coordinate):
    """Gumbel (maximum): z = (x − μ)/β, w = e^(−z) ~ Exp(1).

    ``s_μ = (1 − w)/β``, ``s_β = (z(1 − w) − 1)/β``, so ``I_μμ = 1/β²``,
    ``I_ββ = ((1 − γ)² + π²/6)/β²`` and ``I_μβ = −(1 − γ)/β²``.
    """
    loc, scale = params
    g = 1 - np.euler_gamma
    mm, ss, ms = 1 / scale**2, (g**2 + math.pi**2 / 6) / scale**2, -g / scale**2
    if value is None:
        return Information((loc, scale), [[mm, ms], [None, ss]])
    if coordinate != "identity":
        raise unsupported("Gumbel", coordinate)
    # the value enters as x − μ: I_xx = I_μμ, I_xμ = −I_μμ, I_xβ = −I_μβ
    return Information((value, loc, scale), [[mm, -mm, -ms], [None, mm, ms], [None, None, ss]])


@register(AsymmetricLaplaceRV)
def _asymmetric_laplace(params, value, coordinate):
    """AsymmetricLaplace(b, κ, μ), with d = x − μ.

    P(d > 0) = 1/(1 + κ²); u = bκd (d > 0) or u = −bd/κ (d < 0) is standard exponential.
    ``s_μ = bκ`` or ``−b/κ``, ``s_b = (1 − u)/b``, ``s_κ = −c ∓ u/κ`` with
    ``c = (κ² − 1)/(κ(κ² + 1))``, so ``I_μμ = b²``, ``I_bb = 1/b²``, ``I_κκ = 2/κ² − c²``,
    ``I_μκ = −2b/(1 + κ²)``, ``I_bκ = −c/b``, ``I_μb = 0``. (The log-density has a kink at μ,
    so the per-draw Hessian misses I_μμ: only ``E[s sᵀ]`` checks it.)
    """
    b, kappa, mu = params
    c = (kappa**2 - 1) / (kappa * (kappa**2 + 1))
    mm, bb, kk = b**2, 1 / b**2, 2 / kappa**2 - c**2
    mk, bk = -2 * b / (1 + kappa**2), -c / b
    if value is None:
        return Information((b, kappa, mu), [[bb, bk, None], [None, kk, mk], [None, None, mm]])
    if coordinate != "identity":
        raise unsupported("AsymmetricLaplace", coordinate)
    # the value enters as x − μ: I_xx = I_μμ, I_xμ = −I_μμ, I_xκ = −I_μκ, I_xb = −I_μb = 0
    return Information(
        (value, b, kappa, mu),
        [[mm, None, -mk, -mm], [None, bb, bk, None], [None, None, kk, mk], [None, None, None, mm]],
    )


def _is_zero(x) -> bool:
    if isinstance(x, float):
        return x == 0.0
    try:
        return float(get_underlying_scalar_constant_value(x)) == 0.0
    except NotScalarConstantError:
        return False


@register(ShiftedWaldRV, prb.WaldRV)
def _wald(params, value, coordinate):
    """Wald (inverse Gaussian) ``IG(μ, λ)`` shifted by α (Chhikara & Folks 1989, ch. 5).

    ``I_μμ = λ/μ³``, ``I_λλ = 1/(2λ²)``, ``I_μλ = 0``; α is the support's edge, not a regular
    parameter, so not a coordinate. In the log coordinate φ = log z (α = 0 only), with
    ``log p(φ) = ½ log λ − φ/2 − λz/(2μ²) + λ/μ − λ/(2z)`` and ``E[z] = μ``,
    ``E[1/z] = 1/μ + 1/λ``: ``I_φφ = λ/μ + ½``, ``I_φμ = −λ/μ²``, ``I_φλ = −1/(2λ)``.
    """
    # PyMC's Op takes (μ, λ, α); PyTensor's (μ, λ), unshifted
    mu, lam = params[:2]
    alpha = params[2] if len(params) > 2 else 0.0
    mm, ll = lam / mu**3, 1 / (2 * lam**2)
    if value is None:
        return Information((mu, lam), [[mm, None], [None, ll]])
    if coordinate != "log" or not _is_zero(alpha):
        raise unsupported("Wald (shifted by alpha)" if coordinate == "log" else "Wald", coordinate)
    return Information(
        (value, mu, lam),
        [[lam / mu + 0.5, -lam / mu**2, -1 / (2 * lam)], [None, mm, None], [None, None, ll]],
    )


@register(prb.VonMisesRV)
def _von_mises(params, value, coordinate):
    """VonMises(μ, κ): ``log p = κ cos(z − μ) − log(2π I₀(κ))``.

    With ``A = I₁(κ)/I₀(κ) = E[cos(z − μ)]``: ``I_μμ = κA`` and ``I_κκ = Var cos(z − μ) =
    1 − A/κ − A²`` (= A′(κ)), ``I_μκ = 0`` by symmetry. The value enters as ``z − μ``, held as
    it is by PyMC's circular transform (no log-Jacobian). Bessel functions as PyMC's own
    log-density uses them: finite for κ below about 700.
    """
    mu, kappa = params
    a = pt.i1(kappa) / pt.i0(kappa)
    mm, kk = kappa * a, 1 - a / kappa - a**2
    if value is None:
        return Information((mu, kappa), [[mm, None], [None, kk]])
    if coordinate not in ("identity", "CircularTransform"):
        raise unsupported("VonMises", coordinate)
    return Information((value, mu, kappa), [[mm, -mm, None], [None, mm, None], [None, None, kk]])


def _is_logit_normal(op: object) -> bool:
    """Whether a ``CustomSymbolicDistRV`` named LogitNormal is PyMC's: ``sigmoid(Normal(μ, σ))``.

    Its inner graph's inputs are ``(size, μ, σ, rng)`` and one output is ``sigmoid(normal_rv(rng,
    size, μ, σ))`` (μ and σ expanded to the size's rank when it is given).
    """
    fgraph = getattr(op, "fgraph", None)
    if not isinstance(op, CustomSymbolicDistRV) or fgraph is None or len(fgraph.inputs) != 4:
        return False
    for out in fgraph.outputs:
        node = out.owner
        if node is None or not isinstance(node.op, Elemwise):
            continue
        if not isinstance(node.op.scalar_op, Sigmoid):
            continue
        inner = node.inputs[0].owner
        return (
            inner is not None
            and isinstance(inner.op, prb.NormalRV)
            and [_unbroadcast(p) for p in inner.op.dist_params(inner)] == list(fgraph.inputs[1:3])
        )
    return False


def _unbroadcast(x):
    """``x`` without the ``DimShuffle``s (ExpandDims) PyMC adds when the variable has a size."""
    while x.owner is not None and isinstance(x.owner.op, DimShuffle):
        x = x.owner.inputs[0]
    return x


@register_symbolic("LogitNormal", _is_logit_normal)
def _logit_normal(params, value, coordinate):
    """LogitNormal(μ, σ): ``y = logit(x) ~ Normal(μ, σ)``.

    PyMC gives it no default transform, so a free value is held as x itself (``identity``). With
    ``J = dy/dx = 1/(x(1 − x)) = 2 + eʸ + e⁻ʸ``, ``log p(x) = −(y − μ)²/(2σ²) − log σ + log J``
    and

    ``−∂²ₓ log p = J²/σ² + (y − μ)(eʸ − e⁻ʸ)J/σ² − (1 + eʸ)² − (1 + e⁻ʸ)²``.

    Gaussian moments ``Mₖ = E[eᵏʸ] = exp(kμ + k²σ²/2)`` and Stein's identity
    ``E[(y − μ) g(y)] = σ² E[g′(y)]`` give

    ``I_xx = (M₂ + 4M₁ + 6 + 4M₋₁ + M₋₂)/σ² + M₂ + M₋₂ − 2``,
    ``I_xμ = −E[J]/σ² = −(2 + M₁ + M₋₁)/σ²``, ``I_xσ = −2E[(y − μ)J]/σ³ = −2(M₁ − M₋₁)/σ``,

    ``I_xx`` a sum of positive terms once ``M₂ + M₋₂ − 2`` is written as
    ``2 expm1(2σ²) cosh 2μ + 4 sinh² μ``. The (μ, σ)
    block is the Normal's. Under a ``logodds`` transform (not PyMC's default) the value is y
    itself, with the Normal's entry.
    """
    mu, sigma = params
    mm, ss = 1 / sigma**2, 2 / sigma**2
    if value is None or coordinate == "logodds":
        return location_scale(value, "identity", mu, sigma, mm, ss, "LogitNormal")
    if coordinate != "identity":
        raise unsupported("LogitNormal", coordinate)
    half = sigma**2 / 2
    m1, m_1 = pt.exp(mu + half), pt.exp(-mu + half)
    m2, m_2 = pt.exp(2 * mu + 4 * half), pt.exp(-2 * mu + 4 * half)
    extra = 2 * pt.expm1(4 * half) * pt.cosh(2 * mu) + 4 * pt.sinh(mu) ** 2
    x_x = (m2 + 4 * m1 + 6 + 4 * m_1 + m_2) / sigma**2 + extra
    x_mu = -(2 + m1 + m_1) / sigma**2
    x_sigma = -2 * (m1 - m_1) / sigma
    return Information(
        (value, mu, sigma), [[x_x, x_mu, x_sigma], [None, mm, None], [None, None, ss]]
    )


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


@register(SkewNormalRV)
def _skew_normal(params, value, coordinate):
    """SkewNormal(μ, σ, α) (Azzalini 1985, Scand. J. Statist. 12:171): ``z = (x − μ)/σ``.

    With ``w = φ(αz)/Φ(αz)``: ``s_μ = (z − αw)/σ``, ``s_σ = (z² − 1 − αzw)/σ``, ``s_α = zw``.
    The terms linear in w are Gaussian integrals, ``E[zᵏ w] = (2/√(2π)) r^(−k−1) E[Nᵏ]``
    (``r = √(1 + α²)``); with ``δ = α/r``, ``E z = √(2/π) δ``, ``E z³ = √(2/π) δ(3 − δ²)``,
    and ``aₖ = E[zᵏ w²]`` (``special.skew_normal_mills_moments``, a fixed Gauss-Hermite rule
    good to 1e-15):

    ``σ²I_μμ = 1 + α²a₀``, ``σ²I_μσ = E z³ − E z − α√(2/π)(2/r³ − 1/r) + α²a₁``,
    ``σ²I_σσ = 2 + α²a₂``, ``σI_μα = √(2/π)/r³ − αa₁``, ``σI_σα = −αa₂``, ``I_αα = a₂``.

    The value enters as ``x − μ``: its coordinate (``identity``, PyMC's default) has ``−s_μ``.
    """
    mu, sigma, alpha = params
    a0, a1, a2 = skew_normal_mills_moments(alpha)
    r = pt.sqrt(1 + alpha**2)
    delta = alpha / r
    ez, ez3 = _SQRT_2_OVER_PI * delta, _SQRT_2_OVER_PI * delta * (3 - delta**2)
    s2 = sigma**2
    mm = (1 + alpha**2 * a0) / s2
    ms = (ez3 - ez - alpha * _SQRT_2_OVER_PI * (2 / r**3 - 1 / r) + alpha**2 * a1) / s2
    ss = (2 + alpha**2 * a2) / s2
    ma = (_SQRT_2_OVER_PI / r**3 - alpha * a1) / sigma
    sa = -alpha * a2 / sigma
    aa = a2
    if value is None:
        return Information((mu, sigma, alpha), [[mm, ms, ma], [None, ss, sa], [None, None, aa]])
    if coordinate != "identity":
        raise unsupported("SkewNormal", coordinate)
    return Information(
        (value, mu, sigma, alpha),
        [
            [mm, -mm, -ms, -ma],
            [None, mm, ms, ma],
            [None, None, ss, sa],
            [None, None, None, aa],
        ],
    )


_DIVIDED_BELOW = 0.5  # |h| below which a divided difference is a Gauss-Legendre integral
_GL_T, _GL_W = np.polynomial.legendre.leggauss(8)


def _divided(f_prime, f, x0: float, h):
    """``(f(x0 + h) − f(x0))/h`` without cancellation: ``∫₀¹ f′(x0 + hτ) dτ`` for small |h|.

    The 8-node Gauss-Legendre rule of the integral is exact to far below rounding for ψ and ψ′
    at ``x0 = 2``, ``|h| < 0.5`` (their nearest pole, at 0, is 1.5 away); the direct quotient
    loses ``log₁₀(1/|h|)`` digits, at most 0.3 above the switch. Each branch is evaluated at an
    ``h`` clipped into its own range, so neither is 0/0 where it is not selected.
    """
    small = pt.abs(h) < _DIVIDED_BELOW
    h_in = pt.switch(small, h, 0.0)
    integral = sum(
        float(w) / 2 * f_prime(x0 + h_in * (float(t) + 1) / 2)
        for t, w in zip(_GL_T, _GL_W, strict=True)
    )
    h_out = pt.switch(small, _DIVIDED_BELOW, h)
    direct = (f(x0 + h_out) - f(pt.as_tensor(x0, dtype="float64"))) / h_out
    return pt.switch(small, integral, direct)


@register(KumaraswamyRV)
def _kumaraswamy(params, value, coordinate):
    """Kumaraswamy(a, b), ``p(x) = ab x^(a−1) (1 − x^a)^(b−1)``, ``u = x^a ~ Beta(1, b)``.

    Jones (2009), Stat. Methodol. 6:70.

    ``I_bb = 1/b²``, ``I_ab = −(ψ(b + 1) − ψ(2))/(a(b − 1))``,
    ``I_aa = [1 + b/(b − 2) ((ψ(b) − ψ(2))² − (ψ′(2) − ψ′(b)))]/a²``, from
    ``∫ u^(s−1)(1 − u)^(t−1) logᵐ u du`` (derivatives of the Beta function). The singularities
    at b = 1 and b = 2 are removable: with ``A(h) = (ψ(2 + h) − ψ(2))/h`` and
    ``B(h) = (ψ′(2 + h) − ψ′(2))/h`` (``_divided``), ``I_ab = −A(b − 1)/a`` and
    ``I_aa = [1 + b(hA(h)² − B(h))]/a²`` at ``h = b − 2``.

    Observed only: a free value (PyMC's ``logodds`` coordinate) raises ``NoClosedFormError``
    and takes the quantile quadrature.
    """
    a, b = params
    if value is not None:
        raise unsupported("Kumaraswamy", coordinate)

    def trigamma_(x):
        return pt.polygamma(1, x)

    def tetragamma(x):
        return pt.polygamma(2, x)

    h = b - 2
    a_h = _divided(trigamma_, pt.digamma, 2.0, h)
    b_h = _divided(tetragamma, trigamma_, 2.0, h)
    a_a = (1 + b * (h * a_h**2 - b_h)) / a**2
    a_b = -_divided(trigamma_, pt.digamma, 2.0, b - 1) / a
    return Information((a, b), [[a_a, a_b], [None, 1 / b**2]])
