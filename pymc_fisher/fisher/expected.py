"""Expected information: the analytic pull-back ``Σᵢ Jᵢᵀ I_dist(φᵢ) Jᵢ`` through the graph.

For every factor p(z | parents) of the joint density, ``I_dist`` comes from the closed-form
registry over the factor's coordinates φ (its parameters, and its own value when the factor is
a free variable), and ``Jᵢ = ∂φᵢ/∂θ`` comes from forward-mode differentiation vectorized over
the rows of the identity. PyTensor rewrites products with those selection rows into indexing,
so for ``φ = Xβ`` the Jacobian *is* ``X`` and the pull-back is one ``Xᵀ(w ⊙ X)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytensor.tensor as pt
from pymc.distributions.transforms import Ordered
from pytensor.gradient import jacobian, pushforward
from pytensor.graph.replace import vectorize_graph
from pytensor.tensor.variable import TensorVariable

from pymc_fisher.errors import NoClosedFormError, UnsupportedModelError
from pymc_fisher.fisher.model_graph import Factor, ModelGraph, depends_on
from pymc_fisher.fisher.quadrature import quadrature_information
from pymc_fisher.fisher.registry import Information, closed_form, has_closed_form, pullback_for

__all__ = [
    "analytic_factor_information",
    "expected_information_graph",
    "reject_potentials",
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
            rows = pt.as_tensor(jacobian(flat, theta, vectorize=True))  # (n, size)
            jac = rows.T.reshape((size, *graphs[i].shape), ndim=graphs[i].type.ndim + 1)
        out[i] = jac
    return out


def _contract(ta: TensorVariable, tb: TensorVariable, info: Any, batch_shape) -> TensorVariable:
    """``Σ_batch ta[:, i] info[i] tb[:, i]ᵀ`` with right-aligned broadcasting over the batch."""
    ndim = len(batch_shape)
    ta = _pad(ta, ndim)
    tb = _pad(tb, ndim)
    info = pt.broadcast_to(pt.as_tensor(info, dtype="float64"), batch_shape)
    # sum the information over axes along which neither Jacobian varies (e.g. a shared sigma)
    shared = [
        k for k in range(ndim) if ta.type.broadcastable[k + 1] and tb.type.broadcastable[k + 1]
    ]
    if shared:
        info = info.sum(axis=shared, keepdims=True)
    weighted, tb = pt.broadcast_arrays(ta * info[None], tb)
    size = ta.shape[0]
    return weighted.reshape((size, -1)) @ tb.reshape((size, -1)).T


def _pad(jac: TensorVariable, batch_ndim: int) -> TensorVariable:
    missing = batch_ndim - (jac.type.ndim - 1)
    if missing > 0:
        jac = jac.reshape((jac.shape[0], *([1] * missing), *jac.shape[1:]), ndim=batch_ndim + 1)
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
            term = _contract(jacs[a], jacs[b], entry, batch_shape)
            if a != b:
                term = term + term.T
            total = term if total is None else total + term
    return total


def analytic_factor_information(factor: Factor, mg: ModelGraph) -> TensorVariable | None:
    """The pull-back of one factor's closed-form information (``None`` if it is zero)."""
    value = None if factor.observed else factor.value
    size = mg.layout.size
    batch_shape = tuple(factor.logp.shape[k] for k in range(factor.logp.type.ndim))
    general = pullback_for(factor.op)  # distributions that are not elementwise (MvNormal)
    if general is not None:
        return general(
            factor.params,
            value,
            factor.coordinate,
            lambda graphs: tangents(graphs, mg.theta, size),
            size,
            batch_shape,
        )
    coordinate = factor.coordinate
    transform = None
    if value is not None and mg.space == "unconstrained":
        transform = mg.model.rvs_to_transforms.get(factor.rv)
    if isinstance(transform, Ordered):
        # The ordered rule: the identity coordinate's information pulled back through z = T⁻¹(y).
        # E[−∇²_y ℓ] = J_Tᵀ E[−∇²_z log p] J_T − E[∂_z log p] ∂²z/∂y² − ∇² log|J_T|: the middle
        # term has mean zero under the (unordered) elementwise distribution and the log-Jacobian
        # (Σ y[1:], or Σ y when positive) is linear, so the rule is J_Tᵀ I_z J_T.
        value, coordinate, transform = pt.as_tensor(transform.backward(value)), "identity", None
        # PyMC sums the transformed density over the ordered axis; the rule is elementwise
        batch_shape = tuple(value.shape[k] for k in range(value.type.ndim))
    information = None
    if has_closed_form(factor.op):
        try:
            information = closed_form(factor.op, factor.params, value, coordinate)
        except NoClosedFormError:  # the entry does not cover this value coordinate
            information = None
    if information is None:
        information = _quadrature(factor, mg, value, transform)
    return pullback(information, mg.theta, size, batch_shape)


def uses_quadrature(factor: Factor) -> bool:
    """Whether the factor's information comes from the quantile quadrature (no closed form)."""
    return not has_closed_form(factor.op)


def _quadrature(
    factor: Factor, mg: ModelGraph, value: TensorVariable | None, transform: object
) -> Information:
    live = [depends_on(p, mg.theta) for p in factor.params]
    try:
        return quadrature_information(factor.rv.owner, factor.params, value, transform, live)
    except NoClosedFormError as err:
        raise NoClosedFormError(f"Variable {factor.name!r}: {err}") from None


def reject_potentials(mg: ModelGraph) -> None:
    """Potentials have no distribution to take an expectation over."""
    if mg.potentials:
        names = ", ".join(repr(p.name) for p in mg.model.potentials)
        raise UnsupportedModelError(
            f"The model has Potential terms ({names}), which have no distribution to take an "
            "expectation over, so the expected information of the whole graph is undefined. "
            "Use kind='observed', or metric='softabs' in RMHMC."
        )


def split_factors(
    mg: ModelGraph, *, include_prior: bool, method: str
) -> tuple[list[Factor], list[Factor]]:
    """Factors to do deterministically and by Monte Carlo under ``method``.

    Every factor is deterministic (a closed form, the ordered rule or the quantile quadrature)
    unless ``method="monte_carlo"``; there is no silent Monte Carlo fallback.

    Raises
    ------
    NoClosedFormError
        If a factor has no deterministic rule (names the variable and its distribution).
    """
    if include_prior:
        reject_potentials(mg)
    factors = list(mg.factors if include_prior else mg.observed_factors)
    if method == "monte_carlo":
        return [], factors
    for factor in factors:
        try:
            analytic_factor_information(factor, mg)
        except NoClosedFormError as err:
            raise NoClosedFormError(
                f"{err}. Its expected information has no "
                "deterministic rule here; method='monte_carlo' estimates it by simulation "
                "(never usable inside a sampler's metric), or use kind='observed'."
            ) from None
    return factors, []


def expected_information_graph(
    mg: ModelGraph, *, include_prior: bool = False, factors: Sequence[Factor] | None = None
) -> TensorVariable:
    """The expected information as a graph of ``mg.theta`` (analytic factors only).

    Parameters
    ----------
    mg
        The model's graphs.
    include_prior
        ``False``: the likelihood's factors (the usual expected Fisher information).
        ``True``: every factor of the joint density, each free variable's own value a
        coordinate: the metric of the whole graph (DESIGN.md).
    factors
        Restrict to these factors (default: as ``include_prior`` says, all analytic).

    Raises
    ------
    NoClosedFormError
        If a factor has no closed form (use ``split_factors`` and Monte Carlo for those).
    """
    if factors is None:
        factors = mg.factors if include_prior else mg.observed_factors
        if include_prior:
            reject_potentials(mg)
    size = mg.layout.size
    total = pt.zeros((size, size), dtype="float64")
    for factor in factors:
        term = analytic_factor_information(factor, mg)
        if term is not None:
            total = total + term
    return total
