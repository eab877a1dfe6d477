"""Model → compiled functions of θ that the Laplace approximation needs.

Three compiled functions, built once per (model, options) and cached with the model, serve
three callables:

- ``logp_grad(θ) -> (log p, ∇ log p)``: the optimisation target;
- ``curvature(θ) -> C``: ``-∇² log p`` or the expected information of the whole graph;
- ``draws(Θ) -> (free variables, Deterministics, log p)``: for each row of Θ, the
  constrained values of every free variable and Deterministic, and the Jacobian-including
  unconstrained log-density (the target the Gaussian approximates, for Pareto k̂).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pymc.logprob.utils import local_check_parameter_to_ninf_switch, local_remove_check_parameter
from pytensor.compile.mode import Mode
from pytensor.graph.basic import Variable
from pytensor.graph.fg import FunctionGraph
from pytensor.graph.replace import vectorize_graph
from pytensor.graph.rewriting.basic import dfs_rewriter
from pytensor.tensor.variable import TensorVariable

from pymc_fisher.compile import cached, compile_function
from pymc_fisher.compile_mode import LAPLACE_MODE_NAME, resolve_mode
from pymc_fisher.fisher.expected import expected_information_graph
from pymc_fisher.fisher.model_graph import ModelGraph, graph_of

__all__ = ["Curvature", "LaplaceFunctions", "laplace_functions"]

Curvature = Literal["observed", "expected"]


class LaplaceFunctions(NamedTuple):
    """Compiled callables of θ (unconstrained, raveled as ``mg.layout``)."""

    mg: ModelGraph
    logp_grad: Callable[[np.ndarray], tuple[float, np.ndarray]]
    curvature: Callable[[np.ndarray], np.ndarray]
    draws: Callable[[np.ndarray], list[np.ndarray]]
    output_names: tuple[str, ...]


def _build(
    model: pm.Model, jacobian: bool, curvature: Curvature, mode: Mode | str | None
) -> LaplaceFunctions:
    mg = graph_of(model, "unconstrained")
    theta = mg.theta
    logp_jacobian = mg.logp()
    if jacobian:
        target = logp_jacobian
    else:
        # The density of the constrained values, written in unconstrained coordinates: its
        # mode maps to the constrained-space mode, and its negative Hessian there is the
        # constrained-space precision pulled back, Jᵀ (−∇²_c log p) J (the gradient vanishes).
        (target,) = mg.to_theta([pt.as_tensor(model.logp(jacobian=False))])
    gradient: TensorVariable = pt.grad(target, theta)  # type: ignore[assignment]
    point_fn = compile_function(
        [theta], [target, gradient], name="laplace_point", mode=mode, sampling=True
    )
    curvature_at = (
        _observed_curvature(theta, gradient, mode)
        if curvature == "observed"
        else _compiled_matrix(theta, expected_information_graph(mg, include_prior=True), mode)
    )

    outputs = [*model.free_RVs, *model.deterministics]
    names = tuple(v.name for v in outputs)
    graphs = [*mg.to_theta(outputs), logp_jacobian]
    # All draws in one call: evaluating the graph row by row costs a pass of the VM per draw
    # (measured: 0.26-0.39 s for 1000 draws without code generation, 0.01-0.05 s batched).
    rows = pt.matrix("theta_rows", dtype=theta.dtype)
    batched: Any = vectorize_graph(_parameter_checks_as_switches(model, graphs), {theta: rows})
    draws_fn = compile_function([rows], batched, name="laplace_draws", mode=mode, sampling=True)

    # Trial points of the line search, and Gaussian draws, may leave the support (an
    # underflowing scale): NumPy's warnings there are expected, and the -inf or NaN they come
    # with is what the callers test for (the line search rejects the point; a draw gets
    # importance ratio 0).
    def logp_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
        with np.errstate(all="ignore"):
            f, g = point_fn(x)
        return float(f), np.asarray(g, dtype=float)

    def draws(x: np.ndarray) -> list[np.ndarray]:
        with np.errstate(all="ignore"):
            return [np.asarray(v) for v in draws_fn(np.asarray(x, dtype=float))]

    return LaplaceFunctions(mg, logp_grad, curvature_at, draws, names)


def _parameter_checks_as_switches(model: pm.Model, graphs: Sequence[Variable]) -> list[Variable]:
    """PyMC's parameter checks as ``switch(condition, log p, -inf)``, before batching.

    A check's condition is one scalar: batched, it would reduce over every row, and one draw
    outside the support would make every row's ``log p`` ``-inf``. As a switch its condition
    is per row. (Without ``check_bounds`` the checks go, as in ``pm.pytensorf.compile``.)
    """
    rewrite = (
        local_check_parameter_to_ninf_switch if model.check_bounds else local_remove_check_parameter
    )
    fgraph = FunctionGraph(outputs=list(graphs), clone=True, copy_inputs=False)
    dfs_rewriter(rewrite).rewrite(fgraph)
    return list(fgraph.outputs)


def _compiled_matrix(
    theta: TensorVariable, matrix: Any, mode: Mode | str | None
) -> Callable[[np.ndarray], np.ndarray]:
    fn = compile_function([theta], matrix, name="laplace_curvature", mode=mode, sampling=True)
    return lambda x: np.asarray(fn(x), dtype=float)


def _observed_curvature(
    theta: TensorVariable, gradient: TensorVariable, mode: Mode | str | None
) -> Callable[[np.ndarray], np.ndarray]:
    """``-∇² log p`` column by column from exact Hessian-vector products.

    One reverse-over-reverse pass per column, ``d`` calls of a small function: the Hessian is
    needed at a handful of Newton iterates, and the graph of ``H v`` compiles in a fraction of
    the time of the vectorised Jacobian's (measured: 0.08 s against 0.25-0.5 s).
    """
    v = pt.vector("direction", dtype=theta.dtype)
    hv: Any = pt.grad(pt.sum(gradient * v), theta)
    fn = compile_function([theta, v], -hv, name="laplace_hessian_vector", mode=mode, sampling=True)

    def curvature_at(x: np.ndarray) -> np.ndarray:
        eye = np.eye(x.size)
        columns = np.column_stack([np.asarray(fn(x, e), dtype=float) for e in eye])
        return 0.5 * (columns + columns.T)  # symmetric to rounding; make it exactly so

    return curvature_at


def laplace_functions(
    model: pm.Model,
    *,
    jacobian: bool,
    curvature: Curvature,
    mode: Mode | str | None = LAPLACE_MODE_NAME,
) -> LaplaceFunctions:
    """Return the compiled functions for ``model``, built once per ``(jacobian, curvature, mode)``.

    ``mode`` is the PyTensor compile mode: ``"LAPLACE"`` (default,
    :data:`~pymc_fisher.compile_mode.LAPLACE_MODE`), a PyTensor mode or its name, or
    ``None`` (PyTensor's default). The functions compile as PyMC's samplers' do, in the model's
    context: a parameter outside its support gives ``log p = -inf`` (with the model's
    ``check_bounds``), not an exception.
    """

    def build() -> LaplaceFunctions:
        with model:  # pm.pytensorf.compile reads check_bounds from the model in context
            return _build(model, jacobian, curvature, resolve_mode(mode))

    return cached(model, ("laplace", jacobian, curvature, mode), build)
