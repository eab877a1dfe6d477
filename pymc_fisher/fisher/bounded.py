"""Closed forms for distributions on an interval: Uniform, Pareto, Triangular, TruncatedNormal.

PyMC holds a free value of these under its interval transform (coordinate
``"Interval"``): ``y = logit((z − a)/(b − a))`` with both bounds, ``y = log(z − a)``
with a lower bound only, ``y = log(b − z)`` with an upper bound only, the bounds being the
distribution's own. The density of ``y`` (log-Jacobian included) has the whole line as its
support, so a bound that moves the support of ``z`` is, in ``y``, an ordinary smooth parameter:
Uniform's ``y`` is standard logistic whatever its bounds, Pareto's ``log(z − m)`` depends on
``m`` only through ``y − log m``, Triangular's ``y`` on ``(a, c, b)`` only through
``γ = (c − a)/(b − a)``.

An observed value is another matter: a bound is the edge of the data's support, the family is
not regular in it (the score's mean is not zero, the likelihood's curvature does not estimate
the information), and it is not a coordinate, as HalfNormal's ``loc`` and Wald's ``α`` are not.
Uniform has no parameter but its bounds: its entry covers fixed bounds (no information) and
raises ``NoClosedFormError`` for bounds that depend on θ, which then take the quantile
quadrature (``quadrature.py``: the square of the constant score ``±1/(b − a)``, deterministic
and finite).

The entries assume PyMC's default transform (the class ``Interval``, bounds as the
distribution's); another transform (or none, as in the constrained space) takes the quadrature.
A free value's extra coordinates: Pareto's ``α, m``, Triangular's ``γ = (c − a)/(b − a)``.

============================  ===================================  ===========
Op                            coordinates                          value
============================  ===================================  ===========
Uniform                       none (bounds fixed)                  [interval]
Pareto                        α (m: the support's edge)            [interval] with α, m
Triangular                    c (lower, upper: the support)        [interval] with γ
TruncatedNormal               μ, σ (bounds fixed)                  [interval]
============================  ===================================  ===========
"""

from __future__ import annotations

import math

import pytensor.tensor as pt
from pymc.distributions.continuous import TruncatedNormalRV
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Constant
from pytensor.graph.traversal import graph_inputs
from pytensor.tensor.random import basic as prb
from pytensor.tensor.variable import TensorVariable

from pymc_fisher.errors import NoClosedFormError
from pymc_fisher.fisher.registry import Information, register, unsupported

__all__ = ["truncated_normal_moments"]

_INTERVAL = "Interval"  # model_graph._coordinate_name of PyMC's default interval transform


def _fixed(x: TensorVariable) -> bool:
    """Whether ``x`` is a constant of θ (its graph's inputs are constants or shared data)."""
    return all(isinstance(v, Constant | SharedVariable) for v in graph_inputs([x]))


@register(prb.UniformRV)
def _uniform(params, value, coordinate):
    """Uniform(a, b): ``z = a + (b − a) σ(y)``, ``log p(y) = log σ(y) + log σ(−y)``.

    The standard logistic, free of a and b: ``I_yy = E[2σ(y)σ(−y)] = 1/3`` and nothing else.
    """
    lower, upper = params
    if value is not None and coordinate == _INTERVAL:
        return Information((value,), [[pt.as_tensor(1 / 3, dtype="float64")]])
    if value is not None and coordinate != "identity":
        raise unsupported("Uniform", coordinate)
    if _fixed(lower) and _fixed(upper):  # a constant density: no information
        return Information((), [])
    raise NoClosedFormError(
        "Uniform with bounds that depend on the parameters: the bounds are the edges of the "
        "support, not regular parameters, so there is no Fisher information to write down"
    )


@register(prb.ParetoRV)
def _pareto(params, value, coordinate):
    """Pareto(α, m), ``log p(z) = log α + α log m − (α + 1) log z`` on ``z ≥ m``.

    Observed: m is the support's edge; ``I_αα = 1/α²``. Free, in ``y = log(z − m)``:
    ``log p(y) = log α + α log m − (α + 1) log(m + eʸ) + y``. With ``V = m/z ~ Beta(α, 1)``
    (``E V = α/(α + 1)``, ``E V² = α/(α + 2)``) and ``E[V(1 − V)] = α/((α + 1)(α + 2))``:
    ``I_yy = (α + 1) E[V(1 − V)] = α/(α + 2)``, ``I_yα = E[1 − V] = 1/(α + 1)``,
    ``I_ym = −I_yy/m``, ``I_αm = −1/(m(α + 1))``, ``I_mm = I_yy/m²`` (y and log m enter as
    ``y − log m``).
    """
    alpha, m = params
    a_a = 1 / alpha**2
    if value is None:
        return Information((alpha,), [[a_a]])
    if coordinate != _INTERVAL:
        raise unsupported("Pareto", coordinate)
    y_y = alpha / (alpha + 2)
    return Information(
        (value, alpha, m),
        [
            [y_y, 1 / (alpha + 1), -y_y / m],
            [None, a_a, -1 / (m * (alpha + 1))],
            [None, None, y_y / m**2],
        ],
    )


@register(prb.TriangularRV)
def _triangular(params, value, coordinate):
    """Triangular(a, c, b); the lower and upper bounds are the support, not coordinates.

    Observed: ``s_c = −1/(c − a)`` below c, ``1/(b − c)`` above, so ``I_cc = 1/((c − a)(b − c))``.
    The score jumps at ``z = c``, the log-density has a kink there, and the per-draw Hessian's
    mean is ``−I_cc`` (the jump carries ``2 I_cc`` in a delta); the family is still differentiable
    in quadratic mean (the kink moves an O(h) density over an O(h) interval), so ``I_cc`` is its
    information. Free, with ``u = σ(y) ~ Triangular(0, γ, 1)``, ``γ = (c − a)/(b − a)``:
    ``s_y = 2 − 3u`` below γ and ``1 − 3u`` above, ``s_γ = −1/γ`` and ``1/(1 − γ)``, so
    ``I_yy = 1/2 + 5γ(1 − γ)/2``, ``I_yγ = −2`` and ``I_γγ = 1/(γ(1 − γ))``.
    """
    lower, c, upper = params
    if value is None:
        return Information((c,), [[1 / ((c - lower) * (upper - c))]])
    if coordinate != _INTERVAL:
        raise unsupported("Triangular", coordinate)
    gamma = (c - lower) / (upper - lower)
    spread = gamma * (1 - gamma)
    return Information(
        (value, gamma),
        [[0.5 + 2.5 * spread, pt.as_tensor(-2.0, dtype="float64")], [None, 1 / spread]],
    )


_SQRT2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def truncated_normal_moments(
    alpha: TensorVariable, beta: TensorVariable
) -> tuple[TensorVariable, ...]:
    """``E[zᵏ]``, k = 1 … 4, for z standard normal truncated to ``[α, β]`` (either infinite).

    Notes
    -----
    Integration by parts, ``E[z g] = E[g′] − (g(β) R_β − g(α) R_α)`` with ``R = φ/Z`` at a bound
    and ``Z = Φ(β) − Φ(α)``, gives ``m₁ = R_α − R_β``, ``m₂ = 1 + αR_α − βR_β``,
    ``m₃ = 2m₁ + α²R_α − β²R_β``, ``m₄ = 3m₂ + α³R_α − β³R_β``. The ratios are computed where
    they do not lose digits: the interval is reflected so that ``α + β ≥ 0``; then if ``α ≥ 0``
    (both bounds in the upper tail) ``R_α = √(2/π) / (erfcx(α/√2)(1 − ρ))`` with
    ``ρ = Q(β)/Q(α)`` in log space, and otherwise ``Z = (erf(β/√2) + erf(|α|/√2))/2`` is a sum
    of positive terms. An infinite bound contributes nothing, through safe stand-ins that keep
    the unselected branches (and their derivatives) finite.
    """
    fa, fb = pt.isfinite(alpha), pt.isfinite(beta)
    a_s, b_s = pt.switch(fa, alpha, 0.0), pt.switch(fb, beta, 0.0)
    # reflect z -> -z so that α + β ≥ 0 (a lone infinite bound ends up as the upper one)
    flip = pt.switch(fa & fb, pt.lt(a_s + b_s, 0.0), ~fa & fb)
    lo, hi = pt.switch(flip, -b_s, a_s), pt.switch(flip, -a_s, b_s)
    f_lo, f_hi = pt.switch(flip, fb, fa), pt.switch(flip, fa, fb)
    tail = f_lo & pt.ge(lo, 0.0)
    # both bounds in the upper tail
    lo_t = pt.switch(tail, lo, 0.0)
    hi_t = pt.switch(tail & f_hi, hi, lo_t + 1.0)
    log_rho = (lo_t - hi_t) * (lo_t + hi_t) / 2 + pt.log(
        pt.erfcx(hi_t / _SQRT2) / pt.erfcx(lo_t / _SQRT2)
    )
    one_minus_rho = pt.switch(f_hi, -pt.expm1(log_rho), 1.0)
    r_lo_tail = _SQRT_2_OVER_PI / (pt.erfcx(lo_t / _SQRT2) * one_minus_rho)
    r_hi_tail = r_lo_tail * pt.exp((lo_t - hi_t) * (lo_t + hi_t) / 2)
    # the interval straddles the mode (or the lower bound is infinite)
    lo_c = pt.switch(tail | ~f_lo, -1.0, lo)
    hi_c = pt.switch(tail | ~f_hi, 1.0, hi)
    erf_lo = pt.switch(f_lo, pt.erf(lo_c / _SQRT2), -1.0)
    erf_hi = pt.switch(f_hi, pt.erf(hi_c / _SQRT2), 1.0)
    z = (erf_hi - erf_lo) / 2
    density = 1 / math.sqrt(2 * math.pi)
    r_lo_centre = density * pt.exp(-(lo_c**2) / 2) / z
    r_hi_centre = density * pt.exp(-(hi_c**2) / 2) / z
    zero = pt.zeros_like(lo)
    r_lo = pt.switch(f_lo, pt.switch(tail, r_lo_tail, r_lo_centre), zero)
    r_hi = pt.switch(f_hi, pt.switch(tail, r_hi_tail, r_hi_centre), zero)
    m1 = r_lo - r_hi
    m2 = 1 + lo * r_lo - hi * r_hi
    m3 = 2 * m1 + lo**2 * r_lo - hi**2 * r_hi
    m4 = 3 * m2 + lo**3 * r_lo - hi**3 * r_hi
    sign = pt.switch(flip, -1.0, 1.0)
    return sign * m1, m2, sign * m3, m4


@register(TruncatedNormalRV)
def _truncated_normal(params, value, coordinate):
    """TruncatedNormal(μ, σ, a, b), bounds fixed; ``z = (x − μ)/σ`` on ``[α, β]``.

    An exponential family in ``(z, z²)``: ``s_μ = (z − m₁)/σ``, ``s_σ = (z² − m₂)/σ``, so
    ``I_μμ = Var z/σ²``, ``I_μσ = Cov(z, z²)/σ²``, ``I_σσ = Var z²/σ²`` with the truncated
    moments ``mₖ`` (``truncated_normal_moments``). In the interval coordinate,
    ``x = x(y)``: ``−∂²_y log p(y) = x″z/σ + x′²/σ² − ∂²_y log x′``, ``I_yμ = −E[x′]/σ²`` and
    ``I_yσ = −2E[x′z]/σ²``, polynomials in z. With ``p = z − α``, ``q = β − z``:
    both bounds (``x′ = σpq/D``, ``D = β − α``): ``I_yy = E[pq(q − p)z + p²q² + 2pq]/D²``;
    lower only (``x′ = σp``): ``I_yy = E[p(z + p)]``; upper only (``x′ = −σq``):
    ``I_yy = E[q(q − z)]``; neither: the Normal's. Bounds that depend on θ are edges of an
    observed value's support (not coordinates) and, for a free value, take the quadrature.

    Accuracy: the central moments are differences of terms of size ``max(|α|, |β|)ᵏ``, and
    of nearly equal terms on a narrow interval. Against quadrature of the central moments
    (``tests/test_closed_form.py``): 1e-15 relative for ``[−1, 2]``, 1e-13 for ``[5, ∞)``,
    1e-10 for ``[30, ∞)``, 1e-8 for ``[100, ∞)``, 3e-4 for ``[1000, ∞)``; 1e-6 for an
    interval of width 0.02 about the mean, 1e-2 for width 1e-4. Finite wherever ``σ > 0``.
    PyMC's own log-density is normalised only to about 1e-8 (its ``log Z`` divides by a
    float32 √2), and its quantile falls just outside the support at the quadrature's outer
    nodes, so the quadrature this entry replaces returned NaN.
    """
    mu, sigma, lower, upper = params
    alpha, beta = (lower - mu) / sigma, (upper - mu) / sigma
    m1, m2, m3, m4 = truncated_normal_moments(alpha, beta)
    s2 = sigma**2
    mm, ms, ss = (m2 - m1**2) / s2, (m3 - m1 * m2) / s2, (m4 - m2**2) / s2
    if value is None:
        return Information((mu, sigma), [[mm, ms], [None, ss]])
    if coordinate != _INTERVAL or not (_fixed(lower) and _fixed(upper)):
        raise unsupported("TruncatedNormal (bounds fixed)", coordinate)
    fa, fb = pt.isfinite(alpha), pt.isfinite(beta)
    a_s, b_s = pt.switch(fa, alpha, 0.0), pt.switch(fb, beta, 1.0)
    # both bounds: expand in moments with S = α + β, P = αβ
    s, p, d = a_s + b_s, a_s * b_s, b_s - a_s
    two = (
        3 * m4 - 5 * s * m3 + (2 * s**2 + 4 * p - 2) * m2 + (2 * s - 3 * p * s) * m1 + p**2 - 2 * p
    ) / d**2
    two_mu = -(-m2 + s * m1 - p) / (sigma * d)
    two_sigma = -2 * (-m3 + s * m2 - p * m1) / (sigma * d)
    # lower only: p(z + p) = 2z² − 3αz + α²; upper only: q(q − z) = 2z² − 3βz + β²
    low = 2 * m2 - 3 * a_s * m1 + a_s**2
    up = 2 * m2 - 3 * b_s * m1 + b_s**2
    y_y = pt.switch(fa & fb, two, pt.switch(fa, low, pt.switch(fb, up, 1 / s2)))
    y_mu = pt.switch(
        fa & fb,
        two_mu,
        pt.switch(fa, -(m1 - a_s) / sigma, pt.switch(fb, (b_s - m1) / sigma, -1 / s2)),
    )
    y_sigma = pt.switch(
        fa & fb,
        two_sigma,
        pt.switch(
            fa,
            -2 * (m2 - a_s * m1) / sigma,
            pt.switch(fb, 2 * (b_s * m1 - m2) / sigma, -2 * m1 / s2),
        ),
    )
    return Information((value, mu, sigma), [[y_y, y_mu, y_sigma], [None, mm, ms], [None, None, ss]])
