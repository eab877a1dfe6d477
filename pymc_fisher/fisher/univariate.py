"""More univariate closed forms: HalfStudentT, Laplace, Logistic, Gumbel, AsymmetricLaplace, ...

The first five are also covered by the quantile quadrature; the closed form is exact and
cheaper (the quadrature evaluates 64 quantiles per element, HalfStudentT's through
``betaincinv``). Wald and VonMises have no quantile function in PyMC: without these entries
they took the local rule.

============================  ===================================  ===========
Op                            coordinates                          value
============================  ===================================  ===========
HalfStudentT                  σ, ν                                 [log]
Laplace, Logistic             loc, scale                           [identity]
Gumbel                        loc, scale                           [identity]
AsymmetricLaplace             b, κ, μ                              [identity]
Wald                          μ, λ (α: the support's edge)         [log, α = 0]
VonMises                      μ, κ                                 [circular]
============================  ===================================  ===========

Distributions on an interval (Uniform, Pareto, Triangular, TruncatedNormal), whose free values
PyMC holds under its interval transform, are in ``bounded.py``. Left to the quadrature or the
local rule, for want of an exact entry: Kumaraswamy (its ``logodds`` coordinate),
SkewNormal and ExGaussian (integrals of ``φ/Φ`` with no elementary closed form), LogitNormal
(a ``CustomDist``: PyMC builds a new Op class for every variable, so there is no class to
register).
"""

from __future__ import annotations

import math

import numpy as np
import pytensor.tensor as pt
from pymc.distributions.continuous import AsymmetricLaplaceRV, HalfStudentTRV
from pymc.distributions.continuous import WaldRV as ShiftedWaldRV
from pytensor.tensor.basic import get_underlying_scalar_constant_value
from pytensor.tensor.exceptions import NotScalarConstantError
from pytensor.tensor.random import basic as prb

from pymc_fisher.fisher.closed_form import extend, location_scale, log_scale_family
from pymc_fisher.fisher.registry import Information, register, unsupported
from pymc_fisher.fisher.special import student_t_nu_information

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
