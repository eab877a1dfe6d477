"""``fit_laplace``: the exact Laplace approximation of a PyMC model's posterior."""

from __future__ import annotations

import warnings

import numpy as np
import pymc as pm
import xarray as xr
from arviz_stats.base import array_stats
from pytensor.compile.mode import Mode

from pymc_fisher.compile_mode import LAPLACE_MODE_NAME
from pymc_fisher.laplace.graphs import Curvature, LaplaceFunctions, laplace_functions
from pymc_fisher.laplace.groups import data_groups, matrix, posterior_group, unconstrained_group
from pymc_fisher.laplace.mode import ModeResult, find_mode
from pymc_fisher.linalg import (
    SOFTABS_ALPHA,
    NonPositiveDefinitePolicy,
    cholesky,
    covariance,
    gaussian_draws,
    gaussian_logpdf,
    regularized_precision,
)
from pymc_fisher.seeds import RandomSeed, as_generator
from pymc_fisher.validation import check_option, reject_inapplicable

__all__ = ["ParetoKWarning", "fit_laplace", "pareto_k", "posterior_mode"]

PARETO_K_THRESHOLD = 0.7

#: Fewest draws with a Pareto k̂: ArviZ fits the largest ceil(min(n/5, 3√n)) ratios and needs
#: at least 5 of them, so n ≥ 25.
MIN_PARETO_DRAWS = 25

#: ``gtol``'s default in float64: far above its rounding, far below any statistical scale.
GTOL = 1e-9

# What to do when log p runs away along a ray (find_mode's ModeNotFoundError).
_NO_MODE_ADVICE = {
    True: (
        "A Laplace approximation needs a mode: reparametrise (a non-centered parametrisation, "
        "theta = mu + tau * z with z ~ Normal(0, 1)), try jacobian=False (the mode of the "
        "constrained density, which exists for some such models), or sample with MCMC "
        "(pm.sample), which needs no mode."
    ),
    False: (
        "A Laplace approximation needs a mode: reparametrise (a non-centered parametrisation, "
        "theta = mu + tau * z with z ~ Normal(0, 1)), or sample with MCMC (pm.sample), which "
        "needs no mode."
    ),
}


class ParetoKWarning(UserWarning):
    """The Pareto k̂ of the Gaussian approximation against the model exceeds 0.7."""


def pareto_k(log_ratios: np.ndarray) -> float:
    """PSIS k̂ (ArviZ) of importance ratios ``log p − log q`` from independent draws of q.

    Returns ``-inf`` when the log-ratios are constant to rounding (the Gaussian is exact: the
    ratios are bounded, and ArviZ's tail fit is undefined), and NaN for fewer than
    ``MIN_PARETO_DRAWS`` draws (too few for a tail). Non-finite log-ratios (a draw with
    ``log p = −∞``) count as ratio 0.
    """
    log_ratios = np.asarray(log_ratios, dtype=float).ravel()
    if log_ratios.size < MIN_PARETO_DRAWS:
        return float("nan")
    log_ratios = np.where(np.isnan(log_ratios), -np.inf, log_ratios)
    finite = log_ratios[np.isfinite(log_ratios)]
    if finite.size == 0:
        return float("inf")
    if np.ptp(finite) <= 1e-8 * max(1.0, float(np.max(np.abs(finite)))):
        return float("-inf")
    # ArviZ's psislw takes pointwise log-likelihoods, whose importance ratios for LOO are
    # 1 / p(y | θ): it smooths the tail of exp(-input). Ours are log(p/q): pass them negated.
    _, khat = array_stats.psislw(-log_ratios, r_eff=1.0)
    return float(khat)


def default_gtol(model: pm.Model) -> float:
    """``gtol``'s default: ``1e-9``, or ``100 ε`` of the model's least precise value variable."""
    dtypes = [np.dtype(v.type.dtype) for v in model.value_vars]
    eps = max((float(np.finfo(d).eps) for d in dtypes if d.kind == "f"), default=0.0)
    return max(GTOL, 100 * eps)


def posterior_mode(
    model: pm.Model,
    *,
    jacobian: bool = True,
    curvature: Curvature = "observed",
    initvals: dict[str, np.ndarray] | None = None,
    gtol: float | None = None,
    maxiter: int = 200,
    compile_mode: str | Mode | None = LAPLACE_MODE_NAME,
) -> tuple[LaplaceFunctions, ModeResult]:
    """The mode :func:`fit_laplace` centres on, and the compiled functions that found it.

    The one mode search of the package: :func:`fit_laplace`, :func:`pymc_fisher.identifiability`
    and :func:`pymc_fisher.log_marginal_likelihood` all call it. The options are
    :func:`fit_laplace`'s; the search starts at the model's initial point (with ``initvals``).

    Returns
    -------
    functions : LaplaceFunctions
        ``logp_grad``, ``curvature``, ``draws`` and the model graph (``functions.mg``).
    mode : ModeResult
        The converged mode.

    Raises
    ------
    pymc_fisher.ModeNotFoundError
        As :func:`fit_laplace`.
    """
    fns = laplace_functions(model, jacobian=jacobian, curvature=curvature, mode=compile_mode)
    start = pm.initial_point.make_initial_point_fn(
        model=model, overrides=initvals, jitter_rvs=set(), return_transformed=True
    )(0)
    mode = find_mode(
        fns.logp_grad,
        fns.curvature,
        fns.mg.layout.ravel(start),
        gtol=gtol if gtol is not None else default_gtol(model),
        maxiter=maxiter,
        labels=fns.mg.layout.labels,
        advice=_NO_MODE_ADVICE[jacobian],
    )
    return fns, mode


def fit_laplace(
    model: pm.Model | None = None,
    *,
    draws: int = 1000,
    chains: int = 1,
    jacobian: bool = True,
    curvature: Curvature = "observed",
    on_non_positive_definite: NonPositiveDefinitePolicy = "error",
    initvals: dict[str, np.ndarray] | None = None,
    random_seed: RandomSeed = None,
    gtol: float | None = None,
    maxiter: int = 200,
    softabs_alpha: float = SOFTABS_ALPHA,
    compile_mode: str | Mode | None = LAPLACE_MODE_NAME,
) -> xr.DataTree:
    r"""Laplace approximation: a Gaussian at the posterior mode with covariance ``(−H)⁻¹``.

    Parameters
    ----------
    model
        The PyMC model (default: the one in context). Free variables must be continuous.
    draws
        Draws per chain from the approximation.
    chains
        Number of chains the draws are split into (they are independent).
    jacobian
        ``True`` (Stan's default): the mode and Hessian of the unconstrained density, log-Jacobian
        of the transforms included. ``False`` (pymc-extras' choice): the mode of the density of
        the constrained values (``sigma`` itself), its covariance pulled back to the unconstrained
        space; for a user, ``jacobian=False`` centres the approximation on the most probable
        ``sigma`` while ``jacobian=True`` centres it on the most probable ``log sigma``, which
        is the better Gaussian.
    curvature
        ``"observed"``: Newton's method with the exact negative Hessian, and the covariance is
        its inverse at the mode. ``"expected"``: Fisher scoring with the expected information of
        the whole model graph (:func:`pymc_fisher.fisher.expected.expected_information_graph`
        with ``include_prior=True``), and the covariance is its inverse at the mode. Requires
        ``jacobian=True``.
    on_non_positive_definite
        What to do when the curvature at the mode is not positive definite: ``"error"`` (raise,
        naming the flat or negative directions by label), ``"warn"`` (warn, then add the minimal
        jitter), ``"jitter"`` (add the smallest multiple of the identity that makes it positive
        definite, reported in ``diagnostics.regularization``), ``"softabs"`` (Betancourt's
        SoftAbs of the matrix, eigenvalues ``λ coth(αλ)``).
    initvals
        Starting values by variable name (constrained or value-variable names, as in
        ``pm.sample``); the rest come from the model's initial point.
    random_seed
        Seed of the Gaussian draws: anything ``pm.sample`` takes (an int, a ``Generator``, a
        ``SeedSequence``, ...).
    gtol
        Converged when ``max |∇ log p| ≤ gtol · max(1, |log p|)``. Default: ``1e-9`` when
        the model computes in float64, ``100 ε`` of its precision otherwise (``1.2e-5`` for
        ``floatX="float32"``, whose rounding alone leaves gradients of about ``ε |log p|``).
    maxiter
        Most Newton iterations.
    softabs_alpha
        Sharpness of the SoftAbs map; only with ``on_non_positive_definite="softabs"``.
    compile_mode
        PyTensor compile mode of the fit's functions. ``"LAPLACE"`` (default,
        :data:`pymc_fisher.compile_mode.LAPLACE_MODE`): PyTensor's canonicalising,
        stabilising and specialising rewrites (those of ``fast_run`` that decide the numbers)
        with the Python VM linker, so no C or Numba code is generated (the functions run a few
        dozen times: generating code costs more than it saves). Any PyTensor mode or mode name
        is passed on; ``None`` is PyTensor's default mode. ``"FAST_COMPILE"`` skips the
        stabilising rewrites PyMC's log densities rely on (``Bernoulli(logit_p=x)`` is
        ``-inf`` at ``x = -800``).

    Returns
    -------
    xarray.DataTree
        Groups ``posterior`` (constrained draws of every free variable and Deterministic),
        ``unconstrained_posterior``, ``fit`` (``mean_vector``, ``covariance_matrix``,
        ``precision_matrix``, unconstrained, dims ``("rows", "columns")``), ``diagnostics``,
        and ``observed_data`` / ``constant_data`` when the model has them.

    Raises
    ------
    pymc_fisher.ModeNotFoundError
        If the mode search does not converge; the message says how far it got. When
        ``log p`` keeps rising along a ray (a density without a mode, such as a centered
        hierarchical model's funnel), the message names the coordinates of that ray and what to
        do instead.
    pymc_fisher.errors.NotPositiveDefiniteError
        If the curvature at the mode is not positive definite and
        ``on_non_positive_definite="error"``.
    pymc_fisher.errors.DiscreteVariableError
        If a free variable is discrete.
    ValueError
        If an option is not one of its values, or does not apply (``curvature="expected"``
        with ``jacobian=False``, ``softabs_alpha`` without ``on_non_positive_definite="softabs"``).

    Warns
    -----
    ParetoKWarning
        A ``UserWarning``, when the Pareto k̂ of the Gaussian against the model exceeds 0.7:
        importance ratios have too heavy a tail and the Gaussian is a poor picture of the
        posterior.

    Notes
    -----
    With ``θ̂`` the mode and ``P = −∇² log p(θ̂)`` factored as ``Uᵀ U``, the approximation is
    ``N(θ̂, P⁻¹)``; draws are ``θ̂ + U⁻¹ z``. The diagnostic ``pareto_k`` is the PSIS k̂ of
    ``log p(θ) − log q(θ)`` over the draws, with ``p`` the Jacobian-including unconstrained
    density (the distribution of ``θ`` the draws should follow), whichever ``jacobian``.

    References
    ----------
    Vehtari, A., Simpson, D., Gelman, A., Yao, Y. & Gabry, J. (2024). Pareto smoothed importance
    sampling. JMLR 25(72).

    Examples
    --------
    >>> import numpy as np, pymc as pm
    >>> import pymc_fisher as pmf
    >>> with pm.Model() as model:
    ...     mu = pm.Normal("mu", 0, 10)
    ...     y = pm.Normal("y", mu, 1, observed=np.array([0.5, 1.5]))
    >>> dt = fit_laplace(model, random_seed=1)
    >>> round(float(dt.fit.mean_vector.sel(rows="mu")), 4)
    0.995
    """
    model = pm.modelcontext(model)
    check_option("curvature", curvature, Curvature)
    check_option("on_non_positive_definite", on_non_positive_definite, NonPositiveDefinitePolicy)
    if curvature == "expected" and not jacobian:
        raise ValueError(
            "curvature='expected' needs jacobian=True: the expected information of the graph is "
            "defined for the unconstrained density with its log-Jacobian."
        )
    if on_non_positive_definite != "softabs":
        reject_inapplicable(
            {"softabs_alpha": softabs_alpha != SOFTABS_ALPHA},
            when=f"on_non_positive_definite={on_non_positive_definite!r}",
            advice="it sets the SoftAbs map of on_non_positive_definite='softabs'.",
        )
    rng = as_generator(random_seed)
    fns, mode = posterior_mode(
        model,
        jacobian=jacobian,
        curvature=curvature,
        initvals=initvals,
        gtol=gtol,
        maxiter=maxiter,
        compile_mode=compile_mode,
    )
    layout = fns.mg.layout
    labels = layout.labels
    what = "The negative Hessian" if curvature == "observed" else "The expected information"
    raw = fns.curvature(mode.theta)
    precision, report = regularized_precision(
        raw,
        labels,
        policy=on_non_positive_definite,
        softabs_alpha=softabs_alpha,
        what=f"{what} at the mode",
    )
    factor = cholesky(precision)
    cov = covariance(factor)

    theta_draws = gaussian_draws(mode.theta, factor, chains * draws, rng)
    *values, logp = fns.draws(theta_draws)
    logq = gaussian_logpdf(theta_draws, mode.theta, factor)
    k = pareto_k(np.asarray(logp) - logq)
    if k > PARETO_K_THRESHOLD:
        warnings.warn(
            f"Pareto k̂ = {k:.2f} > {PARETO_K_THRESHOLD}: the Gaussian approximation is a poor "
            "importance proposal for this posterior (skewed or heavy-tailed); its moments and "
            "intervals are not trustworthy. Sample with MCMC, or reparametrise.",
            ParetoKWarning,
            stacklevel=2,
        )

    attrs = {
        "inference_method": "laplace",
        "jacobian": int(jacobian),
        "curvature": curvature,
        "space": "unconstrained",
    }
    groups = {
        "posterior": posterior_group(model, fns.output_names, values, chains, draws, attrs),
        "unconstrained_posterior": unconstrained_group(model, layout, theta_draws, chains, draws),
        "fit": _fit_group(mode.theta, cov, precision, labels, attrs),
        "diagnostics": _diagnostics_group(mode, raw, report, k, on_non_positive_definite),
        **data_groups(model),
    }
    return xr.DataTree.from_dict({name: xr.DataTree(ds) for name, ds in groups.items()})


def _fit_group(mean, cov, precision, labels, attrs) -> xr.Dataset:
    mean_vector = xr.DataArray(mean, dims=("rows",), coords={"rows": list(labels)})
    return xr.Dataset(
        {
            "mean_vector": mean_vector,
            "covariance_matrix": matrix(cov, labels, "covariance_matrix"),
            "precision_matrix": matrix(precision, labels, "precision_matrix"),
        },
        attrs=attrs,
    )


def _diagnostics_group(mode, raw, report, k, policy) -> xr.Dataset:
    eigenvalues = report.eigenvalues
    magnitudes = np.abs(eigenvalues)
    smallest = float(magnitudes.min()) if magnitudes.size else 1.0
    condition = float(magnitudes.max() / smallest) if smallest > 0 else np.inf
    return xr.Dataset(
        {
            "eigenvalues": xr.DataArray(eigenvalues, dims=("eigenvalue",)),
            "condition_number": condition,
            "positive_definite": bool(report.positive_definite),
            "max_abs_gradient": mode.max_abs_gradient,
            "regularization": report.jitter,
            "softabs_alpha": report.softabs_alpha,
            "logp_at_mode": mode.logp,
            "optimizer_iterations": mode.iterations,
            "optimizer_evaluations": mode.evaluations,
            "optimizer_converged": bool(mode.converged),
            "pareto_k": k,
        },
        attrs={
            "on_non_positive_definite": policy,
            "regularization_policy": report.policy,
            "non_positive_directions": report.message,
            "optimizer_message": mode.message,
        },
    )
