"""``summary``: estimates and standard errors of a Laplace fit, beside MCMC when given.

Every row is one entry of a free variable (constrained: ``sigma``, not ``sigma_log__``) or of a
Deterministic. Standard errors of all rows come from covariances of the unconstrained θ by the
delta method, ``se(g) = √(∇gᵀ Σ ∇g)``, with ``∇g`` the exact gradient (PyTensor) at the point.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import scipy.linalg as sla
import xarray as xr
from pytensor.gradient import jacobian
from scipy import stats

from pymc_fisher.compile import cached, compile_function
from pymc_fisher.errors import FisherError
from pymc_fisher.fisher.model_graph import graph_of
from pymc_fisher.fisher.points import resolve_point
from pymc_fisher.identifiability import default_rtol, describe_subspace, spectrum
from pymc_fisher.information import fisher_information
from pymc_fisher.labels import entry_labels
from pymc_fisher.linalg import cholesky, covariance, is_positive_definite

__all__ = ["delta_jacobian", "summary"]


def delta_jacobian(model: pm.Model, theta: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Values and gradients of every free variable and Deterministic entry at unconstrained θ.

    Returns
    -------
    labels
        One label per entry (constrained names, model coords).
    values
        The entries at θ, shape ``(m,)``.
    gradients
        ``∂ entry / ∂θ``, shape ``(m, len(θ))``.
    """
    mg = graph_of(model, "unconstrained")
    outputs = [*model.free_RVs, *model.deterministics]

    def build():
        graphs = mg.to_theta(outputs)
        flat = pt.concatenate([pt.as_tensor(g).astype("float64").ravel() for g in graphs])
        return compile_function(
            [mg.theta],
            [*graphs, jacobian(flat, mg.theta, vectorize=True)],
            name="summary_delta",
        )

    fn = cached(model, "summary_delta", build)
    *values, grads = fn(np.asarray(theta, dtype=float))
    labels: list[str] = []
    for var, value in zip(outputs, values, strict=True):
        dims = model.named_vars_to_dims.get(var.name)
        labels.extend(entry_labels(var.name, np.shape(value), dims, model.coords))
    flat = np.concatenate([np.asarray(v, dtype=float).ravel() for v in values])
    return labels, flat, np.asarray(grads, dtype=float).reshape(len(flat), -1)


class _Covariance(NamedTuple):
    """A covariance of θ, and the directions along which it does not exist.

    ``matrix`` is ``I⁻¹`` (``None`` when ``I`` is not positive semi-definite); when ``I`` is
    singular, it is the inverse on the identified directions only, and ``null_space`` holds
    the unidentified ones as columns (empty when ``I`` has full rank).
    """

    matrix: np.ndarray | None
    null_space: np.ndarray


def _covariance(
    information: np.ndarray, labels: list[str], what: str, rtol: float, notes: list[str]
) -> _Covariance:
    """``I⁻¹`` through a Cholesky factor, or on the identified directions when ``I`` is singular.

    Singular means rank-deficient by :func:`pymc_fisher.identifiability`'s rule: along a
    direction it does not identify, the variance is infinite, not large, so no standard error
    that depends on that direction is reported (a note names it).
    """
    d = information.shape[0]
    spec = spectrum(information, rtol)
    if spec.rank < d and spec.eigenvalues[0] >= -spec.tolerance:
        kept = spec.identified
        vectors = spec.eigenvectors[:, kept]
        names = describe_subspace(spec.null_space, labels)
        notes.append(
            f"the {what} does not identify {', '.join(names)} (eigenvalue at most "
            f"{spec.tolerance:.3g}, pmf.identifiability's tolerance): along "
            f"{'that direction' if len(names) == 1 else 'those directions'} the variance is "
            "infinite, so the standard errors of rows that depend on it are not reported (NaN); "
            "see pmf.identifiability(model, include_prior=...) for what identifies it"
        )
        return _Covariance((vectors / spec.eigenvalues[kept]) @ vectors.T, spec.null_space)
    empty = np.zeros((d, 0))
    if not is_positive_definite(information):
        notes.append(f"{what} is not positive definite at the mode")
        return _Covariance(None, empty)
    return _Covariance(covariance(cholesky(information)), empty)


def _touches(gradients: np.ndarray, null_space: np.ndarray, rtol: float) -> np.ndarray:
    """Whether each row's gradient has a component along an unidentified direction."""
    if null_space.shape[1] == 0:
        return np.zeros(len(gradients), dtype=bool)
    along = np.linalg.norm(gradients @ null_space, axis=1)
    return along > rtol * np.linalg.norm(gradients, axis=1)


def _sandwich(bread: np.ndarray, meat: np.ndarray) -> np.ndarray | None:
    """``A⁻¹ B A⁻¹`` through the Cholesky factor of ``A``."""
    if not is_positive_definite(bread):
        return None
    factor = sla.cho_factor(bread, lower=False)
    left = sla.cho_solve(factor, meat)
    return sla.cho_solve(factor, left.T)


def _delta_se(gradients: np.ndarray, cov: _Covariance | None, rtol: float) -> np.ndarray:
    if cov is None or cov.matrix is None:
        return np.full(len(gradients), np.nan)
    var = np.einsum("ij,jk,ik->i", gradients, cov.matrix, gradients)
    se = np.sqrt(np.maximum(var, 0.0))
    return np.where(_touches(gradients, cov.null_space, rtol), np.nan, se)


def _information(model, point, notes, **kwargs) -> np.ndarray | None:
    try:
        return np.asarray(fisher_information(model, point, space="unconstrained", **kwargs))
    except (FisherError, NotImplementedError) as err:
        notes.append(f"{kwargs.get('kind')} information unavailable: {err}")
        return None


class _Informations(NamedTuple):
    """The information matrices a summary reads (``None`` where one is unavailable)."""

    observed: np.ndarray | None
    expected: np.ndarray | None
    observed_likelihood: np.ndarray | None


def _observed_and_expected(
    model: pm.Model, point: Mapping[str, np.ndarray], include_prior: bool, notes: list[str]
) -> _Informations:
    """Observed and expected information, of the likelihood or of the posterior.

    The expectation is over the data only: ``E_y[−∇² log p(y, θ)] = I_lik(θ) − ∇² log p(θ)``,
    so the prior enters through its own curvature (observed posterior minus observed
    likelihood information); the prior of a ``pm.Flat`` parameter contributes zero. The
    likelihood's observed information comes too: it says what the data identify.
    """
    obs_lik = _information(model, point, notes, kind="observed", include_prior=False)
    exp_lik = _information(model, point, notes, kind="expected", include_prior=False)
    if not include_prior:
        return _Informations(obs_lik, exp_lik, obs_lik)
    obs_post = _information(model, point, notes, kind="observed", include_prior=True)
    if obs_post is None or obs_lik is None or exp_lik is None:
        return _Informations(obs_post, None, obs_lik)
    return _Informations(obs_post, exp_lik + (obs_post - obs_lik), obs_lik)


def _null_space(information: np.ndarray | None, size: int, rtol: float) -> np.ndarray:
    """The directions ``information`` does not identify (columns; none where it is missing)."""
    if information is not None:
        spec = spectrum(information, rtol)
        if spec.eigenvalues[0] >= -spec.tolerance:
            return spec.null_space
    return np.zeros((size, 0))


def _model_and_fit(
    model: pm.Model | xr.DataTree | None, fit: xr.DataTree | pm.Model | None
) -> tuple[pm.Model, xr.DataTree]:
    """The arguments in ``(model, fit)`` order; ``(fit, model)``, the old order, with a warning."""
    if isinstance(model, xr.DataTree) and not isinstance(fit, xr.DataTree):
        warnings.warn(
            "summary(fit, model) is the old argument order: call summary(model, fit), or "
            "summary(fit=fit) inside the model's context.",
            FutureWarning,
            stacklevel=3,
        )
        model, fit = fit, model
    if not isinstance(fit, xr.DataTree):
        raise TypeError(f"summary needs fit, a fit_laplace result, not {type(fit).__name__}.")
    return pm.modelcontext(model if isinstance(model, pm.Model) else None), fit


def summary(
    model: pm.Model | xr.DataTree | None = None,
    fit: xr.DataTree | pm.Model | None = None,
    *,
    mcmc: xr.DataTree | None = None,
    prob: float = 0.95,
    include_prior: bool = True,
) -> pd.DataFrame:
    r"""Estimates, standard errors (observed, expected, sandwich), z and intervals.

    Parameters
    ----------
    model
        The model that was fitted (default: the one in context).
    fit
        A :func:`~pymc_fisher.fit_laplace` result (its ``fit.mean_vector`` is the point).
        Required (it has a default only so that the model, first as in every public function,
        can come from the context). The old order ``summary(fit, model)`` still works, with a
        ``FutureWarning``.
    mcmc
        An MCMC ``DataTree`` of the same model: adds the posterior sd, the Laplace standard
        error and the Cramér–Rao bound ``√diag(I⁻¹)`` (expected information at the posterior
        mean), and the ratios of the posterior sd to each.
    prob
        Coverage of the Wald intervals ``estimate ± z_{(1+prob)/2} · se_observed``.
    include_prior
        ``True``: information of the log-posterior (observed: the Laplace precision; expected:
        the likelihood's expected information plus the prior's curvature); ``False``: of the
        likelihood alone (classical standard errors; the two agree under flat priors).

    Raises
    ------
    TypeError
        If ``fit`` is not given.
    FisherError
        If ``fit`` is not a fit of ``model`` (its parameters differ).

    Returns
    -------
    pandas.DataFrame
        Indexed by label; columns ``estimate``, ``se_observed``, ``se_expected``,
        ``se_sandwich``, ``z``, ``lower``, ``upper``, ``identified`` (whether the row
        depends only on directions the likelihood's observed information identifies); with
        ``mcmc`` also ``posterior_mean``,
        ``posterior_sd``, ``laplace_se``, ``cramer_rao``, ``sd_over_laplace_se``,
        ``sd_over_cramer_rao``. ``attrs["notes"]`` lists anything not computed and why
        (that column is NaN).

    Notes
    -----
    With ``A`` the observed information, ``E`` the expected information and ``B = Σᵢ sᵢ sᵢᵀ``
    the empirical information of the likelihood's per-observation scores, all at the fit's
    unconstrained mode θ̂: ``Σ_obs = A⁻¹``, ``Σ_exp = E⁻¹``, ``Σ_sandwich = A⁻¹ B A⁻¹``
    (Huber–White; with ``include_prior=False`` it equals statsmodels' ``HC0``). A row
    ``g(θ)`` (a constrained variable or a Deterministic) gets ``√(∇g(θ̂)ᵀ Σ ∇g(θ̂))``.
    Intervals are Wald intervals on the reported scale.

    A singular information (rank below ``d`` by :func:`pymc_fisher.identifiability`'s rule)
    has no inverse: along a direction it does not identify the variance is infinite. The
    standard errors of rows whose gradient has a component along such a direction are NaN, a
    note names the direction, and a row that depends only on identified directions (``a + b``
    when ``a − b`` is not identified) gets ``√(∇gᵀ I⁺ ∇g)``, ``I⁺`` the inverse on the
    identified directions. With ``include_prior=True`` the prior may identify what the
    likelihood does not: the ``identified`` column says which rows' standard errors then come
    from the prior.

    Examples
    --------
    >>> import numpy as np, pymc as pm, pymc_fisher as pmf
    >>> from pymc_fisher.laplace import fit_laplace
    >>> with pm.Model() as model:
    ...     mu = pm.Flat("mu")
    ...     y = pm.Normal("y", mu, 2.0, observed=np.array([1.0, 2.0, 3.0, 4.0]))
    >>> table = summary(model, fit_laplace(model, random_seed=0))
    >>> table.loc["mu", ["estimate", "se_observed", "se_expected"]].round(6).tolist()
    [2.5, 1.0, 1.0]
    """
    model, data = _model_and_fit(model, fit)
    notes: list[str] = []
    mg = graph_of(model, "unconstrained")
    fit_group = data["fit"]
    labels_fit = [str(v) for v in fit_group["mean_vector"].coords["rows"].values]
    if labels_fit != list(mg.layout.labels):
        raise FisherError(
            f"The fit's parameters {labels_fit} are not this model's {list(mg.layout.labels)}: "
            "pass the model that was fitted."
        )
    theta = np.asarray(fit_group["mean_vector"].values, dtype=float)
    point = mg.layout.unravel(theta)
    labels, estimate, grads = delta_jacobian(model, theta)

    observed, expected, observed_likelihood = _observed_and_expected(
        model, point, include_prior, notes
    )
    empirical = _information(model, point, notes, kind="empirical")
    rtol = default_rtol(model)
    params = list(mg.layout.labels)
    which = "posterior's" if include_prior else "likelihood's"
    cov_obs = None
    if observed is not None:
        cov_obs = _covariance(observed, params, f"{which} observed information", rtol, notes)
    cov_exp = None
    if expected is not None:
        cov_exp = _covariance(expected, params, f"{which} expected information", rtol, notes)
    cov_sand = None
    if (
        observed is not None
        and cov_obs is not None
        and cov_obs.matrix is not None
        and (empirical is not None)
    ):
        if cov_obs.null_space.size:  # A⁺ B A⁺ on the identified directions
            sandwich = cov_obs.matrix @ empirical @ cov_obs.matrix
        else:
            sandwich = _sandwich(observed, empirical)
        cov_sand = _Covariance(sandwich, cov_obs.null_space)
    null = _null_space(observed_likelihood, len(params), rtol)
    identified = ~_touches(grads, null, rtol)
    if include_prior and not np.all(identified):
        rows = [label for label, ok in zip(labels, identified, strict=True) if not ok]
        notes.append(
            f"the likelihood does not identify {', '.join(describe_subspace(null, params))}: "
            f"the standard errors of {rows} (column identified) come from the prior along it"
        )

    se_obs = _delta_se(grads, cov_obs, rtol)
    z_crit = stats.norm.ppf(0.5 + prob / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = estimate / se_obs
    table = pd.DataFrame(
        {
            "estimate": estimate,
            "se_observed": se_obs,
            "se_expected": _delta_se(grads, cov_exp, rtol),
            "se_sandwich": _delta_se(grads, cov_sand, rtol),
            "z": z,
            "lower": estimate - z_crit * se_obs,
            "upper": estimate + z_crit * se_obs,
            "identified": identified,
        },
        index=pd.Index(labels, name="parameter"),
    )
    if mcmc is not None:
        table = table.join(_mcmc_columns(model, mcmc, labels, include_prior, notes, se_obs))
    table.attrs.update(prob=prob, include_prior=include_prior, notes=notes)
    if notes:
        warnings.warn("summary: " + "; ".join(notes), UserWarning, stacklevel=2)
    return table


def _mcmc_columns(
    model: pm.Model,
    mcmc: xr.DataTree,
    labels: list[str],
    include_prior: bool,
    notes: list[str],
    laplace_se: np.ndarray,
) -> pd.DataFrame:
    posterior = mcmc["posterior"]
    names = [v.name for v in (*model.free_RVs, *model.deterministics)]
    means, sds = [], []
    for name in names:
        draws = np.asarray(posterior[name].values, dtype=float)
        draws = draws.reshape(draws.shape[0] * draws.shape[1], -1)
        means.append(draws.mean(axis=0))
        sds.append(draws.std(axis=0, ddof=1))
    free_means: Mapping[str, np.ndarray] = {
        rv.name: np.asarray(posterior[rv.name].mean(("chain", "draw")).values)
        for rv in model.free_RVs
    }
    mg = graph_of(model, "unconstrained")
    unconstrained, _ = resolve_point(model, free_means)
    theta = mg.layout.ravel(unconstrained)
    _, _, grads = delta_jacobian(model, theta)
    expected = _observed_and_expected(model, unconstrained, include_prior, notes).expected
    params = list(mg.layout.labels)
    rtol = default_rtol(model)
    cov = None if expected is None else _covariance(expected, params, "expected", rtol, notes)
    cramer_rao = _delta_se(grads, cov, rtol)
    sd = np.concatenate(sds)
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.DataFrame(
            {
                "posterior_mean": np.concatenate(means),
                "posterior_sd": sd,
                "laplace_se": laplace_se,
                "cramer_rao": cramer_rao,
                "sd_over_laplace_se": sd / laplace_se,
                "sd_over_cramer_rao": sd / cramer_rao,
            },
            index=pd.Index(labels, name="parameter"),
        )
