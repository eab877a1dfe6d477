"""A PyMC model as the two compiled functions the Riemannian integrator calls.

- ``evaluate(θ) -> (log p, ∇log p, A)``: everything needed at one position in ONE call, where
  ``A`` is the metric's matrix (``G`` itself for ``"fisher"``/``"hessian"``/callables, the
  Hessian of ``-log p`` for ``"softabs"``).
- ``contract(θ, W) -> ∇_θ Σ A(θ) ∘ W``: the metric-derivative term by one reverse pass.

θ is the step method's variables raveled in the order ``ArrayStepShared`` ravels them; the
model's other value variables are shared variables that the step method sets before each step.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from pytensor.compile import Function
from pytensor.gradient import jacobian
from pytensor.graph.replace import graph_replace
from pytensor.tensor.variable import TensorVariable

from pymc_fisher.compile import compile_function
from pymc_fisher.fisher.model_graph import substitute, theta_replacements
from pymc_fisher.samplers.core.types import PositionPoint, RiemannianSystem
from pymc_fisher.samplers.metric.operations import Metric

__all__ = [
    "CompiledModel",
    "MetricName",
    "compile_model",
    "object_mode_ops",
    "reference_system",
]

MetricName = Literal["fisher", "softabs", "hessian"]
MetricGraph = Callable[[TensorVariable], TensorVariable]


@dataclass
class CompiledModel:
    """The compiled functions and the shared variables they read.

    Attributes
    ----------
    evaluate
        ``θ -> (log p, ∇log p, A)``.
    contract
        ``(θ, W) -> ∇_θ Σ A(θ) ∘ W``.
    shared
        Shared variable of each value variable not sampled by this step, by value variable.
    size
        Length of θ.
    object_mode_ops
        Ops of the graphs that Numba runs in object mode (their bodies cannot be called from
        the compiled kernel).
    """

    evaluate: Function
    contract: Function
    shared: dict
    size: int
    object_mode_ops: tuple[str, ...] = field(default=())


def _theta_replacements(
    model: pm.Model, vars: Sequence[Any], point: dict[str, Any]
) -> tuple[TensorVariable, dict, dict, dict[str, Any]]:
    theta = pt.vector("theta", dtype="float64")
    replace: dict = theta_replacements(vars, [np.shape(point[v.name]) for v in vars], theta)
    shared: dict = {}
    # raveled graph of each value variable's θ entries
    pieces: dict[str, Any] = {v.name: replace[v].ravel().astype("float64") for v in vars}
    names = {v.name for v in vars}
    for value in model.value_vars:
        if value.name not in names:
            sv = pytensor.shared(np.asarray(point[value.name]), value.name + "_shared")
            shared[value] = sv
            replace[value] = sv
            pieces[value.name] = pt.as_tensor(sv).ravel().astype("float64")
    return theta, replace, shared, pieces


def _fisher_graph(
    model: pm.Model,
    vars: Sequence[Any],
    point: dict[str, Any],
    theta: TensorVariable,
    pieces: dict[str, Any],
) -> Any:
    # Imported here: the graph layer's expected information is optional for the other metrics.
    from pymc_fisher.fisher.expected import expected_information_graph
    from pymc_fisher.fisher.model_graph import model_graph, point_shapes

    mg = model_graph(model, point_shapes(point))
    info0 = expected_information_graph(mg, include_prior=True)
    if list(mg.layout.names) == [v.name for v in vars]:
        # θ is the whole layout in its order (the usual case): no concatenation, no selection,
        # which would cost copies in every call of the metric and its derivative
        direct: dict[Any, Any] = {mg.theta: theta}
        return graph_replace(info0, direct, strict=False)
    full = pt.concatenate([pieces[name] for name in mg.layout.names])
    replace_theta: dict[Any, Any] = {mg.theta: full}
    info: Any = graph_replace(info0, replace_theta, strict=False)
    index = np.concatenate(
        [np.arange(mg.layout.size)[mg.layout.slices[mg.layout.names.index(v.name)]] for v in vars]
    )
    return info[index][:, index]


def compile_model(
    model: pm.Model,
    vars: Sequence[Any],
    point: dict[str, Any],
    metric: MetricName | MetricGraph,
) -> CompiledModel:
    """Build and compile the evaluate/contract functions of ``model`` for ``metric``.

    Parameters
    ----------
    model
        The PyMC model.
    vars
        The value variables θ is made of, in order.
    point
        A point giving every value variable's shape (and the shared variables' start values).
    metric
        ``"fisher"``, ``"softabs"``, ``"hessian"``, or a callable ``θ -> G(θ)`` taking the raveled
        θ (a PyTensor vector) and returning a ``(d, d)`` graph.

    Returns
    -------
    CompiledModel
    """
    theta, replace, shared, pieces = _theta_replacements(model, vars, point)
    [logp] = substitute(model, [model.logp(jacobian=True)], replace)
    grad: Any = pytensor.grad(logp, theta)
    matrix: Any
    if metric in ("hessian", "softabs"):
        matrix = -jacobian(grad, theta, vectorize=True)
    elif metric == "fisher":
        matrix = _fisher_graph(model, vars, point, theta, pieces)
    elif callable(metric):
        matrix = pt.as_tensor(metric(theta)).astype("float64")
    else:
        raise ValueError(
            f"metric must be 'fisher', 'softabs', 'hessian' or a callable, got {metric!r}"
        )
    weights = pt.matrix("weights", dtype="float64")
    # A constant metric (Gaussian models, a constant callable) has no derivative: zeros.
    contraction: Any = pytensor.grad(pt.sum(matrix * weights), theta, disconnected_inputs="ignore")
    # Numba: the kernel calls the functions' bodies from its own compiled loop. As in PyMC's
    # samplers, a parameter outside its support gives log p = -inf (a divergence), not an error.
    with model, warnings.catch_warnings(record=True) as caught:
        # PyTensor announces each op it runs in Numba's object mode; the kernel names them when
        # it has to fall back (other warnings keep their filters)
        warnings.filterwarnings("always", message=_OBJECT_MODE.pattern)
        evaluate = compile_function(
            [theta], [logp, grad, matrix], name="rmhmc_evaluate", mode="NUMBA", sampling=True
        )
        contract = compile_function(
            [theta, weights], contraction, name="rmhmc_contract", mode="NUMBA", sampling=True
        )
    ops = tuple(
        dict.fromkeys(m.group(1) for w in caught if (m := _OBJECT_MODE.search(str(w.message))))
    )
    evaluate.trust_input = True
    contract.trust_input = True
    size = sum(int(np.prod(np.shape(point[v.name]), dtype=int)) for v in vars)
    return CompiledModel(evaluate, contract, shared, size, ops)


_OBJECT_MODE = re.compile(r"Numba will use object mode to run (.*)'s perform method")


def object_mode_ops(compiled: CompiledModel) -> tuple[str, ...]:
    """The ops of ``compiled`` that Numba runs in object mode (see :class:`CompiledModel`)."""
    return compiled.object_mode_ops


def reference_system(compiled: CompiledModel, metric: Metric) -> RiemannianSystem:
    """The compiled model and a metric as the reference integrator's ``RiemannianSystem``.

    ``evaluate`` returns ``"energy"`` when ``log p`` or its gradient is not finite and
    ``"metric"`` when ``G`` is not positive definite.
    """
    evaluate_fn = compiled.evaluate
    contract_fn = compiled.contract
    factor = metric.factor

    def evaluate(theta: np.ndarray) -> PositionPoint | str:
        logp, grad, matrix = evaluate_fn(theta)
        if not (np.isfinite(logp) and np.all(np.isfinite(grad))):
            return "energy"
        f = factor(matrix)
        if f is None:
            return "metric"
        return PositionPoint(theta, float(logp), grad, f)

    def contract(theta: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return contract_fn(theta, weights)

    return RiemannianSystem(evaluate, contract)
