"""Jeffreys priors: ``p(θ) ∝ √det I(θ)`` of the likelihood, as a ``Model → Model`` transform.

The chosen free variables' priors are replaced by an improper base with constant density on
the variable's support (``Flat``, ``HalfFlat``, or ``Uniform`` for a bounded one) that keeps the
variable's value transform, plus one ``Potential`` holding ``½ log det I(θ)``, with ``I`` the
expected information of the likelihood over those variables, computed in their own
(constrained) coordinates. ``√det I`` is then a density with respect to Lebesgue measure in the
constrained space, and PyMC adds the transform's log-Jacobian when sampling in the
unconstrained space, exactly as for any transformed variable.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pymc as pm
from pymc.distributions.transforms import _default_transform
from pymc.logprob.transforms import IntervalTransform, LogOddsTransform, LogTransform
from pymc.model.fgraph import (
    ModelFreeRV,
    ModelVar,
    fgraph_from_model,
    model_free_rv,
    model_from_fgraph,
)
from pymc.pytensorf import toposort_replace
from pytensor.graph.basic import Variable
from pytensor.graph.replace import graph_replace
from pytensor.graph.traversal import ancestors
from pytensor.tensor.variable import TensorVariable

from pymc_fisher.compile import compile_function
from pymc_fisher.errors import FisherError, UnsupportedModelError
from pymc_fisher.geometry.graphs import information_graph, logdet_graph, selected_names, shared_in
from pymc_fisher.geometry.points import constrained_point
from pymc_fisher.validation import check_continuous

__all__ = ["ImproperJeffreysError", "jeffreys_prior"]

POTENTIAL_NAME = "jeffreys_log_density"


class ImproperJeffreysError(FisherError):
    """``√det I(θ)`` is not defined, or not a density, for the chosen variables."""


def _improper_base(rv: TensorVariable, transform: object | None, name: str):
    """Return a base RV with constant density on ``rv``'s support, and the transform to keep."""
    shape = rv.shape
    if transform is None:
        return pm.Flat.dist(shape=shape), None
    if isinstance(transform, LogTransform):
        return pm.HalfFlat.dist(shape=shape), transform
    if isinstance(transform, LogOddsTransform):
        return pm.Uniform.dist(0.0, 1.0, shape=shape), transform
    if isinstance(transform, IntervalTransform):
        lower, upper = transform.args_fn(*rv.owner.inputs)
        bounds = [b for b in (lower, upper) if b is not None]
        if len(bounds) == 2 and not any(
            isinstance(a.owner.op, ModelVar) for a in ancestors(bounds) if a.owner is not None
        ):
            base = pm.Uniform.dist(lower, upper, shape=shape)
            return base, _default_transform(base.owner.op, base)
    raise UnsupportedModelError(
        f"Variable {name!r} has the value transform {type(transform).__name__}, whose support "
        f"jeffreys_prior cannot reproduce with an improper base (supported: none, log, logodds, "
        f"an interval with fixed bounds). Give it one of those transforms "
        f"(pymc.model.transform.change_value_transforms) or leave it out of vars."
    )


def _replace_priors(model: pm.Model, names: Sequence[str]) -> pm.Model:
    with_initval = [rv.name for rv, v in model.rvs_to_initial_values.items() if v is not None]
    if with_initval:  # PyMC's fgraph_from_model cannot carry them over
        raise UnsupportedModelError(
            f"Variables {with_initval} have initval=...; jeffreys_prior rebuilds the model with "
            f"pymc.model.fgraph, which does not support them. Remove the initvals and pass "
            f"initvals=... to pm.sample instead."
        )
    fgraph, _memo = fgraph_from_model(model)
    replacements = []
    for node in list(fgraph.toposort()):
        if not isinstance(node.op, ModelFreeRV) or node.op.name not in names:
            continue
        rv, value, *dims = node.inputs
        base, transform = _improper_base(rv, node.op.transform, node.op.name)
        new = model_free_rv(base, value, transform, node.op.name, *dims)
        replacements.append((node.outputs[0], new))
    toposort_replace(fgraph, tuple(replacements))
    return model_from_fgraph(fgraph, mutate_fgraph=True)


def _check_vars(model: pm.Model, names: Sequence[str]) -> None:
    by_name = {rv.name: rv for rv in model.free_RVs}
    observed_ancestors = set(ancestors(list(model.observed_RVs)))
    check_continuous(
        model, names, advice="The Fisher information, hence √det I, is not defined for it: "
        "leave it out of vars.",
    )  # fmt: skip
    for name in names:
        rv = by_name[name]
        if rv not in observed_ancestors:
            raise ImproperJeffreysError(
                f"Variable {name!r} does not enter the likelihood, so det I ≡ 0 and "
                f"√det I is not a density. Leave it out of vars (its prior is kept)."
            )


def jeffreys_prior(
    model: pm.Model | None = None, *, vars: Sequence[object] | None = None
) -> pm.Model:
    r"""Replace the priors of ``vars`` by the Jeffreys prior ``p(θ) ∝ √det I(θ)``.

    Parameters
    ----------
    model
        A PyMC model with observed variables whose distributions have closed-form Fisher
        information (default: the one in context).
    vars
        Free variables (names or variables) that get the Jeffreys prior jointly; default all.
        Others keep their priors, and ``I`` is the block of the information over ``vars``, a
        function of all the variables (a conditional Jeffreys prior, see Notes).

    Returns
    -------
    pymc.Model
        A new model; the original is unchanged. Sample it with ``pm.sample``.

    Raises
    ------
    DiscreteVariableError
        If a chosen variable is discrete.
    ImproperJeffreysError
        If a chosen variable does not enter the likelihood (``det I ≡ 0``), or ``I`` over the
        chosen variables is not finite and positive definite at the model's initial point
        (non-identifiable parameters: ``√det I`` is zero, not a density).
    NoClosedFormError
        If an observed distribution has no closed-form information (a Monte Carlo estimate
        would make the prior random).
    NoObservedVariablesError
        If the model has no likelihood.
    UnsupportedModelError
        If a chosen variable's support (value transform) cannot be reproduced, or a variable
        has an ``initval`` (PyMC's model-to-graph conversion drops them).

    Notes
    -----
    ``log p(θ) = ½ log det I(θ)`` up to a constant, with ``I`` over the constrained values; it is
    invariant under reparametrisation: in coordinates ``φ``, ``det I_φ = det I_θ (det ∂θ/∂φ)²``,
    which is the Jacobian PyMC adds for the value transform.

    With ``vars`` a subset, the factor ``√det I_vars(θ)`` is added as it is, also where it
    depends on the other variables: Normal(μ, σ) with ``vars=["mu"]`` gets ``√I_μμ = √n/σ``,
    which multiplies σ's prior by ``1/σ``. (The normaliser ``∫ √det I_vars d vars`` that would
    make it a conditional density is infinite for improper cases, so there is no canonical
    alternative.)

    Jeffreys priors are usually improper (``∫ √det I = ∞`` for Poisson ∝ λ^(−½) and for
    Normal(μ, σ) ∝ σ^(−2)), and whether the *posterior* is proper depends on the data (for the
    normal, at least two distinct observations). That is not checked: sampling an improper
    posterior drifts without bound. What is checked is that ``√det I`` is defined and not
    identically zero.

    References
    ----------
    Jeffreys, H. (1946). An invariant form for the prior probability in estimation problems.
    *Proc. R. Soc. A* 186, 453–461.

    Examples
    --------
    >>> import numpy as np, pymc as pm
    >>> import pymc_fisher.geometry as pg
    >>> with pm.Model() as model:
    ...     p = pm.Beta("p", 2.0, 2.0)
    ...     y = pm.Binomial("y", n=10, p=p, observed=3)
    >>> jeffreys = pg.jeffreys_prior(model)
    >>> [v.name for v in jeffreys.potentials]
    ['jeffreys_log_density']
    """
    model = pm.modelcontext(model)
    names = selected_names(model, vars)
    _check_vars(model, names)
    new = _replace_priors(model, names)
    ig = information_graph(new, space="constrained", vars=names)
    log_density = 0.5 * logdet_graph(ig.information)

    # θ of the constrained graph -> the new model's own variables; copied data -> its own data
    rvs = [new[name] for name in (rv.name for rv in new.free_RVs)]
    theta_graph = pm.math.concatenate([rv.astype("float64").ravel() for rv in rvs])
    replace: dict[Variable, Variable] = {ig.theta: theta_graph}
    for data in new.data_vars:
        for copy in shared_in([log_density], data.name):
            replace[copy] = data
    (log_density_new,) = graph_replace([log_density], replace, strict=False)

    _check_at_initial_point(model, ig, names)
    with new:
        pm.Potential(POTENTIAL_NAME, log_density_new)
    return new


def _check_at_initial_point(model: pm.Model, ig, names: Sequence[str]) -> None:
    point = constrained_point(model, model.initial_point())
    theta = ig.mg.layout.ravel(point)
    info = np.asarray(compile_function([ig.theta], ig.information)(theta))
    eig = np.linalg.eigvalsh(info) if np.all(np.isfinite(info)) else np.array([np.nan])
    scale = max(1.0, float(np.max(np.abs(np.diag(info))))) if np.all(np.isfinite(info)) else 1.0
    if not np.all(np.isfinite(eig)) or eig.min() <= 1e-12 * scale:
        raise ImproperJeffreysError(
            f"The information over {list(names)} at the model's initial point is "
            f"{'not finite' if not np.all(np.isfinite(eig)) else 'singular'} "
            f"(eigenvalues {np.round(eig, 6).tolist()}), so √det I is not a density there: the "
            f"parameters are not identifiable from the likelihood, or I is undefined. Choose "
            f"fewer vars."
        )
