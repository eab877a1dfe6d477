"""Closed-form Fisher information per distribution, keyed by the random variable's Op.

An entry maps a distribution's parameters (and, for a free variable, the coordinate θ holds its
value in) to the expected information ``I = E[−∇² log p]`` over a list of *coordinates*,
elementwise over the batch. The pull-back ``Σᵢ Jᵢᵀ Iᵢ Jᵢ`` through the graph is done by
``expected.py``; entries only know their own distribution.

Coordinates are graphs: usually the parameters themselves, but an entry may pick a better one,
e.g. the logit η when ``p = sigmoid(η)``, so that ``I_ηη = p(1 − p)`` stays finite where
``1/(p(1 − p))`` and ``(dp/dη)²`` would overflow and underflow.

The value coordinate (first, when ``value`` is given) is the free variable as θ holds it:
``"identity"`` (the value itself), ``"log"`` (log of a positive value) or ``"logodds"``. Its
information is that of the density of the θ coordinate, log-Jacobian included (the log of a
Gamma(α, θ) variable has ``I_φφ = α``), finite wherever the distribution is proper.

The registries themselves live in ``registry.py``. Distributions that are not elementwise
(MvNormal) cannot be written as an ``Information``; they register a whole pull-back instead
(``register_pullback``, ``pullback_for``): a function of the
parameters, the value, the coordinate, a ``tangents_fn(graphs)`` giving each graph's Jacobian
batch ``(size, *graph.shape)`` (``None`` where constant in θ), θ's size and the batch shape,
returning the ``(size, size)`` information summed over the batch.

MvStudentT, Dirichlet, Categorical and ZeroSumNormal are pull-backs in ``multivariate.py``, CAR
and ICAR in ``spatial.py``; random walks and AR in ``timeseries.py``; more univariate entries
(SkewNormal and LogitNormal among them) in ``univariate.py`` and, for distributions on an
interval (Uniform, Pareto, Triangular, TruncatedNormal), ``bounded.py``. Factors the registry
does not cover take the quantile quadrature (``quadrature.py``), the summed support
(``enumeration.py``) or the local rule (``local.py``); ``expected.py`` picks the rule.

Entries and coordinates (value coordinate in brackets, for a free variable):

============================  ===================================  ===========
Op                            coordinates                          value
============================  ===================================  ===========
Normal, Cauchy                loc, scale                           [identity]
StudentT                      loc, scale, ν                        [identity]
HalfNormal, HalfCauchy        scale                                [log]
Exponential                   scale (= 1/λ)                        [log]
LogNormal                     μ, σ                                 [log]
Gamma                         α, scale (= 1/β)                     [log]
InverseGamma                  α, β                                 [log]
Beta                          α, β                                 [logodds]
Weibull                       α, β                                 [log]
Poisson                       μ, or η = log μ                      (discrete)
Bernoulli, Binomial           p, or η = logit p                    (discrete)
NegativeBinomial              n, p, or n, η = logit p              (discrete)
MvNormal (pull-back)          μ, Σ                                 [identity]
MvStudentT (pull-back)        ν, μ, Σ (the scale matrix)           [identity]
CAR (pull-back)               μ, α, τ                              [identity]
ICAR (pull-back)              σ, zero_sum_stdev                    [identity]
Categorical (pull-back)       p                                    (discrete)
Dirichlet (pull-back)         α                                    [simplex]
ZeroSumNormal (pull-back)     σ                                    [zerosum]
============================  ===================================  ===========
"""

from __future__ import annotations

import math

import numpy as np
import pytensor.tensor as pt
from pymc.distributions.continuous import FlatRV, HalfCauchyRV, HalfFlatRV, WeibullBetaRV
from pytensor.scalar.math import Sigmoid
from pytensor.tensor.elemwise import Elemwise
from pytensor.tensor.random import basic as prb
from pytensor.tensor.variable import TensorVariable

from pymc_fisher.fisher.registry import (
    Entry,
    Information,
    PullBack,
    closed_form,
    has_closed_form,
    pullback_for,
    register,
    register_pullback,
    unsupported,
)
from pymc_fisher.fisher.special import (
    negative_binomial_dispersion,
    student_t_nu_information,
    trigamma,
)

__all__ = [
    "Information",
    "PullBack",
    "closed_form",
    "has_closed_form",
    "negative_binomial_dispersion",
    "pullback_for",
    "register",
    "register_pullback",
    "student_t_nu_information",
    "trigamma",
]


def logit_of(p: TensorVariable) -> TensorVariable | None:
    """η if ``p`` is the graph ``sigmoid(η)``, else ``None``."""
    owner = p.owner
    if (
        owner is not None
        and isinstance(owner.op, Elemwise)
        and isinstance(owner.op.scalar_op, Sigmoid)
    ):
        return owner.inputs[0]
    return None


def log_of(x: TensorVariable) -> TensorVariable | None:
    """η if ``x`` is the graph ``exp(η)``, else ``None``."""
    owner = x.owner
    if (
        owner is not None
        and isinstance(owner.op, Elemwise)
        and type(owner.op.scalar_op).__name__ == "Exp"
    ):
        return owner.inputs[0]
    return None


def location_scale(
    value: TensorVariable | None,
    coordinate: str | None,
    loc: TensorVariable,
    scale: TensorVariable,
    loc_info: Entry,
    scale_info: Entry,
    op_name: str,
) -> Information:
    """Build a symmetric location-scale family: ``I_loc,scale = 0``; value enters as ``z − loc``."""
    if value is None:
        return Information((loc, scale), [[loc_info, None], [None, scale_info]])
    if coordinate != "identity":
        raise unsupported(op_name, coordinate)
    neg = None if loc_info is None else -loc_info
    return Information(
        (value, loc, scale),
        [[loc_info, neg, None], [neg, loc_info, None], [None, None, scale_info]],
    )


def log_scale_family(
    value: TensorVariable | None,
    coordinate: str | None,
    scale: TensorVariable,
    location_information: float,
    op_name: str,
) -> Information:
    """Build a positive scale family ``z = scale · u``.

    In the log coordinate φ = log z = log scale + log u is a location family, so with ``a`` the
    location information of log u: ``I_φφ = a``, ``I_φ,scale = −a/scale``, ``I_scale = a/scale²``.
    """
    a = location_information
    scale_info = a / scale**2
    if value is None:
        return Information((scale,), [[scale_info]])
    if coordinate != "log":
        raise unsupported(op_name, coordinate)
    return Information(
        (value, scale), [[pt.as_tensor(a, dtype="float64"), -a / scale], [None, scale_info]]
    )


@register(prb.NormalRV)
def _normal(params, value, coordinate):
    mu, sigma = params
    return location_scale(value, coordinate, mu, sigma, 1 / sigma**2, 2 / sigma**2, "Normal")


@register(prb.HalfNormalRV)
def _half_normal(params, value, coordinate):
    _loc, sigma = params  # the support starts at loc: not a regular parameter, not a coordinate
    return log_scale_family(value, coordinate, sigma, 2.0, "HalfNormal")


@register(prb.ExponentialRV)
def _exponential(params, value, coordinate):
    (scale,) = params
    return log_scale_family(value, coordinate, scale, 1.0, "Exponential")


@register(prb.LogNormalRV)
def _log_normal(params, value, coordinate):
    mu, sigma = params
    if value is None:
        return Information((mu, sigma), [[1 / sigma**2, None], [None, 2 / sigma**2]])
    if coordinate != "log":
        raise unsupported("LogNormal", coordinate)
    # log z ~ Normal(mu, sigma)
    return location_scale(value, "identity", mu, sigma, 1 / sigma**2, 2 / sigma**2, "LogNormal")


@register(prb.GammaRV)
def _gamma(params, value, coordinate):
    alpha, scale = params
    a_a, a_s, s_s = trigamma(alpha), 1 / scale, alpha / scale**2
    if value is None:
        return Information((alpha, scale), [[a_a, a_s], [None, s_s]])
    if coordinate != "log":
        raise unsupported("Gamma", coordinate)
    # log p(φ) = αφ − e^φ/θ − α log θ − log Γ(α)
    return Information(
        (value, alpha, scale),
        [[alpha, pt.as_tensor(-1.0), -alpha / scale], [None, a_a, a_s], [None, None, s_s]],
    )


@register(FlatRV, HalfFlatRV)
def _flat(params, value, coordinate):
    # a constant log-density (HalfFlat's log coordinate adds φ, linear): zero information
    return Information((), [])


@register(prb.PoissonRV)
def _poisson(params, value, coordinate):
    (mu,) = params
    eta = log_of(mu)
    if eta is not None:  # log link: I_ηη = μ
        return Information((eta,), [[mu]])
    return Information((mu,), [[1 / mu]])


def _bernoulli_trials(p: TensorVariable, trials: TensorVariable | float) -> Information:
    eta = logit_of(p)
    if eta is not None:  # logit link: I_ηη = n p (1 − p)
        return Information((eta,), [[trials * p * (1 - p)]])
    return Information((p,), [[trials / (p * (1 - p))]])


@register(prb.BernoulliRV)
def _bernoulli(params, value, coordinate):
    (p,) = params
    return _bernoulli_trials(p, 1.0)


@register(prb.BinomialRV)
def _binomial(params, value, coordinate):
    n, p = params  # n is a count: not a coordinate
    return _bernoulli_trials(p, n)


def extend(
    info: Information, coord: TensorVariable, diag: Entry, cross: dict[int, Entry]
) -> Information:
    """``info`` with one more coordinate; ``cross[k]`` is its information with ``coords[k]``."""
    matrix = [[*row, cross.get(i)] for i, row in enumerate(info.matrix)]
    matrix.append([cross.get(i) for i in range(len(info.coords))] + [diag])
    return Information((*info.coords, coord), matrix)


@register(prb.StudentTRV)
def _student_t(params, value, coordinate):
    nu, mu, sigma = params
    # Lange, Little & Taylor (1989), JASA 84:881, appendix; ν enters only through |z − μ|, so
    # its information with the location (and the value) is zero by symmetry.
    loc = (nu + 1) / ((nu + 3) * sigma**2)
    scale = 2 * nu / ((nu + 3) * sigma**2)
    nu_scale = -2 / (sigma * (nu + 1) * (nu + 3))
    info = location_scale(value, coordinate, mu, sigma, loc, scale, "StudentT")
    return extend(info, nu, student_t_nu_information(nu), {len(info.coords) - 1: nu_scale})


@register(prb.CauchyRV)
def _cauchy(params, value, coordinate):
    loc, scale = params
    return location_scale(
        value, coordinate, loc, scale, 1 / (2 * scale**2), 1 / (2 * scale**2), "Cauchy"
    )


@register(HalfCauchyRV, prb.HalfCauchyRV)
def _half_cauchy(params, value, coordinate):
    # PyMC's Op takes (beta,), PyTensor's (loc, scale): loc is the support's edge, not a coordinate.
    # log|u| for u ~ Cauchy(0, 1) has location information E[4u²/(1 + u²)²] = 1/2.
    return log_scale_family(value, coordinate, params[-1], 0.5, "HalfCauchy")


@register(prb.InvGammaRV)
def _inverse_gamma(params, value, coordinate):
    alpha, beta = params  # density β^α z^(−α−1) e^(−β/z) / Γ(α)
    a_a, a_b, b_b = trigamma(alpha), -1 / beta, alpha / beta**2
    if value is None:
        return Information((alpha, beta), [[a_a, a_b], [None, b_b]])
    if coordinate != "log":
        raise unsupported("InverseGamma", coordinate)
    # log p(φ) = α log β − log Γ(α) − αφ − β e^(−φ);  E[β e^(−φ)] = α, E[e^(−φ)] = α/β
    return Information(
        (value, alpha, beta),
        [[alpha, pt.as_tensor(1.0), -alpha / beta], [None, a_a, a_b], [None, None, b_b]],
    )


@register(prb.BetaRV)
def _beta(params, value, coordinate):
    alpha, beta = params
    both = trigamma(alpha + beta)
    a_a, a_b, b_b = trigamma(alpha) - both, -both, trigamma(beta) - both
    if value is None:
        return Information((alpha, beta), [[a_a, a_b], [None, b_b]])
    if coordinate != "logodds":
        raise unsupported("Beta", coordinate)
    # z = sigmoid(φ): log p(φ) = α log z + β log(1 − z) − log B(α, β), −∂²φ = (α + β) z(1 − z)
    total = alpha + beta
    return Information(
        (value, alpha, beta),
        [
            [alpha * beta / (total + 1), -beta / total, alpha / total],
            [None, a_a, a_b],
            [None, None, b_b],
        ],
    )


@register(WeibullBetaRV, prb.WeibullRV)
def _weibull(params, value, coordinate):
    # PyMC's Op takes (α, β); PyTensor's WeibullRV (α,) with scale 1 (then β is a constant).
    alpha, beta = (params[-2], params[-1]) if len(params) >= 2 else (params[0], pt.as_tensor(1.0))
    # log z = log β + w/α with w = log u, u ~ Exp(1), a Gumbel(min) location-scale family:
    # E[u log u] = 1 − γ, E[u log² u] = (1 − γ)² + π²/6 − 1.
    g = 1 - np.euler_gamma
    a_a = (g**2 + math.pi**2 / 6) / alpha**2
    a_b, b_b = -g / beta, alpha**2 / beta**2
    if value is None:
        return Information((alpha, beta), [[a_a, a_b], [None, b_b]])
    if coordinate != "log":
        raise unsupported("Weibull", coordinate)
    return Information(
        (value, alpha, beta),
        [[alpha**2, pt.as_tensor(g), -(alpha**2) / beta], [None, a_a, a_b], [None, None, b_b]],
    )


# The dispersion I_nn is a trapezoidal quadrature (special.negative_binomial_dispersion): its
# error, about exp(−π²/h) for an integrand analytic in the strip |Im u| < π/2, measured against
# the exact series: < 1e-11 relative for n in [1e-2, 1e3], μ in [1e-3, 1e3] (128 nodes); the
# tests assert 1e-9 on a grid of that box.
@register(prb.NegBinomialRV)
def _negative_binomial(params, value, coordinate):
    n, p = params  # PyMC: n = alpha, p = sigmoid(log alpha − log mu)
    eta = logit_of(p)
    if eta is not None:  # logit coordinate: I_ηη = n(1 − p), I_nη = −(1 − p)
        q = pt.sigmoid(-eta)
        n_n = negative_binomial_dispersion(n, pt.exp(-eta))
        return Information((n, eta), [[n_n, -q], [None, n * q]])
    n_n = negative_binomial_dispersion(n, (1 - p) / p)
    return Information((n, p), [[n_n, -1 / p], [None, n / (p**2 * (1 - p))]])
