"""More univariate closed forms: HalfStudentT, Laplace, Logistic, Gumbel, AsymmetricLaplace.

Each is also covered by the quantile quadrature; the closed form is exact and cheaper (the
quadrature evaluates 64 quantiles per element, HalfStudentT's through ``betaincinv``).

============================  ===================================  ===========
Op                            coordinates                          value
============================  ===================================  ===========
HalfStudentT                  σ, ν                                 [log]
Laplace, Logistic             loc, scale                           [identity]
Gumbel                        loc, scale                           [identity]
AsymmetricLaplace             b, κ, μ                              [identity]
============================  ===================================  ===========
"""

from __future__ import annotations

import math

import numpy as np
from pymc.distributions.continuous import AsymmetricLaplaceRV, HalfStudentTRV
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
