"""The log marginal likelihood (evidence) of a PyMC model: Laplace, and importance sampling on it.

Both integrate the Jacobian-adjusted unconstrained density ``p̃(u) = p(y, θ(u)) |∂θ/∂u|``,
whose integral over ``u`` is the evidence ``p(y) = ∫ p(y, θ) dθ``. The mode and curvature are
:func:`~pymc_fisher.fit_laplace`'s (``jacobian=True``), found by the same search.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pymc as pm
import xarray as xr
from pymc.distributions.continuous import FlatRV, HalfFlatRV
from scipy.special import logsumexp

from pymc_fisher.errors import FisherError, ImproperPriorError
from pymc_fisher.laplace.fit import PARETO_K_THRESHOLD, ParetoKWarning, pareto_k, posterior_mode
from pymc_fisher.linalg import cholesky, gaussian_draws, gaussian_logpdf, regularized_precision
from pymc_fisher.seeds import RandomSeed, as_generator
from pymc_fisher.validation import check_option, reject_inapplicable

__all__ = ["log_marginal_likelihood"]

Method = Literal["laplace", "importance"]

#: Importance draws when ``draws`` is not given.
DEFAULT_DRAWS = 4000

_IMPROPER = (FlatRV, HalfFlatRV)


def _check_proper(model: pm.Model) -> None:
    """Raise :class:`ImproperPriorError` naming each improper free variable or Potential."""
    improper = [rv.name for rv in model.free_RVs if isinstance(rv.owner.op, _IMPROPER)]
    if improper:
        raise ImproperPriorError(
            f"The prior of {improper} is improper (Flat or HalfFlat: it does not integrate to "
            "one), so the marginal likelihood is not defined: it would change with the arbitrary "
            "constant of that density. Give each a proper prior (pm.Normal, pm.HalfNormal, ...) "
            "before comparing models by their evidence."
        )
    potentials = [p.name for p in model.potentials]
    if potentials:
        raise ImproperPriorError(
            f"The model has the Potential(s) {potentials}, whose normalising constant is "
            "unknown, so the integral of the model's density is not a marginal likelihood. "
            "Write the term as a distribution (pm.CustomDist with a normalised logp, or "
            "observed data), or remove it."
        )


def log_marginal_likelihood(
    model: pm.Model | None = None,
    *,
    method: Method = "laplace",
    draws: int | None = None,
    random_seed: RandomSeed = None,
    initvals: dict[str, np.ndarray] | None = None,
    gtol: float | None = None,
    maxiter: int = 200,
) -> xr.DataArray:
    r"""The log marginal likelihood ``log p(y)`` by Laplace, or importance sampling around it.

    Parameters
    ----------
    model
        The model (default: the one in context): continuous free variables, proper priors,
        at least one observed variable.
    method
        ``"laplace"``: ``log p̃(û) + (d/2) log 2π − ½ log det(−∇² log p̃(û))``, exact for a
        Gaussian posterior in the unconstrained coordinates. ``"importance"``: importance
        sampling with the Laplace Gaussian ``q = N(û, (−∇² log p̃(û))⁻¹)`` as the proposal,
        ``log((1/S) Σ p̃(uₛ)/q(uₛ))``, consistent whatever the posterior's shape.
    draws
        Importance draws ``S`` (default 4000); only with ``method="importance"``.
    random_seed
        Seed of the importance draws: anything ``pm.sample`` takes; only with
        ``method="importance"``.
    initvals, gtol, maxiter
        The mode search's, as in :func:`~pymc_fisher.fit_laplace`.

    Returns
    -------
    xarray.DataArray
        A scalar named ``log_marginal_likelihood``. ``attrs``: ``method``, ``mcse`` (Monte Carlo
        standard error; 0 for Laplace), ``pareto_k`` (PSIS k̂ of the importance ratios; NaN for
        Laplace), ``laplace`` (the Laplace estimate, under either method), ``draws``,
        ``logp_at_mode``, ``log_det_precision``, ``dimension``, ``proposal``, ``space`` and
        ``jacobian``.

    Raises
    ------
    ImproperPriorError
        A free variable has a Flat or HalfFlat prior, or the model has a Potential (names them).
    DiscreteVariableError
        A free variable is discrete.
    NoObservedVariablesError
        The model has no observed variables.
    ModeNotFoundError
        The posterior has no mode.
    NotPositiveDefiniteError
        The negative Hessian at the mode is not positive definite (names the directions): no
        Laplace approximation, and no Gaussian proposal, exists.
    ValueError
        An option is not one of its values, or does not apply.

    Warns
    -----
    ParetoKWarning
        With ``method="importance"``, when k̂ exceeds 0.7: the ratios' tail is too heavy for
        the estimate, or its standard error, to be trusted.

    Notes
    -----
    The evidence is ``∫ p(y, θ) dθ = ∫ p̃(u) du`` with ``p̃`` the density of the unconstrained
    value variables, log-Jacobian included (Stan's ``jacobian=True``): only with the Jacobian
    do the mode and the curvature integrate the right function, whatever the transforms.

    The importance estimate ``Ẑ = (1/S) Σ wₛ`` is unbiased for ``p(y)``; its log has the
    delta-method standard error ``sd(w) / (√S · mean(w))``, reported as ``mcse`` (the bias of
    the log, ``−mcse²/2``, is far below it). Both rest on the ratios having a finite variance,
    which the PSIS k̂ checks: below 0.5 the central limit theorem holds, up to 0.7 the estimate
    is still usable (Vehtari et al. 2024), above 0.7 neither the estimate nor its standard
    error is reliable. The proposal is the Laplace Gaussian itself (no heavier-tailed
    Student-t): its k̂ is the same diagnostic :func:`~pymc_fisher.fit_laplace` reports.

    References
    ----------
    Kass, R. E. & Raftery, A. E. (1995). Bayes factors. JASA 90(430), 773-795.
    Vehtari, A., Simpson, D., Gelman, A., Yao, Y. & Gabry, J. (2024). Pareto smoothed importance
    sampling. JMLR 25(72).

    Examples
    --------
    A normal mean with a normal prior: the posterior is Gaussian, so Laplace is exact,
    ``y ~ N(0, 1 + 1)``.

    >>> import numpy as np, pymc as pm, pymc_fisher as pmf
    >>> from scipy import stats
    >>> with pm.Model() as model:
    ...     mu = pm.Normal("mu", 0, 1)
    ...     y = pm.Normal("y", mu, 1, observed=[0.7])
    >>> lml = pmf.log_marginal_likelihood(model)
    >>> round(float(lml), 10), round(float(stats.norm(0, np.sqrt(2)).logpdf(0.7)), 10)
    (-1.3880121235, -1.3880121235)
    """
    model = pm.modelcontext(model)
    check_option("method", method, Method)
    if method != "importance":
        reject_inapplicable(
            {"draws": draws is not None, "random_seed": random_seed is not None},
            when=f"method={method!r}",
            advice="the Laplace evidence is deterministic; leave them out, or use "
            "method='importance'.",
        )
    if draws is not None and draws < 2:
        raise ValueError(f"draws={draws} is too few: importance sampling needs at least 2.")
    _check_proper(model)
    fns, mode = posterior_mode(
        model,
        initvals=initvals,
        gtol=gtol,
        maxiter=maxiter,
    )
    fns.mg.loglik()  # raises NoObservedVariablesError: no data, no likelihood to integrate
    precision, _ = regularized_precision(
        fns.curvature(mode.theta),
        fns.mg.layout.labels,
        policy="error",
        what="The negative Hessian of the log-density at the mode",
    )
    factor = cholesky(precision)
    d = mode.theta.size
    laplace = mode.logp + 0.5 * d * np.log(2 * np.pi) - 0.5 * factor.logdet
    attrs: dict[str, object] = {
        "method": method,
        "laplace": float(laplace),
        "logp_at_mode": mode.logp,
        "log_det_precision": factor.logdet,
        "dimension": d,
        "space": "unconstrained",
        "jacobian": 1,
    }
    if method == "laplace":
        attrs.update(mcse=0.0, pareto_k=float("nan"), draws=0, proposal="none")
        return xr.DataArray(laplace, name="log_marginal_likelihood", attrs=attrs)

    size = draws if draws is not None else DEFAULT_DRAWS
    theta = gaussian_draws(mode.theta, factor, size, as_generator(random_seed))
    logp = np.asarray(fns.draws(theta)[-1], dtype=float)
    log_ratios = np.where(np.isnan(logp), -np.inf, logp) - gaussian_logpdf(
        theta, mode.theta, factor
    )
    if not np.any(np.isfinite(log_ratios)):
        raise FisherError(
            f"All {size} importance draws fell where the log-density is -inf: the Laplace "
            "Gaussian is no proposal for this posterior. Use method='laplace', or reparametrise."
        )
    estimate = float(logsumexp(log_ratios) - np.log(size))
    weights = np.exp(log_ratios - np.max(log_ratios))
    mcse = float(np.std(weights, ddof=1) / (np.sqrt(size) * np.mean(weights)))
    k = pareto_k(log_ratios)
    if k > PARETO_K_THRESHOLD:
        warnings.warn(
            f"Pareto k̂ = {k:.2f} > {PARETO_K_THRESHOLD}: the importance ratios of the model "
            "against its Laplace Gaussian have too heavy a tail, so the importance estimate of "
            f"the log marginal likelihood ({estimate:.4g}) and its standard error ({mcse:.2g}) "
            "are not reliable. Reparametrise towards a Gaussian posterior, or use a "
            "dedicated evidence method (pm.sample_smc's log_marginal_likelihood).",
            ParetoKWarning,
            stacklevel=2,
        )
    attrs.update(mcse=mcse, pareto_k=k, draws=size, proposal="laplace_gaussian")
    return xr.DataArray(estimate, name="log_marginal_likelihood", attrs=attrs)
