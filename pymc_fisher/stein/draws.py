"""Posterior draws → unconstrained draws and the scores of the density they follow.

The Stein discrepancy needs a smooth positive density on ℝᵈ, so it works in the model's
unconstrained value space (``sigma_log__``): draws stored in the ``posterior`` group
(constrained, ``sigma``) are mapped by the model's transforms, all rows in one compiled call,
and the score is ``∇_θ log p(θ)`` of the Jacobian-adjusted log-density, the density the
unconstrained draws follow (the one the Laplace fit finds the mode of, whose compiled gradient
is reused). A sampler's own gradients are never read: they may be of another parametrisation.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, cast

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from pytensor.graph.replace import vectorize_graph
from pytensor.tensor.variable import TensorVariable

from pymc_fisher.compile import cached, compile_function
from pymc_fisher.errors import DrawsMismatchError, MissingGroupError, NonFiniteLogDensityError
from pymc_fisher.fisher.model_graph import ModelGraph, graph_of
from pymc_fisher.fisher.points import forward_graphs
from pymc_fisher.laplace.graphs import _parameter_checks_as_switches
from pymc_fisher.validation import check_continuous

__all__ = [
    "DrawLayout",
    "UnconstrainedDraws",
    "even_thinning",
    "posterior_group",
    "unconstrained_draws",
]


class DrawLayout(NamedTuple):
    """Which stored draws were used: positions along the group's ``chain`` and ``draw`` dims."""

    chain: np.ndarray
    draw: np.ndarray
    stride: int


class UnconstrainedDraws(NamedTuple):
    """Rows of θ (unconstrained, raveled as the model's layout) and their scores.

    Attributes
    ----------
    theta, scores
        ``(n, d)`` arrays: the draws and ``∇ log p`` (log-Jacobian included) at each.
    logp
        ``(n,)`` the Jacobian-adjusted log-density at each draw.
    layout
        Where each row came from.
    labels
        The labels of θ's entries (``sigma_log__``, ``beta[0]``).
    model
        The model (its Laplace functions give the ``"information"`` preconditioner).
    """

    theta: np.ndarray
    scores: np.ndarray
    logp: np.ndarray
    layout: DrawLayout
    labels: tuple[str, ...]
    model: pm.Model


def posterior_group(idata: Any, *, who: str) -> xr.Dataset:
    """The ``posterior`` group of ``idata`` as a Dataset with ``chain`` and ``draw`` dims.

    Raises
    ------
    MissingGroupError
        If ``idata`` has no ``posterior`` group (says which groups it has).
    """
    if not isinstance(idata, xr.DataTree):
        raise TypeError(
            f"{who} needs idata, a DataTree of draws (as pm.sample returns), not "
            f"{type(idata).__name__}."
        )
    if "posterior" not in idata.children:
        raise MissingGroupError(
            f"idata has no 'posterior' group (its groups: {sorted(idata.children)}). Pass the "
            f"DataTree that pm.sample or pmf.sample returned."
        )
    ds = idata["posterior"].to_dataset()
    missing = [dim for dim in ("chain", "draw") if dim not in ds.dims]
    if missing:
        raise DrawsMismatchError(
            f"The 'posterior' group has no {missing} dimension(s) (its dims: {dict(ds.sizes)}). "
            f"Draws are laid out (chain, draw, ...), as pm.sample stores them."
        )
    return ds


def _check_variables(model: pm.Model, ds: xr.Dataset) -> None:
    """Raise ``DrawsMismatchError`` naming a free variable missing from ``ds`` or misshapen."""
    names = [rv.name for rv in model.free_RVs]
    missing = [n for n in names if n not in ds.data_vars]
    if missing:
        raise DrawsMismatchError(
            f"The 'posterior' group has no draws of the model's free variable(s) {missing} "
            f"(it holds {sorted(map(str, ds.data_vars))}). Pass draws of this model."
        )
    shapes = model.eval_rv_shapes()
    for name in names:
        stored = tuple(ds[name].transpose("chain", "draw", ...).shape[2:])
        expected = tuple(int(n) for n in shapes[name])
        if stored != expected:
            raise DrawsMismatchError(
                f"The draws of {name!r} have shape {stored} per draw but the model's {name!r} "
                f"has shape {expected}. Pass draws of this model (with its data)."
            )


def even_thinning(chains: int, draws: int, max_draws: int | None) -> DrawLayout:
    """Keep every ``k``-th draw of each chain, ``k`` the smallest with ``chains·⌈draws/k⌉ ≤ max``.

    Examples
    --------
    >>> layout = even_thinning(2, 5, 6)
    >>> layout.stride, layout.draw.tolist(), layout.chain.tolist()
    (2, [0, 2, 4, 0, 2, 4], [0, 0, 0, 1, 1, 1])
    """
    stride = 1
    if max_draws is not None:
        if max_draws < chains:
            raise ValueError(f"max_draws={max_draws} must keep at least one draw per chain.")
        stride = max(1, math.ceil(chains * draws / max_draws))
        while chains * math.ceil(draws / stride) > max_draws:
            stride += 1
    kept = np.arange(0, draws, stride)
    return DrawLayout(np.repeat(np.arange(chains), kept.size), np.tile(kept, chains), stride)


def _forward_function(model: pm.Model):
    """Constrained draws (one array per free variable, draws first) → unconstrained θ rows."""
    inputs, outputs = forward_graphs(model)
    batched = [pt.tensor(dtype="float64", shape=(None, *x.type.shape), name=x.name) for x in inputs]
    cast_in: dict[Any, Any] = {
        x: b.astype(x.type.dtype) for x, b in zip(inputs, batched, strict=True)
    }
    rows = cast(list[Any], vectorize_graph(outputs, cast_in))
    flat = [pt.as_tensor(r).reshape((r.shape[0], -1)).astype("float64") for r in rows]
    theta = pt.concatenate(flat, axis=1) if flat else pt.zeros((batched[0].shape[0], 0))
    return compile_function(batched, theta, name="stein_to_unconstrained")


def _score_function(model: pm.Model, mg: ModelGraph):
    """θ rows → (log p, ∇ log p) of the Jacobian-adjusted density, all rows in one call.

    The gradient of the batched log-density's sum: each row's log p depends on its own row
    only, so its gradient with respect to the rows is the matrix of scores. (One call instead
    of one per draw: measured 5 s for 4000 draws row by row in the Python VM.)
    """
    rows = pt.matrix("theta_rows", dtype="float64")
    [logp] = _parameter_checks_as_switches(model, [mg.logp()])
    batched = cast(TensorVariable, vectorize_graph(logp, {mg.theta: rows}))
    scores = cast(TensorVariable, pt.grad(pt.sum(batched), rows))
    with model:  # check_bounds from the model in context, as the Laplace functions compile
        return compile_function([rows], [batched, scores], name="stein_scores")


def unconstrained_draws(
    model: pm.Model, idata: Any, *, max_draws: int | None, who: str
) -> UnconstrainedDraws:
    """Read, thin evenly, transform and score the posterior draws of ``model``.

    Raises
    ------
    DiscreteVariableError
        If the model has a discrete free variable.
    MissingGroupError, DrawsMismatchError
        If ``idata`` has no posterior group, or its draws do not match the model.
    NonFiniteLogDensityError
        If the log-density or its gradient is not finite at a draw (names chain and draw).
    """
    check_continuous(
        model,
        advice="The Stein discrepancy needs the score of a density on ℝᵈ: marginalize the "
        "variable out (pymc_extras.marginalize) or fix it with pm.do.",
    )
    ds = posterior_group(idata, who=who)
    _check_variables(model, ds)
    layout = even_thinning(ds.sizes["chain"], ds.sizes["draw"], max_draws)
    mg = graph_of(model, "unconstrained")
    names = [rv.name for rv in model.free_RVs]
    chosen = ds[names].isel(
        chain=xr.DataArray(layout.chain, dims="row"), draw=xr.DataArray(layout.draw, dims="row")
    )
    forward = cached(model, "stein_forward", lambda: _forward_function(model))
    theta = np.asarray(
        forward(*[np.asarray(chosen[n].transpose("row", ...).values, float) for n in names]),
        dtype=float,
    )
    score_fn = cached(model, "stein_scores", lambda: _score_function(model, mg))
    with np.errstate(all="ignore"):  # a draw outside the support: -inf, reported below
        logp, scores = (np.asarray(a, dtype=float) for a in score_fn(theta))
    bad = np.flatnonzero(~(np.isfinite(logp) & np.all(np.isfinite(scores), axis=1)))
    if bad.size:
        i = int(bad[0])
        raise NonFiniteLogDensityError(
            f"The log-density or its gradient is not finite at {bad.size} draw(s), first at "
            f"chain {int(layout.chain[i])}, draw {int(layout.draw[i])} (unconstrained "
            f"{dict(zip(mg.layout.labels, theta[i].round(4).tolist(), strict=True))}). "
            f"Are these draws of this model (with its data)?"
        )
    return UnconstrainedDraws(theta, scores, logp, layout, mg.layout.labels, model)
