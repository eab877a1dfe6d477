"""A PyMC model as PyTensor graphs of one raveled parameter vector θ.

This is the graph layer's single entry point: everything downstream (information matrices,
Laplace, the sampler's metric) differentiates graphs of ``ModelGraph.theta``.

- ``space="unconstrained"``: θ is the model's value variables raveled (``sigma_log__``), and the
  log-prior carries the transforms' log-Jacobian.
- ``space="constrained"``: θ is the same for ``remove_value_transforms(model)``, so it holds the
  untransformed values (``sigma``); a change of variables is then exact by construction, the
  graphs being the model's own densities in those coordinates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple, cast

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pymc.logprob.transforms import LogOddsTransform, LogTransform
from pymc.model.transform.conditioning import remove_value_transforms
from pytensor.graph.basic import Variable
from pytensor.graph.replace import graph_replace
from pytensor.graph.traversal import ancestors
from pytensor.tensor.variable import TensorVariable

from pymc_fisher.compile import cached
from pymc_fisher.errors import NoObservedVariablesError
from pymc_fisher.labels import ParameterLayout, parameter_layout
from pymc_fisher.validation import check_continuous

__all__ = [
    "Factor",
    "ModelGraph",
    "Space",
    "depends_on",
    "graph_of",
    "model_graph",
    "point_shapes",
    "substitute",
    "theta_replacements",
    "value_shapes",
]

Space = Literal["unconstrained", "constrained"]


class Factor(NamedTuple):
    """One factor p(z | parents) of the joint density, as graphs of θ.

    Attributes
    ----------
    name
        The random variable's name.
    rv
        The model's random variable (of the model in θ's space).
    op
        Its Op; the closed-form registry is keyed by ``type(op)``.
    params
        Distribution parameters as graphs of θ, broadcast to the variable's shape.
    value
        The factor's value: a slice of θ for a free variable, the data for an observed one.
    logp
        Elementwise log-density of ``value`` (with the log-Jacobian for a transformed free
        variable in the unconstrained space, so it is the density of the θ coordinate).
    coordinate
        How θ holds the value of a free variable: ``"identity"``, ``"log"``, ``"logodds"``, or
        the transform's class name; ``None`` for an observed variable.
    """

    name: str
    rv: TensorVariable
    op: object
    params: tuple[TensorVariable, ...]
    value: TensorVariable
    logp: TensorVariable
    coordinate: str | None

    @property
    def observed(self) -> bool:
        """Whether the factor is an observed variable (part of the likelihood)."""
        return self.coordinate is None


class ModelGraph(NamedTuple):
    """Graphs of a model's densities as functions of the raveled θ."""

    model: pm.Model
    space: Space
    theta: TensorVariable
    layout: ParameterLayout
    factors: tuple[Factor, ...]
    potentials: tuple[TensorVariable, ...]
    replacements: dict

    def to_theta(self, graphs: Sequence[Variable]) -> list[TensorVariable]:
        """Re-express graphs of the model's random and value variables as graphs of θ."""
        return substitute(self.model, graphs, self.replacements)

    @property
    def observed_factors(self) -> tuple[Factor, ...]:
        """The likelihood's factors."""
        return tuple(f for f in self.factors if f.observed)

    @property
    def free_factors(self) -> tuple[Factor, ...]:
        """The prior's factors."""
        return tuple(f for f in self.factors if not f.observed)

    def loglik(self) -> TensorVariable:
        """Log-likelihood: the sum of the observed factors' log-densities."""
        factors = self.observed_factors
        if not factors:
            raise NoObservedVariablesError(
                "The model has no observed variables, so it has no likelihood. Add observed=... "
                "to a variable, or ask for include_prior=True."
            )
        return pt.add(*(pt.sum(f.logp) for f in factors))

    def logprior(self) -> TensorVariable:
        """Log-prior (with the log-Jacobian in the unconstrained space) plus potentials."""
        terms = [pt.sum(f.logp) for f in self.free_factors] + [pt.sum(p) for p in self.potentials]
        return pt.add(*terms) if terms else pt.constant(0.0, dtype="float64")

    def logp(self) -> TensorVariable:
        """Log of the joint density: log-likelihood + log-prior."""
        if not self.observed_factors:
            return self.logprior()
        return self.loglik() + self.logprior()


def depends_on(graph: TensorVariable, var: TensorVariable) -> bool:
    """Whether ``graph`` has ``var`` among its ancestors."""
    return any(a is var for a in ancestors([graph]))


def _coordinate_name(transform: object | None) -> str:
    if transform is None:
        return "identity"
    if isinstance(transform, LogTransform):
        return "log"
    if isinstance(transform, LogOddsTransform):
        return "logodds"
    return type(transform).__name__


def theta_replacements(
    values: Sequence[TensorVariable], shapes: Sequence[tuple[int, ...]], theta: TensorVariable
) -> dict[TensorVariable, TensorVariable]:
    """Each value variable -> its slice of the raveled ``theta``, reshaped and cast.

    The variables take consecutive slices of ``theta`` in the order given; each slice is cast
    to its variable's dtype, so a float32 model's graphs stay float32 inside while θ is float64.
    """
    replace: dict[TensorVariable, TensorVariable] = {}
    start = 0
    for value, shape in zip(values, shapes, strict=True):
        size = int(np.prod(shape, dtype=int))
        piece = theta[start : start + size]
        replace[value] = cast(TensorVariable, piece.reshape(shape).astype(value.type.dtype))
        start += size
    return replace


def substitute(
    model: pm.Model, graphs: Sequence[Variable], replacements: Mapping[Any, Any]
) -> list[TensorVariable]:
    """Graphs of ``model``'s random (or value) variables as graphs of what replaces the values.

    The random variables are first replaced by their value variables (PyMC's
    ``replace_rvs_by_values``), then the value variables by ``replacements`` (θ's slices).
    """
    rv_free: Any = model.replace_rvs_by_values(list(graphs))
    return cast(list[TensorVariable], graph_replace(rv_free, dict(replacements), strict=False))


def value_shapes(model: pm.Model) -> dict[str, tuple[int, ...]]:
    """Shapes of the model's value variables: their static types when known, else its initial point.

    The initial point compiles a function; static shapes (``shape=8``, data of fixed size) cost
    nothing.
    """
    static = {v.name: v.type.shape for v in model.value_vars}
    if all(None not in shape for shape in static.values()):
        return {name: tuple(int(n) for n in shape) for name, shape in static.items()}
    return {k: np.shape(v) for k, v in model.initial_point().items()}


def model_graph(
    model: pm.Model,
    shapes: Mapping[str, tuple[int, ...]] | None = None,
    space: Space = "unconstrained",
) -> ModelGraph:
    """Express ``model``'s factors as graphs of one raveled vector θ (uncached: see ``graph_of``).

    Parameters
    ----------
    model
        A PyMC model with continuous free variables.
    shapes
        The shape of each value variable by (unconstrained) name, e.g. from a point; default:
        read from the model. Used in the unconstrained space only: in the constrained space θ
        holds the variables' own values, whose shapes are read from the model without its
        transforms (a simplex of ``K`` entries has ``K - 1`` unconstrained ones).
    space
        ``"unconstrained"`` (θ = value variables) or ``"constrained"`` (θ = untransformed values).

    Returns
    -------
    ModelGraph

    Raises
    ------
    DiscreteVariableError
        If a free variable is discrete.
    """
    check_continuous(model)
    transforms = {rv.name: model.rvs_to_transforms.get(rv) for rv in model.free_RVs}
    order = [rv.name for rv in model.free_RVs]
    if space == "constrained":
        model = _without_value_transforms(model)
        shapes = value_shapes(model)
    elif shapes is None:
        shapes = value_shapes(model)
    layout = parameter_layout(model, dict(shapes), order=order)
    value_of = {model.rvs_to_values[rv].name: model.rvs_to_values[rv] for rv in model.free_RVs}
    value_vars = [value_of[name] for name in layout.names]

    theta = pt.vector("theta", dtype="float64")
    replace = theta_replacements(value_vars, layout.shapes, theta)

    factors = []
    # one call for every variable's log density: PyMC's logp derivation per call dominates
    logps = cast(
        list[TensorVariable], model.logp(vars=list(model.basic_RVs), sum=False, jacobian=True)
    )
    for rv, logp in zip(model.basic_RVs, logps, strict=True):
        observed = rv in model.observed_RVs
        node = rv.owner
        op = node.op
        if hasattr(op, "dist_params"):  # RandomVariable, and PyMC's SymbolicRandomVariables
            raw_params: list[Any] = list(op.dist_params(node))
        else:  # no parameter list: no closed form, Monte Carlo only
            raw_params = [i for i in node.inputs if not _is_rng(i)]
        value = model.rvs_to_values[rv]
        *params, logp_theta = substitute(model, [*raw_params, logp], replace)
        value_theta = value if observed else replace[value]
        coordinate = None if observed else _coordinate_name(transforms.get(rv.name))
        if space == "constrained" and not observed:
            coordinate = "identity"
        factors.append(Factor(rv.name, rv, op, tuple(params), value_theta, logp_theta, coordinate))
    potentials = tuple(substitute(model, model.potentials, replace)) if model.potentials else ()
    return ModelGraph(model, space, theta, layout, tuple(factors), potentials, replace)


def _without_value_transforms(model: pm.Model) -> pm.Model:
    """``remove_value_transforms(model)``, also for a model with initial values.

    PyMC's model-to-graph conversion refuses ``initval=...``, which an ``ordered`` variable
    needs (its default initial point, all zeros, is outside the transform's domain). Initial
    values matter only for the initial point, and the constrained model's is read for shapes
    alone (points come from the original model), so the copy is made without them.
    """
    initial_values = model.rvs_to_initial_values
    try:
        model.rvs_to_initial_values = {rv: None for rv in initial_values}
        return remove_value_transforms(model)
    finally:
        model.rvs_to_initial_values = initial_values


def graph_of(model: pm.Model, space: Space = "unconstrained") -> ModelGraph:
    """The model's graphs in ``space``, built once per model (and shapes: see ``compile.cached``).

    Every facade builds a model's graphs through this function, so they are built once and
    share one θ.
    """
    return cached(model, ("model_graph", space), lambda: model_graph(model, space=space))


def _is_rng(var: TensorVariable) -> bool:
    from pytensor.tensor.random.type import RandomType

    return isinstance(var.type, RandomType)


def point_shapes(point: dict[str, np.ndarray]) -> dict[str, tuple[int, ...]]:
    """Shapes of a point's arrays."""
    return {k: np.shape(v) for k, v in point.items()}
