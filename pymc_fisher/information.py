"""Fisher information of a PyMC model: the public facade over the graph layer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, NamedTuple

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from pytensor.tensor.variable import TensorVariable

from pymc_fisher.compile import cached, compile_function
from pymc_fisher.errors import NonFiniteInformationError, NonFiniteLogDensityError
from pymc_fisher.fisher.empirical import empirical_information_graph
from pymc_fisher.fisher.expected import (
    analytic_factor_information,
    expected_information_graph,
    factor_rule,
    split_factors,
)
from pymc_fisher.fisher.model_graph import ModelGraph, Space, graph_of
from pymc_fisher.fisher.monte_carlo import monte_carlo_information
from pymc_fisher.fisher.observed import observed_information_graph
from pymc_fisher.fisher.points import resolve_point
from pymc_fisher.labels import ParameterLayout
from pymc_fisher.seeds import RandomSeed
from pymc_fisher.validation import check_option, reject_inapplicable

__all__ = ["InformationGraph", "fisher_information", "fisher_information_graph"]

Kind = Literal["expected", "observed", "empirical"]
Method = Literal["auto", "analytic", "monte_carlo"]

#: Simulated data sets per factor under ``method="monte_carlo"`` when ``draws`` is not given.
DEFAULT_DRAWS = 1000


class InformationGraph(NamedTuple):
    """An information matrix as a PyTensor graph of the raveled θ."""

    theta: TensorVariable
    matrix: TensorVariable
    layout: ParameterLayout


def fisher_information_graph(
    model: pm.Model | None = None,
    *,
    kind: Kind = "expected",
    space: Space = "unconstrained",
    include_prior: bool = False,
) -> InformationGraph:
    """The information matrix as a PyTensor expression of the raveled θ.

    For the sampler to compile, and for users to embed in models. ``kind="expected"`` is the
    deterministic pull-back of every factor's rule (``pymc_fisher.fisher.expected``).

    Parameters
    ----------
    model
        The model (default: the one in context).
    kind, space, include_prior
        As in :func:`fisher_information`.

    Returns
    -------
    InformationGraph
        ``(theta, matrix, layout)``.
    """
    model = pm.modelcontext(model)
    check_option("kind", kind, Kind)
    check_option("space", space, Space)
    mg = graph_of(model, space)
    if kind == "observed":
        matrix = observed_information_graph(mg, include_prior=include_prior)
    elif kind == "expected":
        if not include_prior:
            mg.loglik()  # a model without observed variables has no likelihood information
        split_factors(mg, include_prior=include_prior, method="analytic")
        matrix = expected_information_graph(mg, include_prior=include_prior)
    else:
        _reject_prior_for_empirical(include_prior)
        matrix = empirical_information_graph(mg)
    return InformationGraph(mg.theta, matrix, mg.layout)


def _reject_prior_for_empirical(include_prior: bool) -> None:
    if include_prior:
        raise ValueError(
            "kind='empirical' sums outer products of per-observation scores of the likelihood; "
            "the prior has no observations. Use include_prior=False, or kind='observed'."
        )


def _check_finite(mg: ModelGraph, theta: np.ndarray, include_prior: bool) -> None:
    factors = mg.factors if include_prior else mg.observed_factors

    def build():
        return compile_function([mg.theta], [pt.sum(f.logp) for f in mg.factors])

    fn = cached(mg.model, ("factor_logps", mg.space), build)
    logps = dict(zip([f.name for f in mg.factors], fn(theta), strict=True))
    bad = {f.name: float(logps[f.name]) for f in factors if not np.isfinite(logps[f.name])}
    if bad:
        terms = ", ".join(f"{name!r} ({value})" for name, value in bad.items())
        raise NonFiniteLogDensityError(
            f"The log-density is not finite at the point: {terms}. Move the point inside the "
            f"support of those variables (check their values and their parents')."
        )


def _raise_non_finite(
    mg: ModelGraph, factors: list | None, theta: np.ndarray, values: np.ndarray
) -> None:
    """Raise ``NonFiniteInformationError`` naming the rows and, when known, the factors."""
    bad_rows = ~np.all(np.isfinite(values), axis=1)
    rows = [label for label, bad in zip(mg.layout.labels, bad_rows, strict=True) if bad]
    culprits: list[str] = []
    for factor in factors or []:
        term = analytic_factor_information(factor, mg)
        if term is None:
            continue
        matrix = np.asarray(compile_function([mg.theta], term)(theta))
        if not np.all(np.isfinite(matrix)):
            culprits.append(factor.name)
    where = f" from the factor(s) {culprits}" if culprits else ""
    raise NonFiniteInformationError(
        f"The information matrix is not finite in the rows of {rows}{where} at this point. "
        "Check that the point is well inside the support of those variables and their "
        "parents' (an extreme value can overflow), or use kind='observed'."
    )


def fisher_information(
    model: pm.Model | None = None,
    point: Mapping[str, object] | None = None,
    *,
    kind: Kind = "expected",
    space: Space = "unconstrained",
    method: Method = "auto",
    include_prior: bool = False,
    draws: int | None = None,
    random_seed: RandomSeed = None,
) -> xr.DataArray:
    """Fisher information of a PyMC model at a point.

    Parameters
    ----------
    model
        The model (default: the one in context).
    point
        Values of the free variables, by value-variable name (``sigma_log__``) or by name
        (``sigma``); default: the model's initial point. For draws (a ``DataTree``, as
        ``pm.sample`` returns), :func:`pymc_fisher.posterior_fisher_information` gives the
        posterior-averaged information and its spread.
    kind
        ``"expected"``: ``E_y[−∇² log p(y | θ)]``; ``"observed"``: ``−∇² log p(y_obs | θ)``;
        ``"empirical"``: ``Σᵢ sᵢ sᵢᵀ`` of per-observation scores.
    space
        ``"unconstrained"``: with respect to the value variables (``sigma_log__``);
        ``"constrained"``: with respect to the untransformed parameters (``sigma``).
    method
        For ``kind="expected"``: ``"analytic"`` and ``"auto"`` (the same: deterministic, each
        factor's closed form pulled back through the graph, or where the registry has none the
        quantile quadrature of ``pymc_fisher.fisher.quadrature``, else the local SoftAbs rule of
        ``pymc_fisher.fisher.local``; ``attrs["quadrature_factors"]`` and
        ``attrs["local_factors"]`` name those), or ``"monte_carlo"`` (simulate data at θ;
        random, never in a metric). Only ``kind="expected"`` takes a ``method``.
    include_prior
        Add the prior: for ``"observed"``, −∇² of the log-posterior (with the log-Jacobian in
        the unconstrained space); for ``"expected"``, the expected information of every factor
        of the joint density, each free variable's value a coordinate, and each Potential by the
        local rule (the RMHMC metric).
    draws
        With ``method="monte_carlo"``: the simulated data sets per factor (default 1000).
    random_seed
        With ``method="monte_carlo"``: the seed of the simulations, anything ``pm.sample``
        takes (an int, a sequence of ints, a ``SeedSequence``, a ``Generator``, ...).

    Returns
    -------
    xarray.DataArray
        Dims ``("rows", "columns")`` labelled by parameter; attrs ``kind``, ``space``,
        ``method``, ``include_prior``, ``jacobian`` and, with Monte Carlo, ``draws`` and
        ``mcse`` (the standard error of each entry).

    Raises
    ------
    DiscreteVariableError
        A free variable is discrete.
    NoObservedVariablesError
        A likelihood information of a model without observed variables.
    NonFiniteLogDensityError
        The log-density is not finite at the point (names the term).
    NonFiniteInformationError
        The matrix has a NaN or infinite entry (names the rows and the factor).
    MissingPointValueError
        The point lacks a free variable.
    NonFinitePointError
        A value in the point is NaN or infinite, or outside its variable's support (names it).
    ValueError
        An option is not one of its values, or does not apply (``method`` with a ``kind``
        other than ``"expected"``; ``draws`` or ``random_seed`` without Monte Carlo;
        ``include_prior`` with ``kind="empirical"``).
    TypeError
        ``point`` is a ``DataTree`` (use :func:`pymc_fisher.posterior_fisher_information`).

    Notes
    -----
    The information is of the likelihood unless ``include_prior=True``. In the constrained
    space the matrices are those of the model with its transforms removed, which is the exact
    change of variables: expected information transforms as ``I_φ = Jᵀ I_θ J``.

    Examples
    --------
    >>> import numpy as np, pymc as pm, pymc_fisher as pmf
    >>> with pm.Model() as model:
    ...     mu = pm.Normal("mu", 0, 10)
    ...     y = pm.Normal("y", mu, 2.0, observed=np.zeros(8))
    >>> float(pmf.fisher_information(model, {"mu": 0.0})[0, 0])  # n / σ² = 8 / 4
    2.0
    """
    model = pm.modelcontext(model)
    check_option("kind", kind, Kind)
    check_option("space", space, Space)
    check_option("method", method, Method)
    if isinstance(point, xr.DataTree):
        raise TypeError(
            "point is a DataTree of draws: fisher_information takes one point. For the "
            "information averaged over draws, call pmf.posterior_fisher_information(model, idata)."
        )
    if kind != "expected":
        reject_inapplicable(
            {"method": method != "auto"},
            when=f"kind={kind!r}",
            advice="only kind='expected' has methods (the others are exact derivatives).",
        )
    if method != "monte_carlo":
        reject_inapplicable(
            {"draws": draws is not None, "random_seed": random_seed is not None},
            when=f"method={method!r}" if kind == "expected" else f"kind={kind!r}",
            advice="the information is deterministic; leave it out, or use "
            "kind='expected', method='monte_carlo'.",
        )
    if kind == "empirical":
        _reject_prior_for_empirical(include_prior)
    mg = graph_of(model, space)
    if not include_prior:
        mg.loglik()
    unconstrained, constrained = resolve_point(model, point)
    theta = mg.layout.ravel(unconstrained if space == "unconstrained" else constrained)
    _check_finite(mg, theta, include_prior)

    attrs: dict[str, object] = {
        "kind": kind,
        "space": space,
        "include_prior": int(include_prior),
        "jacobian": int(include_prior and space == "unconstrained"),
    }
    if kind == "expected":
        analytic, monte_carlo = split_factors(mg, include_prior=include_prior, method=method)
        key = ("expected", space, include_prior, tuple(f.name for f in analytic))
        fn = cached(
            model,
            key,
            lambda: compile_function(
                [mg.theta],
                expected_information_graph(mg, factors=analytic, potentials=include_prior),
            ),
        )
        rules = cached(
            model,
            ("factor_rules", space, key),
            lambda: {f.name: factor_rule(f, mg) for f in analytic},
        )
        values = np.asarray(fn(theta), dtype=float)
        if not np.all(np.isfinite(values)):
            _raise_non_finite(mg, analytic, theta, values)
        attrs["method"] = "monte_carlo" if not analytic else "analytic"
        # which factors are not closed forms (README; fisher/quadrature.py, fisher/local.py)
        attrs["quadrature_factors"] = [n for n, r in rules.items() if r == "quadrature"]
        potentials = [p.name for p in model.potentials] if include_prior and analytic else []
        attrs["local_factors"] = [n for n, r in rules.items() if r == "local"] + potentials
        if monte_carlo:
            mc = monte_carlo_information(
                mg, monte_carlo, theta, draws=draws or DEFAULT_DRAWS, random_seed=random_seed
            )
            values = values + mc.mean
            attrs.update(method="monte_carlo" if not analytic else "mixed", draws=mc.draws)
            attrs["mcse"] = mc.mcse
            attrs["monte_carlo_factors"] = [f.name for f in monte_carlo]
    else:
        attrs["method"] = "analytic"
        graph = cached(
            model,
            (kind, space, include_prior),
            lambda: compile_function(
                [mg.theta],
                fisher_information_graph(
                    model, kind=kind, space=space, include_prior=include_prior
                ).matrix,
            ),
        )
        values = np.asarray(graph(theta), dtype=float)
        if not np.all(np.isfinite(values)):
            _raise_non_finite(mg, None, theta, values)
    labels = list(mg.layout.labels)
    return xr.DataArray(
        values,
        dims=("rows", "columns"),
        coords={"rows": labels, "columns": labels},
        name=f"{kind}_information",
        attrs=attrs,
    )
