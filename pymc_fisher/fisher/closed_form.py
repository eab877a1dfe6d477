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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import pytensor.tensor as pt
from pytensor.scalar.math import Sigmoid
from pytensor.tensor.elemwise import Elemwise
from pytensor.tensor.random import basic as prb
from pytensor.tensor.variable import TensorVariable

from pymc_fisher.errors import NoClosedFormError

__all__ = ["Information", "closed_form", "has_closed_form", "register"]

Entry = TensorVariable | float | None
Matrix = list[list[Entry]]


class Information(NamedTuple):
    """Expected information over ``coords``, elementwise over the batch.

    ``matrix[a][b]`` is ``I_ab`` broadcastable to the batch shape; ``None`` means zero. Only
    the upper triangle (``b >= a``) is read.
    """

    coords: tuple[TensorVariable, ...]
    matrix: Matrix


# fn(params, value, coordinate) -> Information; value is None for an observed variable
ClosedForm = Callable[[Sequence[TensorVariable], TensorVariable | None, str | None], Information]

_REGISTRY: dict[type, ClosedForm] = {}


def register(*op_types: type) -> Callable[[ClosedForm], ClosedForm]:
    """Register a closed form for random-variable Op classes."""

    def decorator(fn: ClosedForm) -> ClosedForm:
        for op_type in op_types:
            _REGISTRY[op_type] = fn
        return fn

    return decorator


def has_closed_form(op: object) -> bool:
    """Whether the registry has an entry for ``op``."""
    return type(op) in _REGISTRY


def closed_form(
    op: object, params: Sequence[TensorVariable], value: TensorVariable | None, coordinate: str | None
) -> Information:
    """The closed-form information of ``op``'s distribution at ``params``.

    Raises
    ------
    NoClosedFormError
        If the registry has no entry for the Op, or the entry does not cover ``coordinate``.
    """
    fn = _REGISTRY.get(type(op))
    if fn is None:
        raise NoClosedFormError(f"no closed-form Fisher information for {type(op).__name__}")
    params = [pt.cast(p, "float64") if p.type.dtype != "float64" else p for p in params]
    if value is not None and value.type.dtype != "float64":
        value = pt.cast(value, "float64")
    return fn(params, value, coordinate)


def unsupported(op_name: str, coordinate: str | None) -> NoClosedFormError:
    """The error an entry raises for a value coordinate it does not cover."""
    return NoClosedFormError(
        f"no closed-form information for a free {op_name} variable held in the "
        f"{coordinate!r} coordinate"
    )


def logit_of(p: TensorVariable) -> TensorVariable | None:
    """η if ``p`` is the graph ``sigmoid(η)``, else ``None``."""
    owner = p.owner
    if owner is not None and isinstance(owner.op, Elemwise) and isinstance(owner.op.scalar_op, Sigmoid):
        return owner.inputs[0]
    return None


def log_of(x: TensorVariable) -> TensorVariable | None:
    """η if ``x`` is the graph ``exp(η)``, else ``None``."""
    owner = x.owner
    if owner is not None and isinstance(owner.op, Elemwise) and type(owner.op.scalar_op).__name__ == "Exp":
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
    """A symmetric location-scale family: ``I_loc,scale = 0``; value enters as ``value − loc``."""
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
    """A positive scale family ``z = scale · u``.

    In the log coordinate φ = log z = log scale + log u is a location family, so with ``a`` the
    location information of log u: ``I_φφ = a``, ``I_φ,scale = −a/scale``, ``I_scale = a/scale²``.
    """
    a = location_information
    scale_info = a / scale**2
    if value is None:
        return Information((scale,), [[scale_info]])
    if coordinate != "log":
        raise unsupported(op_name, coordinate)
    return Information((value, scale), [[pt.as_tensor(a, dtype="float64"), -a / scale], [None, scale_info]])


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
    a_a, a_s, s_s = pt.polygamma(1, alpha), 1 / scale, alpha / scale**2
    if value is None:
        return Information((alpha, scale), [[a_a, a_s], [None, s_s]])
    if coordinate != "log":
        raise unsupported("Gamma", coordinate)
    # log p(φ) = αφ − e^φ/θ − α log θ − log Γ(α)
    return Information(
        (value, alpha, scale),
        [[alpha, pt.as_tensor(-1.0), -alpha / scale], [None, a_a, a_s], [None, None, s_s]],
    )


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
