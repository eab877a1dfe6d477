"""Expected information: the analytic pull-back ``Σᵢ Jᵢᵀ I_dist(φᵢ) Jᵢ`` through the graph.

For every factor p(z | parents) of the joint density, ``I_dist`` comes from the closed-form
registry over the factor's coordinates φ (its parameters, and its own value when the factor is
a free variable), and ``Jᵢ = ∂φᵢ/∂θ`` comes from forward-mode differentiation vectorized over
the rows of the identity. PyTensor rewrites products with those selection rows into indexing,
so for ``φ = Xβ`` the Jacobian *is* ``X`` and the pull-back is one ``Xᵀ(w ⊙ X)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import pytensor.tensor as pt
from pytensor.gradient import pushforward
from pytensor.graph.replace import vectorize_graph
from pytensor.tensor.variable import TensorVariable

from pymc_fisher.errors import NoClosedFormError, UnsupportedModelError
from pymc_fisher.fisher.model_graph import Factor, ModelGraph, depends_on
from pymc_fisher.fisher.registry import Information, closed_form, pullback_for

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
    information = closed_form(factor.op, factor.params, value, factor.coordinate)
    return pullback(information, mg.theta, size, batch_shape)


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
    """Factors to do analytically and by Monte Carlo under ``method``."""
    if include_prior:
        reject_potentials(mg)
    factors = list(mg.factors if include_prior else mg.observed_factors)
    if method == "monte_carlo":
        return [], factors
    analytic, monte_carlo = [], []
    for factor in factors:
        try:
            analytic_factor_information(factor, mg)
            analytic.append(factor)
        except NoClosedFormError as err:
            if method == "analytic":
                raise NoClosedFormError(
                    f"Variable {factor.name!r}: {err}. Use method='monte_carlo' (or 'auto', "
                    f"which falls back to Monte Carlo for this factor only)."
                ) from None
            monte_carlo.append(factor)
    if monte_carlo:
        names = ", ".join(repr(f.name) for f in monte_carlo)
        warnings.warn(
            f"No closed-form Fisher information for {names}; using Monte Carlo for "
            f"{'that factor' if len(monte_carlo) == 1 else 'those factors'}.",
            UserWarning,
            stacklevel=3,
        )
    return analytic, monte_carlo


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
