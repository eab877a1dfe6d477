"""A PyMC model as the two compiled functions the Riemannian integrator calls.

- ``evaluate(θ) -> (log p, ∇log p, A)``: everything needed at one position in ONE call, where
  ``A`` is the metric's matrix (``G`` itself for ``"fisher"``/``"hessian"``/callables, the
  Hessian of ``-log p`` for ``"softabs"``).
- ``contract(θ, W) -> ∇_θ Σ A(θ) ∘ W``: the metric-derivative term by one reverse pass.

θ is the step method's variables raveled in the order ``ArrayStepShared`` ravels them; the
model's other value variables are shared variables that the step method sets before each step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
from pymc_fisher.samplers import kernel
from pymc_fisher.samplers.integrator import (
    IntegratorState,
    LeapfrogReport,
    PositionPoint,
    RiemannianSystem,
    SolverOptions,
)
from pymc_fisher.samplers.metrics import Metric, MetricFactor
from pymc_fisher.samplers.trajectory import TransitionInfo

__all__ = ["CompiledModel", "MetricName", "compile_model", "riemannian_system"]

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
    bound
        The compiled integrator bound to these functions (made on first use, ``False`` when
        the kernel cannot call them; not pickled, a new process binds its own).
    """

    evaluate: Function
    contract: Function
    shared: dict
    size: int
    bound: kernel.Bound | Literal[False] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__ | {"bound": None}


def _theta_replacements(
    model: pm.Model, vars: Sequence[Any], point: dict[str, Any]
) -> tuple[TensorVariable, dict, dict, dict[str, Any]]:
    theta = pt.vector("theta", dtype="float64")
    replace: dict = {}
    shared: dict = {}
    pieces: dict[str, Any] = {}  # raveled graph of each value variable's θ entries
    start = 0
    names = {v.name for v in vars}
    for value in vars:
        shape = np.shape(point[value.name])
        size = int(np.prod(shape, dtype=int))
        piece = theta[start : start + size]
        replace[value] = piece.reshape(shape).astype(value.type.dtype)
        pieces[value.name] = piece
        start += size
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
    logp: Any = graph_replace(model.logp(jacobian=True), replace, strict=False)
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
    with model:
        evaluate = compile_function(
            [theta], [logp, grad, matrix], name="rmhmc_evaluate", mode="NUMBA", sampling=True
        )
        contract = compile_function(
            [theta, weights], contraction, name="rmhmc_contract", mode="NUMBA", sampling=True
        )
    evaluate.trust_input = True
    contract.trust_input = True
    size = sum(int(np.prod(np.shape(point[v.name]), dtype=int)) for v in vars)
    return CompiledModel(evaluate, contract, shared, size)


def riemannian_system(
    compiled: CompiledModel, metric: Metric, *, compiled_integrator: bool = True
) -> RiemannianSystem:
    """Wrap a compiled model and a metric bundle as the integrator's :class:`RiemannianSystem`.

    ``evaluate`` returns ``"energy"`` when ``log p`` or its gradient is not finite and
    ``"metric"`` when ``G`` is not positive definite. With ``compiled_integrator`` (and functions
    compiled by Numba) the system carries the :mod:`.kernel` fast paths; otherwise the NumPy
    reference integrator runs.
    """
    if compiled_integrator and compiled.bound is not False:
        system = kernel_system(compiled, metric)
        if system is not None:
            return system
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


# -- the compiled integrator ------------------------------------------------------------------


def _to_point(t: tuple, alpha: float) -> PositionPoint:
    theta, logp, grad, inverse, sqrt, logdet, Q, g, lam, D = t
    softabs = Q.size > 0
    factor = MetricFactor(
        inverse, sqrt, float(logdet), g if g.size else None, Q if softabs else None,
        lam if softabs else None, alpha, {"D": D, "kernel": t} if softabs else {"kernel": t},
    )  # fmt: skip
    return PositionPoint(theta, float(logp), grad, factor)


def _from_point(point: PositionPoint) -> tuple:
    memo = point.metric.memo
    if memo is not None and "kernel" in memo:
        return memo["kernel"]
    raise ValueError("the compiled integrator takes positions that its own evaluate made")


def _to_state(t: tuple, alpha: float) -> IntegratorState:
    return IntegratorState(_to_point(t[0], alpha), t[1], float(t[2]), t[3])


def _from_state(state: IntegratorState) -> tuple:
    return (
        _from_point(state.position),
        np.ascontiguousarray(state.momentum, np.float64),
        float(state.energy),
        np.ascontiguousarray(state.dH_dtheta, np.float64),
    )


def kernel_system(compiled: CompiledModel, metric: Metric) -> RiemannianSystem | None:
    """The :class:`RiemannianSystem` whose leapfrog and fixed trajectory run in :mod:`.kernel`.

    The model functions' Numba bodies (``Function.vm.jit_fn``) are bound once per compiled
    model (:class:`.kernel.Bound`) and called with the current values of their shared inputs,
    read when this system is made (once per transition).

    Returns ``None`` (and remembers it) when the functions have no Numba body the kernel can
    call: another linker, or a graph with an op Numba runs in object mode, whose body PyTensor
    compiles with a different signature.
    """
    ev_vm: Any = compiled.evaluate.vm  # the JIT linker's thunk: jit_fn and its input cells
    ct_vm: Any = compiled.contract.vm
    if not (hasattr(ev_vm, "jit_fn") and hasattr(ct_vm, "jit_fn")):
        compiled.bound = False
        return None
    extra = (tuple(cell[0] for cell in ev_vm.inputs[1:]), tuple(c[0] for c in ct_vm.inputs[2:]))
    bound = compiled.bound
    if bound is None:
        try:
            bound = kernel.Bound(ev_vm.jit_fn, ct_vm.jit_fn, extra, compiled.size)
        except kernel.NoKernelError:
            compiled.bound = False
            return None
        compiled.bound = bound
    assert bound is not False
    contract_fn = ct_vm.jit_fn
    kind = kernel.SOFTABS if metric.name == "softabs" else kernel.DIRECT
    alpha = float(metric.alpha)

    def evaluate(theta: np.ndarray) -> PositionPoint | str:
        # a copy: the position keeps it, and the caller's array may change or be read-only
        code, t = bound.evaluate(extra, np.array(theta, dtype=np.float64), kind, alpha)
        if code != kernel.NONE:
            return kernel.KINDS[code]
        return _to_point(t, alpha)

    def contract(theta: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return contract_fn(theta, np.ascontiguousarray(weights), *extra[1])[0]

    def leapfrog(
        state: IntegratorState, eps: float, options: SolverOptions
    ) -> tuple[IntegratorState, LeapfrogReport]:
        new, code, it_p, it_q, res, n = bound.leapfrog(
            extra, kind, alpha, _from_state(state), eps, options.atol, options.rtol,
            options.max_iter, options.memory, options.newton_iter,
        )  # fmt: skip
        out = state if code != kernel.NONE else _to_state(new, alpha)
        return out, LeapfrogReport(kernel.KINDS[code], it_p, it_q, float(res), n)  # type: ignore[arg-type]

    def integrate(
        state: IntegratorState,
        eps: float,
        n_steps: int,
        max_energy_error: float,
        options: SolverOptions,
    ) -> tuple:
        new, code, steps, iterations, res, n = bound.integrate(
            extra, kind, alpha, _from_state(state), float(eps), int(n_steps),
            float(max_energy_error), options.atol, options.rtol, options.max_iter,
            options.memory, options.newton_iter,
        )  # fmt: skip
        return _to_state(new, alpha), kernel.KINDS[code], steps, iterations, float(res), n

    def transition(
        point: PositionPoint,
        z: np.ndarray,
        log_u: float,
        eps: float,
        n_steps: int,
        max_energy_error: float,
        options: SolverOptions,
    ) -> tuple[PositionPoint, TransitionInfo]:
        pos, code, stats, energy, steps, iterations, res, n = bound.transition(
            extra, kind, alpha, _from_point(point), z, log_u, eps, n_steps, max_energy_error,
            options.atol, options.rtol, options.max_iter, options.memory, options.newton_iter,
        )  # fmt: skip
        accepted, rate, error, cond = stats
        info = TransitionInfo(
            bool(accepted), float(rate), float(error), float(energy), kernel.KINDS[code],  # type: ignore[arg-type]
            int(steps), int(iterations), float(res), int(n), float(cond),
        )  # fmt: skip
        # a rejected or divergent transition returns the start: keep its Python object
        moved = code == kernel.NONE and info.accepted
        return (_to_point(pos, alpha) if moved else point), info

    return RiemannianSystem(evaluate, contract, leapfrog, integrate, transition)
