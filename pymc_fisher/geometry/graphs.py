"""The likelihood's expected information as a graph of θ, for the geometry functions.

Every geometric quantity here (Jeffreys density, design criteria, Christoffel symbols) is a
function of the expected Fisher information ``I(θ)`` of the likelihood, built analytically by
``pymc_fisher.fisher.expected`` as a PyTensor graph of one raveled θ, so it can be
differentiated again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.traversal import ancestors
from pytensor.tensor.variable import TensorVariable

from pymc_fisher.errors import NoObservedVariablesError
from pymc_fisher.fisher.expected import expected_information_graph, split_factors
from pymc_fisher.fisher.model_graph import ModelGraph, Space, graph_of

__all__ = [
    "LikelihoodInformation",
    "information_graph",
    "logdet_graph",
    "selected_names",
    "shared_in",
]


class LikelihoodInformation(NamedTuple):
    """The expected information of a model's likelihood as a graph of ``theta``.

    Attributes
    ----------
    mg
        The model's graphs.
    theta
        The raveled parameter vector (``mg.theta``).
    information
        ``I(θ)`` restricted to the entries of the selected variables.
    entries
        Positions of those entries in θ.
    labels
        Their labels.
    """

    mg: ModelGraph
    theta: TensorVariable
    information: TensorVariable
    entries: np.ndarray
    labels: tuple[str, ...]


def _free_name(model: pm.Model, var: object) -> str:
    name = var if isinstance(var, str) else getattr(var, "name", None)
    names = {rv.name: rv.name for rv in model.free_RVs}
    names.update({model.rvs_to_values[rv].name: rv.name for rv in model.free_RVs})
    if name not in names:
        raise ValueError(
            f"{name!r} is not a free variable of the model; choose among "
            f"{[rv.name for rv in model.free_RVs]}."
        )
    return names[name]


def selected_names(model: pm.Model, vars: Sequence[object] | None) -> list[str]:
    """Free-variable names (in ``model.free_RVs`` order) for ``vars`` (names or variables)."""
    if vars is None:
        return [rv.name for rv in model.free_RVs]
    chosen = {_free_name(model, v) for v in vars}
    return [rv.name for rv in model.free_RVs if rv.name in chosen]


def information_graph(
    model: pm.Model, *, space: Space = "unconstrained", vars: Sequence[object] | None = None
) -> LikelihoodInformation:
    """Build the likelihood's expected information over ``vars`` as a graph of θ.

    Raises
    ------
    NoObservedVariablesError
        If the model has no likelihood.
    NoClosedFormError
        If an observed distribution has no closed-form information.
    """
    mg = graph_of(model, space)
    if not mg.observed_factors:
        raise NoObservedVariablesError(
            "The model has no observed variables, so its likelihood carries no information."
        )
    split_factors(mg, include_prior=False, method="analytic")  # names a factor with no closed form
    info = expected_information_graph(mg)
    names = selected_names(model, vars)
    rv_order = [rv.name for rv in model.free_RVs]
    index: list[int] = []
    labels: list[str] = []
    for s, rv_name in zip(mg.layout.slices, rv_order, strict=True):
        if rv_name in names:
            index.extend(range(s.start, s.stop))
            labels.extend(mg.layout.labels[s])
    index_arr = np.array(index, dtype=np.intp)
    if len(index_arr) != mg.layout.size:
        info = info[index_arr][:, index_arr]
    return LikelihoodInformation(mg, mg.theta, info, index_arr, tuple(labels))


def logdet_graph(matrix: TensorVariable) -> TensorVariable:
    """``log det`` of a symmetric positive-definite matrix by Cholesky (NaN if not PD)."""
    chol = pt.linalg.cholesky(matrix, lower=True, check_finite=False, on_error="nan")
    return 2.0 * pt.sum(pt.log(pt.diagonal(chol)))


def shared_in(graphs: Sequence[TensorVariable], name: str) -> list[SharedVariable]:
    """Shared variables named ``name`` among the ancestors of ``graphs``."""
    return [v for v in ancestors(list(graphs)) if isinstance(v, SharedVariable) and v.name == name]
