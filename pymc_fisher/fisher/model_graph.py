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

from collections.abc import Sequence
from typing import Any, Literal, NamedTuple, cast

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pymc.logprob.transforms import LogOddsTransform, LogTransform
from pymc.model.transform.conditioning import remove_value_transforms
from pytensor.graph.replace import graph_replace
from pytensor.graph.traversal import ancestors
from pytensor.tensor.variable import TensorVariable

from pymc_fisher.errors import DiscreteVariableError, NoObservedVariablesError
from pymc_fisher.labels import ParameterLayout, parameter_layout

__all__ = ["Factor", "ModelGraph", "Space", "depends_on", "model_graph", "point_shapes"]

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

    def to_theta(self, graphs: Sequence[TensorVariable]) -> list[TensorVariable]:
        """Re-express graphs of the model's random variables as graphs of θ."""
        rv_free: Any = self.model.replace_rvs_by_values(list(graphs))
        return cast(list[TensorVariable], graph_replace(rv_free, self.replacements, strict=False))

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


def _check_continuous(model: pm.Model) -> None:
    for rv in model.free_RVs:
        if rv.type.dtype.startswith(("int", "uint", "bool")):
            raise DiscreteVariableError(
                f"Free variable {rv.name!r} is discrete ({rv.type.dtype}), so the log-density has "
                f"no derivative with respect to it. Observe it, marginalize it out "
                f"(pymc_extras.marginalize), or fix it with pm.do(model, {{{rv.name!r}: value}})."
            )


def model_graph(
    model: pm.Model, shapes: dict[str, tuple[int, ...]], space: Space = "unconstrained"
) -> ModelGraph:
    """Express ``model``'s factors as graphs of one raveled vector θ.

    Parameters
    ----------
    model
        A PyMC model with continuous free variables.
    shapes
        The shape of each value variable by name (unconstrained names; from a point).
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
    _check_continuous(model)
    transforms = {rv.name: model.rvs_to_transforms.get(rv) for rv in model.free_RVs}
    order = [rv.name for rv in model.free_RVs]
    if space == "constrained":
        constrained_name = {model.rvs_to_values[rv].name: rv.name for rv in model.free_RVs}
        shapes = {constrained_name.get(k, k): v for k, v in shapes.items()}
        model = remove_value_transforms(model)
    layout = parameter_layout(model, shapes, order=order)
    value_of = {model.rvs_to_values[rv].name: model.rvs_to_values[rv] for rv in model.free_RVs}
    value_vars = [value_of[name] for name in layout.names]

    theta = pt.vector("theta", dtype="float64")
    replace = {
        value: theta[s].reshape(shape).astype(value.type.dtype)
        for value, s, shape in zip(value_vars, layout.slices, layout.shapes, strict=True)
    }

    def in_theta(graphs: Sequence[TensorVariable]) -> list[TensorVariable]:
        rv_free: Any = model.replace_rvs_by_values(list(graphs))
        return cast(list[TensorVariable], graph_replace(rv_free, replace, strict=False))

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
        *params, logp_theta = in_theta([*raw_params, logp])
        value_theta = value if observed else replace[value]
        coordinate = None if observed else _coordinate_name(transforms.get(rv.name))
        if space == "constrained" and not observed:
            coordinate = "identity"
        factors.append(Factor(rv.name, rv, op, tuple(params), value_theta, logp_theta, coordinate))
    potentials = tuple(in_theta(model.potentials)) if model.potentials else ()
    return ModelGraph(model, space, theta, layout, tuple(factors), potentials, replace)


def _is_rng(var: TensorVariable) -> bool:
    from pytensor.tensor.random.type import RandomType

    return isinstance(var.type, RandomType)


def point_shapes(point: dict[str, np.ndarray]) -> dict[str, tuple[int, ...]]:
    """Shapes of a point's arrays."""
    return {k: np.shape(v) for k, v in point.items()}
