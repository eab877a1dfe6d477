"""Optimal experimental design: the values of a ``pm.Data`` container that optimise a criterion.

The container (a shared variable of the model's graph) is replaced by a symbolic input of the
information graph, so the criterion is differentiated exactly with respect to the design and
optimised by L-BFGS-B within bounds. Given posterior draws, the criterion is averaged over them
(Bayesian, or pseudo-Bayesian, design; Chaloner & Verdinelli 1995).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple, cast

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pytensor.compile import Function
from pytensor.gradient import DisconnectedInputError
from pytensor.graph.basic import Variable
from pytensor.graph.replace import graph_replace
from pytensor.tensor.variable import TensorVariable
from scipy import optimize

from pymc_fisher.compile import compile_function
from pymc_fisher.errors import FisherError, NotPositiveDefiniteError
from pymc_fisher.fisher.model_graph import Space
from pymc_fisher.geometry.criteria import CRITERIA, GOALS, Criterion, criterion_loss
from pymc_fisher.geometry.graphs import LikelihoodInformation, information_graph, shared_in
from pymc_fisher.geometry.points import (
    dataset_thetas,
    posterior_points,
    theta_of,
    unconstrained_point,
)
from pymc_fisher.seeds import RandomSeed, as_generator
from pymc_fisher.validation import check_option, reject_inapplicable

__all__ = ["DesignResult", "DesignVariableError", "design_loss", "optimize_design"]


class DesignVariableError(FisherError, TypeError):
    """The design variable is not a continuous ``pm.Data`` container the information uses."""


class DesignResult(NamedTuple):
    """The optimal design and how the optimiser got there.

    Attributes
    ----------
    value
        Optimal values of the container, in its shape.
    criterion
        The criterion's name.
    criterion_value
        The criterion at ``value`` (``log det I`` for D, ...; averaged over the draws).
    initial_value
        The criterion at the initial design.
    converged
        Whether L-BFGS-B reported convergence.
    message
        The optimiser's message.
    iterations
        Optimiser iterations.
    evaluations
        Criterion-and-gradient evaluations.
    draws
        Number of parameter points the criterion was averaged over.
    """

    value: np.ndarray
    criterion: str
    criterion_value: float
    initial_value: float
    converged: bool
    message: str
    iterations: int
    evaluations: int
    draws: int


def _design_data(model: pm.Model, data_name: str):
    if data_name not in model.named_vars:
        raise DesignVariableError(
            f"{data_name!r} is not a variable of the model. The design variable must be a "
            f"pm.Data container; the model has {[d.name for d in model.data_vars]}."
        )
    var = model.named_vars[data_name]
    if var not in model.data_vars:
        raise DesignVariableError(
            f"{data_name!r} is not a pm.Data container (it is a {type(var).__name__} of the "
            f"model). Wrap the design in pm.Data({data_name!r}, ...) so it can be replaced."
        )
    if not var.type.dtype.startswith("float"):
        raise DesignVariableError(
            f"pm.Data container {data_name!r} has dtype {var.type.dtype}; a design optimised by "
            f"gradient must be floating point (pass float values to pm.Data)."
        )
    return var


def _only_design_data(model: pm.Model) -> str:
    """The name of the model's only floating-point ``pm.Data`` container."""
    names = [d.name for d in model.data_vars if d.type.dtype.startswith("float")]
    if len(names) != 1:
        raise DesignVariableError(
            f"The model has {len(names)} floating-point pm.Data containers ({names}): name the "
            f"design, optimize_design(model, data_name=...)."
        )
    return names[0]


def _parameter_points(model, ig, point, space, max_draws, random_seed) -> np.ndarray:
    layout = ig.mg.layout
    if point is None:
        point = model.initial_point()
    if isinstance(point, Mapping) and not hasattr(point, "children"):
        return theta_of(model, layout, point, space)[None, :]
    ds = posterior_points(point, model)
    n = ds.sizes["sample"]
    if max_draws is not None and max_draws < n:
        keep = np.sort(as_generator(random_seed).choice(n, size=max_draws, replace=False))
        ds = ds.isel(sample=keep)
    if space == "constrained":
        return dataset_thetas(ds, layout)
    rows = []
    for i in range(ds.sizes["sample"]):
        draw = {str(k): ds[k].values[i] for k in ds.data_vars}
        rows.append(layout.ravel(unconstrained_point(model, draw)))
    return np.asarray(rows)


def _bounds(bounds, shape) -> list[tuple[float | None, float | None]] | None:
    if bounds is None:
        return None
    arr = np.asarray(bounds, dtype=float)
    if arr.shape == (2,):
        arr = np.broadcast_to(arr, (*shape, 2))
    arr = np.broadcast_to(arr, (*shape, 2)).reshape(-1, 2)
    return [(None if np.isinf(lo) else lo, None if np.isinf(hi) else hi) for lo, hi in arr]


def design_loss(
    model: pm.Model,
    data_name: str,
    *,
    criterion: Criterion = "D",
    vars: Sequence[object] | None = None,
    space: Space = "unconstrained",
) -> tuple[LikelihoodInformation, Function]:
    """Compile ``(θ, design) -> (loss, ∂loss/∂design)`` for one parameter point.

    The loss is ``criterion_loss`` of the information with the ``pm.Data`` container replaced
    by the symbolic input ``design``.

    Raises
    ------
    DesignVariableError
        If ``data_name`` is not a floating-point ``pm.Data`` container the information uses.
    """
    check_option("criterion", criterion, CRITERIA)
    check_option("space", space, Space)
    _design_data(model, data_name)
    ig = information_graph(model, space=space, vars=vars)
    copies = shared_in([ig.information], data_name)
    if not copies:
        raise DesignVariableError(
            f"The information of {list(ig.labels)} does not depend on pm.Data {data_name!r}, "
            f"so there is no design to optimise (is it the observed data?)."
        )
    design = copies[0].type(name=data_name)
    replace: dict[Variable, Variable] = dict.fromkeys(copies, design)
    (info,) = graph_replace([ig.information], replace, strict=False)
    loss = criterion_loss(pt.as_tensor(info), criterion)
    # one parameter point per call, averaged in Python: compiles in a fraction of the time a
    # graph vectorised over the draws takes, and the per-call cost is small
    try:
        grad = cast(TensorVariable, pt.grad(loss, design))
    except DisconnectedInputError:  # only the container's shape enters, e.g. observed data
        raise DesignVariableError(
            f"The information of {list(ig.labels)} does not depend on the values of pm.Data "
            f"{data_name!r}, so there is no design to optimise (is it the observed data?)."
        ) from None
    fn = compile_function([ig.theta, design], [loss, grad], name="design_loss", mode="NUMBA")

    return ig, fn


def optimize_design(
    model: pm.Model | None = None,
    data_name: str | None = None,
    *,
    point: Mapping[str, object] | object | None = None,
    criterion: Criterion = "D",
    bounds: tuple[float, float] | np.ndarray | None = None,
    initial: np.ndarray | None = None,
    vars: Sequence[object] | None = None,
    space: Space = "unconstrained",
    max_draws: int | None = None,
    random_seed: RandomSeed = None,
    maxiter: int = 1000,
    tol: float = 1e-12,
) -> DesignResult:
    r"""Find the values of a ``pm.Data`` container that optimise a design criterion.

    Parameters
    ----------
    model
        The model (default: the one in context); the design enters the likelihood through
        the container.
    data_name
        Name of the ``pm.Data`` container holding the design (e.g. covariate values, times);
        default: the model's only floating-point ``pm.Data`` container.
    point
        Parameter values (a dict keyed by variable or value-variable names) for a locally
        optimal design (default: the model's initial point), or a ``DataTree`` whose
        ``posterior`` group has draws: the criterion is then averaged over them.
    criterion
        ``"D"``, ``"A"``, ``"E"`` or ``"modified_E"`` (see ``design_criteria``).
    bounds
        ``(low, high)`` for every entry, or an array ``(*shape, 2)`` per entry; ``±inf`` or
        ``None`` means unbounded.
    initial
        Initial design (default: the container's current value).
    vars
        Free variables whose information block the criterion uses (default all).
    space
        Coordinates of the information: the model's value variables (``"unconstrained"``, as
        everywhere in the package) or its parameters (``"constrained"``). D-optimal designs do
        not depend on it; A and E designs do.
    max_draws
        At most this many posterior draws, chosen at random with ``random_seed``.
    random_seed
        Seed for the choice of draws: anything ``pm.sample`` takes.
    maxiter, tol
        L-BFGS-B's iteration limit and ``ftol``/``gtol``.

    Returns
    -------
    DesignResult
        The optimal ``value`` (the container's shape) with the criterion and the optimiser's
        report. The model's container is not changed; use ``pm.set_data``.

    Raises
    ------
    DesignVariableError
        If ``data_name`` is not a floating-point ``pm.Data`` container, or the information
        does not depend on it, or it is not given and the model has no single such container.
    NotPositiveDefiniteError
        If the information is singular or not finite at the initial design.

    Notes
    -----
    The loss is ``L(d) = (1/S) Σₛ ℓ(I(θₛ, d))`` with ``ℓ`` from ``criterion_loss`` and ``θₛ`` the
    parameter points; its gradient ``∂L/∂d`` is by reverse mode through ``I``'s graph.

    References
    ----------
    Chaloner, K. & Verdinelli, I. (1995). Bayesian experimental design: a review.
    *Statistical Science* 10(3), 273–304.
    """
    model = pm.modelcontext(model)
    reject_inapplicable(
        {"random_seed": random_seed is not None and max_draws is None},
        when="max_draws=None",
        advice="the seed chooses the draws that max_draws keeps; leave it out, or set max_draws.",
    )
    data_name = data_name if data_name is not None else _only_design_data(model)
    data = _design_data(model, data_name)
    ig, fn = design_loss(model, data_name, criterion=criterion, vars=vars, space=space)

    thetas = _parameter_points(model, ig, point, space, max_draws, random_seed)
    current = np.asarray(data.get_value(), dtype=data.type.dtype)
    x0 = current if initial is None else np.asarray(initial, dtype=data.type.dtype)
    shape = x0.shape
    evaluations = 0

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        nonlocal evaluations
        evaluations += 1
        d = x.reshape(shape).astype(data.type.dtype)
        value, grad = 0.0, np.zeros(shape)
        for theta in thetas:
            v, g = fn(theta, d)
            value += float(v) / len(thetas)
            grad += np.asarray(g, dtype=float) / len(thetas)
        if not np.isfinite(value):
            return np.inf, np.zeros_like(x)
        return value, grad.reshape(-1)

    initial_loss, _ = objective(x0.reshape(-1).astype(float))
    if not np.isfinite(initial_loss):
        raise NotPositiveDefiniteError(
            f"The information is singular or not finite at the initial design of {data_name!r}; "
            f"start from a design that identifies every parameter (initial=...)."
        )
    res = optimize.minimize(
        objective,
        x0.reshape(-1).astype(float),
        jac=True,
        method="L-BFGS-B",
        bounds=_bounds(bounds, shape),
        options={"maxiter": maxiter, "ftol": tol, "gtol": tol},
    )
    sign = -1.0 if GOALS[criterion] == "maximize" else 1.0
    return DesignResult(
        value=np.asarray(res.x).reshape(shape),
        criterion=criterion,
        criterion_value=sign * float(res.fun),
        initial_value=sign * initial_loss,
        converged=bool(res.success),
        message=str(res.message),
        iterations=int(res.nit),
        evaluations=evaluations,
        draws=int(thetas.shape[0]),
    )
