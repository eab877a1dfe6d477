"""``check_model``: one table that says what pymc_fisher can do with a model.

One row per factor of the joint density (free variables, observed variables, Potentials): its
distribution, the coordinate the sampler holds it in, and how its expected information is
computed (``closed form``, ``quadrature``, ``local rule`` or ``none``). Below the table, facts
about the whole model: whether each kind of information is available at the initial point,
whether a mode exists (``fit_laplace``), and whether the RMHMC metric (the expected information
of the whole graph) is finite and positive definite at the initial point.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pandas as pd
import pymc as pm

from pymc_fisher.errors import FisherError, NoClosedFormError
from pymc_fisher.fisher.expected import Rule, expected_information_graph, factor_rule
from pymc_fisher.fisher.model_graph import Factor, ModelGraph, graph_of

__all__ = ["ModelCheck", "check_model", "information_method"]

InformationMethod = Literal["closed form", "quadrature", "local rule", "none"]
_RULE_NAMES: dict[Rule, InformationMethod] = {
    "closed_form": "closed form",
    "quadrature": "quadrature",
    "local": "local rule",
}
COLUMNS = ("variable", "role", "distribution", "coordinate", "size", "information", "detail")


class ModelCheck(pd.DataFrame):
    """The table of :func:`check_model`, with the model-level facts in ``facts``.

    A ``pandas.DataFrame`` (one row per factor); ``facts`` maps a question ("mode",
    "rmhmc_metric", ...) to its answer, and ``str()`` / ``print`` show both.
    """

    _metadata = ["facts"]  # noqa: RUF012 (pandas reads this class attribute)

    @property
    def _constructor(self) -> Callable[..., ModelCheck]:
        return ModelCheck

    def __str__(self) -> str:
        table = pd.DataFrame(self).drop(columns="detail").to_string(index=False)
        notes = [f"  {row.variable}: {row.detail}" for row in self.itertuples() if row.detail]
        facts = getattr(self, "facts", {}) or {}
        width = max((len(k) for k in facts), default=0)
        lines = [table]
        if notes:
            lines += ["", "notes:", *notes]
        lines += ["", *(f"{k.ljust(width)}  {v}" for k, v in facts.items())]
        return "\n".join(lines)


def information_method(factor: Factor, mg: ModelGraph) -> tuple[InformationMethod, str]:
    """How the expected information of one factor is computed, and why not when it is not.

    The one place that reads the rules: it asks ``pymc_fisher.fisher.expected`` which rule
    ``fisher_information`` applies to the factor, so it follows the registry as entries are
    added (README, "kind='expected'": a closed form, a quadrature, or the local rule).

    Parameters
    ----------
    factor
        A factor of ``mg``.
    mg
        The model's graphs.

    Returns
    -------
    method : {"closed form", "quadrature", "local rule", "none"}
    detail : str
        Why there is none (the registry's message), else ``""``.
    """
    try:
        rule = factor_rule(factor, mg)
    except NoClosedFormError as err:
        return "none", str(err)
    return _RULE_NAMES[rule], ""


def _distribution(op: object) -> str:
    print_name = getattr(op, "_print_name", None)
    if print_name:
        return str(print_name[0])
    name = type(op).__name__
    return name.removesuffix("RV")


def _static_size(var: Any) -> int:
    """Number of elements from the static shape; -1 when a dimension is only known at run time."""
    shape = tuple(var.type.shape)
    return -1 if None in shape else int(np.prod(shape, dtype=int))


def _potential_method(mg: ModelGraph) -> tuple[InformationMethod, str]:
    try:
        # the whole-graph builder checks the Potentials before it sums any factor
        expected_information_graph(mg, include_prior=True)
    except NoClosedFormError:
        return "local rule", ""  # a factor failed, not the Potential
    except FisherError as err:
        return "none", str(err)
    return "local rule", ""  # a Potential is not a density: its curvature, by the local rule


def _factor_rows(mg: ModelGraph) -> list[dict[str, Any]]:
    rows = []
    for factor in mg.factors:
        method, detail = information_method(factor, mg)
        rows.append({
            "variable": factor.name,
            "role": "observed" if factor.observed else "free",
            "distribution": _distribution(factor.op),
            "coordinate": factor.coordinate or "",
            "size": _static_size(factor.rv),
            "information": method,
            "detail": detail,
        })  # fmt: skip
    if mg.potentials:
        method, detail = _potential_method(mg)
        for potential in mg.model.potentials:
            rows.append({
                "variable": potential.name, "role": "potential", "distribution": "Potential",
                "coordinate": "", "size": _static_size(potential), "information": method,
                "detail": detail,
            })  # fmt: skip
    return rows


def _outcome(fn: Callable[[], str]) -> str:
    """Run one check; a failure is part of the answer (its type and message), never hidden."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            answer = fn()
    except FisherError as err:
        return f"no: {type(err).__name__}: {err}"
    except Exception as err:  # reported with its type: an untyped failure is a package bug
        return f"no, unexpected {type(err).__name__} (please report): {err}"
    # the mode's answer states the Pareto k̂ itself
    shown = {
        str(w.message).split(": ")[0] for w in caught if w.category.__name__ != "ParetoKWarning"
    }
    return answer + "".join(f"; warning: {m}" for m in sorted(shown))


def _information_fact(model: pm.Model, kind: str) -> Callable[[], str]:
    from pymc_fisher.information import fisher_information

    def run() -> str:
        method = "analytic" if kind == "expected" else "auto"
        matrix = fisher_information(model, kind=kind, method=method)  # type: ignore[arg-type]
        values = np.asarray(matrix)
        if not np.all(np.isfinite(values)):
            bad = sorted({str(r) for r in matrix["rows"].values[~np.isfinite(values).all(1)]})
            return f"no: not finite in rows {', '.join(bad)}"
        return f"yes ({matrix.attrs.get('method', '')})"

    return run


def _mode_fact(model: pm.Model) -> Callable[[], str]:
    from pymc_fisher.laplace import fit_laplace

    def run() -> str:
        fit = fit_laplace(model, draws=100, random_seed=0)
        diagnostics = fit["diagnostics"]
        k = float(diagnostics["pareto_k"]) if "pareto_k" in diagnostics else float("nan")
        verdict = "a poor Gaussian picture" if k > 0.7 else "a fair Gaussian picture"
        return f"yes (fit_laplace works; Pareto k = {k:.2f}: {verdict})"

    return run


def _metric_fact(model: pm.Model) -> Callable[[], str]:
    from pymc_fisher.information import fisher_information

    def run() -> str:
        matrix = fisher_information(model, kind="expected", include_prior=True, method="analytic")
        g = np.asarray(matrix)
        if not np.all(np.isfinite(g)):
            return "no: not finite"
        eigenvalues = np.linalg.eigvalsh(0.5 * (g + g.T))
        if eigenvalues[0] <= 0.0:
            worst = str(matrix["rows"].values[int(np.argmin(np.diag(g)))])
            return f"no: not positive definite (smallest eigenvalue {eigenvalues[0]:.3g}; {worst})"
        condition = eigenvalues[-1] / eigenvalues[0]
        return f"yes: positive definite, condition number {condition:.3g}"

    return run


def check_model(model: pm.Model | None = None, *, facts: bool = True) -> ModelCheck:
    """What pymc_fisher can do with a model, in one table.

    Parameters
    ----------
    model
        The PyMC model (default: the one in context).
    facts
        Also answer the model-level questions (compiles and runs each feature once: a Laplace
        fit and the RMHMC metric included, which takes a while on a large model). ``False``:
        the table alone, read from the graphs, and ``facts`` empty.

    Returns
    -------
    ModelCheck
        A ``pandas.DataFrame`` with one row per factor (columns ``variable``, ``role``
        (free / observed / potential), ``distribution``, ``coordinate`` (the value variable's
        transform; empty when observed), ``size`` (-1 when unknown), ``information``
        (closed form / quadrature / local rule / none) and ``detail`` (why none)), and
        ``facts`` (empty unless ``facts=True``): a dict
        with the answers at the model's initial point for ``expected``, ``observed`` and
        ``empirical`` information of the likelihood, ``mode`` (``fit_laplace``) and
        ``rmhmc_metric`` (the whole-graph expected information: finite, positive definite).
        Each answer starts with ``yes`` or ``no``; a ``no`` names the typed error.

    Raises
    ------
    DiscreteVariableError
        If a free variable is discrete (nothing here applies to it).

    Examples
    --------
    >>> import numpy as np, pymc as pm, pymc_fisher as pmf
    >>> with pm.Model() as model:
    ...     mu = pm.Normal("mu", 0, 10)
    ...     sigma = pm.HalfNormal("sigma", 1)
    ...     y = pm.Normal("y", mu, sigma, observed=np.array([0.1, -0.4, 0.8]))
    >>> table = pmf.check_model(model)
    >>> print(table[["variable", "role", "distribution", "information"]].to_string(index=False))
    variable     role distribution information
          mu     free       Normal closed form
       sigma     free   HalfNormal closed form
           y observed       Normal closed form
    >>> table.facts["rmhmc_metric"].split(":")[0]
    'yes'
    """
    model = pm.modelcontext(model)
    mg = graph_of(model)
    table = ModelCheck(pd.DataFrame(_factor_rows(mg), columns=list(COLUMNS)))
    table.facts = {}
    if not facts:
        return table
    # facts that need a closed form for every factor are answered from the table when one lacks
    # it: fisher_information would fall back to Monte Carlo (slow, and random from run to run)
    missing: dict[str, list[str]] = {row["role"]: [] for row in table.to_dict("records")}
    for row in table.to_dict("records"):
        if row["information"] == "none":
            missing[row["role"]].append(repr(row["variable"]))
    answers: dict[str, str] = {"parameters": f"{mg.layout.size} (unconstrained)"}
    if mg.observed_factors:
        if missing.get("observed"):
            answers["expected_information"] = (
                f"Monte Carlo only: no deterministic rule for {', '.join(missing['observed'])} "
                "(method='monte_carlo' simulates data: random from run to run)"
            )
        else:
            answers["expected_information"] = _outcome(_information_fact(model, "expected"))
        for kind in ("observed", "empirical"):
            answers[f"{kind}_information"] = _outcome(_information_fact(model, kind))
    else:
        answers["likelihood_information"] = "no: the model has no observed variables"
    answers["mode"] = _outcome(_mode_fact(model))
    lacking = [name for names in missing.values() for name in names]
    if lacking:
        answers["rmhmc_metric"] = (
            f"no: no deterministic rule for {', '.join(lacking)}, so the default "
            "RMHMC(metric='fisher') cannot be built; metric='softabs' needs none"
        )
    else:
        answers["rmhmc_metric"] = _outcome(_metric_fact(model))
    table.facts = answers
    return table
