"""Model → compiled functions of θ that the Laplace approximation needs.

Two compiled functions, built once per (model, options) and cached with the model, serve
three callables:

- ``logp_grad(θ) -> (log p, ∇ log p)``: the optimisation target;
- ``curvature(θ) -> C``: ``-∇² log p`` or the expected information of the whole graph;
- ``draws(Θ) -> (free variables, Deterministics, log p)``: for each row of Θ, the
  constrained values of every free variable and Deterministic, and the Jacobian-including
  unconstrained log-density (the target the Gaussian approximates, for Pareto k̂).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, NamedTuple

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pytensor.graph.basic import Variable
from pytensor.graph.replace import graph_replace
from pytensor.tensor.variable import TensorVariable

from pymc_fisher.compile import cached, compile_function
from pymc_fisher.fisher.expected import expected_information_graph
from pymc_fisher.fisher.model_graph import ModelGraph
from pymc_fisher.fisher.observed import negative_hessian
from pymc_fisher.information import graph_of

__all__ = ["LaplaceFunctions", "laplace_functions", "theta_graphs"]

Curvature = Literal["observed", "expected"]


class LaplaceFunctions(NamedTuple):
    """Compiled callables of θ (unconstrained, raveled as ``mg.layout``)."""

    mg: ModelGraph
    logp_grad: Callable[[np.ndarray], tuple[float, np.ndarray]]
    curvature: Callable[[np.ndarray], np.ndarray]
    draws: Callable[[np.ndarray], list[np.ndarray]]
    output_names: tuple[str, ...]


def theta_graphs(mg: ModelGraph, graphs: Sequence[Variable]) -> list[TensorVariable]:
    """Rewrite graphs of the model's value variables (and RVs) as graphs of ``mg.theta``.

    ``mg`` must be the unconstrained graph, whose layout names are the value variables.
    """
    model = mg.model
    value_of = {v.name: v for v in model.value_vars}
    replace = {
        value_of[name]: mg.theta[s].reshape(shape).astype(value_of[name].type.dtype)
        for name, s, shape in zip(mg.layout.names, mg.layout.slices, mg.layout.shapes, strict=True)
    }
    in_values = model.replace_rvs_by_values(list(graphs))
    return list(graph_replace(in_values, replace, strict=False))


def _build(model: pm.Model, jacobian: bool, curvature: Curvature) -> LaplaceFunctions:
    mg = graph_of(model, "unconstrained")
    theta = mg.theta
    logp_jacobian = mg.logp()
    if jacobian:
        target = logp_jacobian
    else:
        # The density of the constrained values, written in unconstrained coordinates: its
        # mode maps to the constrained-space mode, and its negative Hessian there is the
        # constrained-space precision pulled back, Jᵀ (−∇²_c log p) J (the gradient vanishes).
        (target,) = theta_graphs(mg, [pt.as_tensor(model.logp(jacobian=False))])
    gradient: TensorVariable = pt.grad(target, theta)  # type: ignore[assignment]
    if curvature == "observed":
        c = negative_hessian(target, theta)
    else:
        c = expected_information_graph(mg, include_prior=True)
    curvature_fn = compile_function([theta], c, name="laplace_curvature")

    outputs = [*model.free_RVs, *model.deterministics]
    names = tuple(v.name for v in outputs)
    graphs = [*theta_graphs(mg, outputs), logp_jacobian]
    # One function for the optimiser and the draws: compilation, not evaluation, dominates a
    # fresh process, and the extra outputs are cheap beside the gradient. Draws are a loop
    # over the unbatched graph, which compiles much faster than its vectorize_graph (Blockwise)
    # version; 1000 calls cost milliseconds.
    point_fn = compile_function([theta], [target, gradient, *graphs], name="laplace_point")

    def logp_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
        f, g, *_ = point_fn(x)
        return float(f), np.asarray(g, dtype=float)

    def curvature_at(x: np.ndarray) -> np.ndarray:
        return np.asarray(curvature_fn(x), dtype=float)

    def draws(x: np.ndarray) -> list[np.ndarray]:
        rows = [point_fn(row)[2:] for row in np.asarray(x, dtype=float)]
        return [np.stack([np.asarray(r[k]) for r in rows]) for k in range(len(graphs))]

    return LaplaceFunctions(mg, logp_grad, curvature_at, draws, names)


def laplace_functions(model: pm.Model, *, jacobian: bool, curvature: Curvature) -> LaplaceFunctions:
    """Return the compiled functions for ``model``, built once per ``(jacobian, curvature)``."""
    return cached(
        model, ("laplace", jacobian, curvature), lambda: _build(model, jacobian, curvature)
    )
