"""Expected information: the pull-back ``Σᵢ Jᵢᵀ I_dist(φᵢ) Jᵢ`` through the graph, deterministic.

For every factor p(z | parents) of the joint density, ``I_dist`` comes from the closed-form
registry over the factor's coordinates φ (its parameters, and its own value when the factor is
a free variable), and ``Jᵢ = ∂φᵢ/∂θ`` comes from forward-mode differentiation vectorized over
the rows of the identity. PyTensor rewrites products with those selection rows into indexing,
so for ``φ = Xβ`` the Jacobian *is* ``X`` and the pull-back is one ``Xᵀ(w ⊙ X)``.

Where the registry has no entry: a value under ``ordered`` gets its elementwise information
pulled back through the transform; a univariate distribution with a quantile function gets the
quantile quadrature (``quadrature.py``); a discrete likelihood the sum over its support
(``enumeration.py``); anything else, and every Potential, the local rule
(``local.py``). Monte Carlo (``monte_carlo.py``) runs only when a caller asks for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any, Literal

import pytensor.tensor as pt
from pymc.distributions.transforms import Ordered
from pytensor.gradient import NullTypeGradError, jacobian, pushforward
from pytensor.graph.replace import vectorize_graph
from pytensor.graph.utils import MethodNotDefined
from pytensor.tensor.variable import TensorVariable

from pymc_fisher.errors import NoClosedFormError
from pymc_fisher.fisher.enumeration import enumeration_information
from pymc_fisher.fisher.local import local_information
from pymc_fisher.fisher.model_graph import Factor, ModelGraph, depends_on
from pymc_fisher.fisher.quadrature import quadrature_information
from pymc_fisher.fisher.registry import Information, closed_form, has_closed_form, pullback_for
from pymc_fisher.fisher.timeseries import is_time_series, time_series_information

__all__ = [
    "Rule",
    "analytic_factor_information",
    "batch_gram",
    "expected_information_graph",
    "factor_rule",
    "potential_information",
    "split_factors",
    "tangents",
]


def tangents(graphs: Sequence[TensorVariable], theta: TensorVariable, size: int) -> list:
    """``∂g/∂θ`` for each graph, as a batch ``(size, *g.shape)``; ``None`` where constant in θ."""
    out: list[TensorVariable | None] = [None] * len(graphs)
    live = [i for i, g in enumerate(graphs) if depends_on(g, theta)]
    if not live:
        return out
    direction = pt.vector("direction", dtype="float64")
    jvps: Any = pushforward([graphs[i] for i in live], theta, direction)
    batched: Any = vectorize_graph(jvps, {direction: pt.eye(size, dtype="float64")})
    for i, jac in zip(live, batched, strict=True):
        if jac.type.ndim != graphs[i].type.ndim + 1:
            # PyTensor 3.3 vectorises the tangent of ``reshape(θ[k:k+1], ()) + c`` (a scalar
            # parameter such as Uniform's ``upper = a + 3``) to a scalar; reverse mode instead
            flat = pt.atleast_1d(graphs[i]).ravel()
            rows = pt.as_tensor(
                jacobian(flat, theta, vectorize=True, disconnected_inputs="ignore")
            )  # (n, size)
            jac = rows.T.reshape((size, *graphs[i].shape), ndim=graphs[i].type.ndim + 1)
        out[i] = jac
    return out


def batch_gram(
    x: TensorVariable, y: TensorVariable, weight, batch_shape: tuple, core_ndim: int
) -> TensorVariable:
    """``Σ_b w_b Σ_core x[:, b, core] y[:, b, core]ᵀ``, a ``(size, size)`` graph.

    ``x`` and ``y`` are tangent batches ``(size, *batch, *core)`` whose batch axes broadcast,
    right-aligned, to ``batch_shape`` (a shared Σ has none); ``weight`` broadcasts to
    ``batch_shape``. It is summed over the axes along which neither ``x`` nor ``y`` varies, so a
    parameter shared by the batch costs one product however large the batch.
    """
    ndim = len(batch_shape) + core_ndim
    x, y = _pad(x, ndim), _pad(y, ndim)
    w = pt.broadcast_to(pt.as_tensor(weight, dtype="float64"), batch_shape)
    shared = [
        k
        for k in range(len(batch_shape))
        if x.type.broadcastable[k + 1] and y.type.broadcastable[k + 1]
    ]
    if shared:
        w = w.sum(axis=shared, keepdims=True)
    w = pt.shape_padright(w, core_ndim)[None]
    weighted, y = pt.broadcast_arrays(x * w, y)
    size = x.shape[0]
    return weighted.reshape((size, -1)) @ y.reshape((size, -1)).T


def _pad(jac: TensorVariable, ndim: int) -> TensorVariable:
    """``jac`` ``(size, *shape)`` with broadcastable axes after ``size`` up to ``ndim`` axes."""
    missing = ndim - (jac.type.ndim - 1)
    if missing > 0:
        jac = jac.reshape((jac.shape[0], *([1] * missing), *jac.shape[1:]), ndim=ndim + 1)
    return jac


def pullback(
    information: Information, theta: TensorVariable, size: int, batch_shape
) -> TensorVariable | None:
    """``Σ_batch Jᵀ I J`` for one factor's elementwise information."""
    jacs = tangents(information.coords, theta, size)
    total = None
    k = len(jacs)
    for a in range(k):
        for b in range(a, k):
            entry = information.matrix[a][b]
            if jacs[a] is None or jacs[b] is None or entry is None:
                continue
            term = batch_gram(jacs[a], jacs[b], entry, batch_shape, 0)
            if a != b:
                term = term + term.T
            total = term if total is None else total + term
    return total


Rule = Literal["closed_form", "quadrature", "local"]


def analytic_factor_information(factor: Factor, mg: ModelGraph) -> TensorVariable | None:
    """The pull-back of one factor's deterministic information (``None`` if it is zero).

    The rule, in order: the factor's closed form (or registered pull-back); the ordered rule;
    the quantile quadrature (``quadrature.py``); the local rule (``local.py``). ``factor_rule``
    says which applies.
    """
    return _factor_term(factor, mg)[1]


def factor_rule(factor: Factor, mg: ModelGraph) -> Rule:
    """Which deterministic rule gives the factor's information (``analytic_factor_information``)."""
    return _factor_term(factor, mg)[0]


def _factor_term(factor: Factor, mg: ModelGraph) -> tuple[Rule, TensorVariable | None]:
    value = None if factor.observed else factor.value
    size = mg.layout.size
    batch_shape = tuple(factor.logp.shape[k] for k in range(factor.logp.type.ndim))
    transform = None
    if value is not None and mg.space == "unconstrained":
        transform = mg.model.rvs_to_transforms.get(factor.rv)
    try:
        general = pullback_for(factor.op)  # distributions that are not elementwise (MvNormal)
        if general is not None:
            term = general(
                factor.params,
                value,
                factor.coordinate,
                lambda graphs: tangents(graphs, mg.theta, size),
                size,
                batch_shape,
            )
            return "closed_form", term
        if is_time_series(factor.op) and transform is None:
            term = time_series_information(
                factor.op,
                factor.params,
                factor.value,
                lambda node, params, v: _univariate(mg, node, params, v, None, "identity")[1],
                lambda info, batch: pullback(info, mg.theta, size, batch),
            )
            return "closed_form", term
        coordinate = factor.coordinate
        if isinstance(transform, Ordered):
            # The ordered rule: the identity coordinate's information pulled back through
            # z = T⁻¹(y). E[−∇²_y ℓ] = J_Tᵀ E[−∇²_z log p] J_T − E[∂_z log p] ∂²z/∂y² − ∇² log|J_T|:
            # the middle term has mean zero under the (unordered) elementwise distribution and the
            # log-Jacobian (Σ y[1:], or Σ y when positive) is linear, so the rule is J_Tᵀ I_z J_T.
            value, coordinate, transform = pt.as_tensor(transform.backward(value)), "identity", None
        node = factor.rv.owner
        if value is None:  # PyMC's observed log-density is elementwise over the batch
            return _univariate(mg, node, factor.params, None, None, None, batch_shape)
        return _univariate(mg, node, factor.params, value, transform, coordinate)
    except NoClosedFormError:  # not univariate, or no quantile function, or a coordinate
        pass
    if factor.observed:  # a discrete likelihood: sum over its support (enumeration.py)
        try:
            tangents_fn = partial(tangents, theta=mg.theta, size=size)
            term = enumeration_information(factor.op, factor.logp, factor.value, tangents_fn, size)
            return "quadrature", term
        except NoClosedFormError:
            pass
    return "local", _local(factor.name, factor.logp, mg)


def _local(name: str, term: TensorVariable, mg: ModelGraph) -> TensorVariable:
    """The local rule for one term, or a typed error if its Hessian has no graph."""
    try:
        return local_information(term, mg.theta, mg.layout.size)
    except (MethodNotDefined, NullTypeGradError) as err:
        raise NoClosedFormError(
            f"Variable {name!r}: no deterministic rule applies. Its distribution has no closed "
            "form and no quantile function, and PyTensor cannot differentiate its log-density "
            f"twice for the local rule ({type(err).__name__}: {str(err)[:120]}). Use "
            "method='monte_carlo' for fisher_information (never in a sampler's metric), "
            "kind='observed' where it applies, or metric='softabs' in RMHMC."
        ) from None


def _univariate(
    mg: ModelGraph,
    node: Any,
    params: Sequence[TensorVariable],
    value: TensorVariable | None,
    transform: object,
    coordinate: str | None,
    batch_shape: tuple | None = None,
) -> tuple[Rule, TensorVariable | None]:
    """Pull back a univariate factor's closed form, else its quantile quadrature.

    Over ``batch_shape`` (default: the value's shape).
    """
    if batch_shape is None and value is not None:
        # the broadcast of the value and the parameters (a random walk's initial value is a
        # slice, while its distribution may carry a batch dimension of one)
        tensors = [value, *(p for p in params if isinstance(p, TensorVariable))]
        batch_shape = tuple(pt.broadcast_shape(*tensors))
    size = mg.layout.size
    if has_closed_form(node.op):
        try:
            information = closed_form(node.op, params, value, coordinate)
            return "closed_form", pullback(information, mg.theta, size, batch_shape)
        except NoClosedFormError:  # the entry does not cover this value coordinate
            pass
    live = [depends_on(p, mg.theta) for p in params]
    information = quadrature_information(node, tuple(params), value, transform, live)
    return "quadrature", pullback(information, mg.theta, size, batch_shape)


def split_factors(
    mg: ModelGraph, *, include_prior: bool, method: str
) -> tuple[list[Factor], list[Factor]]:
    """Factors to do deterministically and by Monte Carlo under ``method``.

    Every factor is deterministic (``analytic_factor_information``) unless
    ``method="monte_carlo"``; there is no silent Monte Carlo fallback.
    """
    factors = list(mg.factors if include_prior else mg.observed_factors)
    if method == "monte_carlo":
        return [], factors
    return factors, []


def potential_information(mg: ModelGraph) -> TensorVariable | None:
    """The local rule (``local.py``) summed over the model's Potential terms.

    A Potential is not a density, so it has no expectation to take; its curvature enters as the
    SoftAbs map of its negative Hessian at the point.
    """
    total = None
    for name, potential in zip((p.name for p in mg.model.potentials), mg.potentials, strict=True):
        term = _local(name, potential, mg)
        total = term if total is None else total + term
    return total


def expected_information_graph(
    mg: ModelGraph,
    *,
    include_prior: bool = False,
    factors: Sequence[Factor] | None = None,
    potentials: bool | None = None,
) -> TensorVariable:
    """The expected information as a graph of ``mg.theta``.

    Parameters
    ----------
    mg
        The model's graphs.
    include_prior
        ``False``: the likelihood's factors (the usual expected Fisher information).
        ``True``: every factor of the joint density, each free variable's own value a
        coordinate, and the Potentials: the metric of the whole graph (DESIGN.md).
    factors
        Restrict to these factors (default: as ``include_prior`` says).
    potentials
        Add the Potentials' local rule (default: ``include_prior``).
    """
    if factors is None:
        factors = mg.factors if include_prior else mg.observed_factors
    if potentials is None:
        potentials = include_prior
    size = mg.layout.size
    total = pt.zeros((size, size), dtype="float64")
    for factor in factors:
        term = analytic_factor_information(factor, mg)
        if term is not None:
            total = total + term
    if potentials:
        term = potential_information(mg)
        if term is not None:
            total = total + term
    return total
