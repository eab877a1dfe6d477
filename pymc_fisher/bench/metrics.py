"""The numbers of one study row, computed from a run's ``DataTree`` with ArviZ.

Conventions (the same for every sampler, so rows compare):

- ESS and R-hat are taken over every element of the model's free variables (constrained
  space, as in ``posterior``); ``ess_bulk_min``/``ess_tail_min`` are the smallest, ``rhat_max``
  the largest (rank-normalised split R-hat).
- ``grad_evals`` counts every gradient evaluation over warm-up and kept draws: the sum of the
  ``gradient_evaluations`` sample statistic when the sampler records it (RMHMC: it includes the
  implicit updates' fixed-point iterations), else the sum of ``n_steps`` (one gradient per
  leapfrog step, as for NUTS and nutpie).
- ``ess_min = min(ess_bulk_min, ess_tail_min)``: every comparison column divides the worse of the
  two, so a sampler cannot look good on the centre while missing the tails.
- ``ess_per_second = ess_min / wall_seconds`` with ``wall_seconds`` the sampling time
  (warm-up included, compilation excluded: that is ``compile_seconds``);
  ``ess_per_gradient = ess_min / grad_evals``.
- ``max_bias_z = max |mean − reference| / MCSE(mean)`` over the referenced elements; MCSE from
  ``arviz_stats.mcse`` (or ``sd/√n`` for independent draws).
- ``ksd``: the kernel Stein discrepancy of the draws (:func:`pymc_fisher.stein_discrepancy`),
  which needs no reference: at most :data:`KSD_MAX_DRAWS` draws (each chain thinned evenly),
  preconditioned by the information at the posterior mode, a property of the model, so every
  sampler of a target is measured with the same metric; where the model has no mode, by the
  identity (not by the draws' own scores, which would move with each sampler's errors). NaN
  when it is undefined (no model given, a discrete variable, a non-finite log-density).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence

import arviz_stats as azs
import numpy as np
import pymc as pm
import xarray as xr

from pymc_fisher.bench.errors import StudyError
from pymc_fisher.errors import FisherError
from pymc_fisher.stein import PreconditionerFallbackWarning, stein_discrepancy

__all__ = ["COLUMNS", "KSD_MAX_DRAWS", "bias_z", "grad_evals", "stein_column", "summarize_run"]

COLUMNS = (
    "target",
    "sampler",
    "seed",
    "wall_seconds",
    "compile_seconds",
    "grad_evals",
    "ess_bulk_min",
    "ess_tail_min",
    "ess_min",
    "ess_per_second",
    "ess_per_gradient",
    "rhat_max",
    "divergences",
    "max_bias_z",
    "ksd",
)

#: The study's cap on the draws of the Stein discrepancy: its cost grows as the square of the
#: draws (about 15 ms for 1000 draws, d = 25, against 0.2 s for 4000).
KSD_MAX_DRAWS = 1000

_SAMPLE_DIMS = ("chain", "draw")


def _stack(ds: xr.Dataset) -> np.ndarray:
    """Every element of every variable of a per-parameter statistics Dataset, raveled."""
    parts = [np.ravel(ds[name].values) for name in ds.data_vars]
    return np.concatenate(parts) if parts else np.array([])


def _extreme(values: np.ndarray, fn: Callable[[np.ndarray], float]) -> float:
    """``fn`` (min or max) over the finite values; NaN when there is none (e.g. one chain)."""
    finite = values[np.isfinite(values)]
    return float(fn(finite)) if finite.size else float("nan")


# Sample statistics that count gradients, most complete first: RMHMC records every gradient of
# its implicit solves in ``gradient_evaluations``; ``n_steps`` (leapfrog steps) is one gradient
# each for NUTS and nutpie, and a lower bound for an implicit integrator.
_GRADIENT_STATS = ("gradient_evaluations", "n_steps")


def grad_evals(tree: xr.DataTree) -> int | None:
    """Gradient evaluations over ``warmup_sample_stats`` and ``sample_stats``; None if unknown.

    The sum of ``gradient_evaluations`` when the sampler records it, else of ``n_steps``. The
    statistic is chosen once for the whole run, so warm-up and draws are counted alike.

    Examples
    --------
    >>> ones = np.ones((1, 4))
    >>> stats = xr.Dataset({"n_steps": (("chain", "draw"), 3 * ones),
    ...                     "gradient_evaluations": (("chain", "draw"), 20 * ones)})
    >>> grad_evals(xr.DataTree.from_dict({"sample_stats": stats}))
    80
    """
    groups = [
        tree[g].to_dataset() for g in ("warmup_sample_stats", "sample_stats") if g in tree.children
    ]
    for name in _GRADIENT_STATS:
        counts = [float(np.nansum(s[name].values)) for s in groups if name in s.data_vars]
        if counts:
            return round(sum(counts))
    return None


def bias_z(
    posterior: xr.Dataset,
    reference: Mapping[str, object],
    *,
    iid: bool = False,
) -> np.ndarray:
    """Standardised errors ``(mean − reference) / MCSE(mean)``, raveled over referenced elements.

    Parameters
    ----------
    posterior : xarray.Dataset
        Draws with dims ``("chain", "draw", ...)``.
    reference : mapping
        Variable name to an object with a ``mean`` attribute (a :class:`Reference`) or to the
        mean itself; broadcast against the variable's non-sample shape.
    iid : bool
        The draws are independent: MCSE is ``sd / sqrt(n)`` (ddof=1).

    Examples
    --------
    >>> x = np.array([[0.0, 1.0, 2.0, 3.0]])  # one chain, mean 1.5, sd 1.29
    >>> ds = xr.Dataset({"a": (("chain", "draw"), x)})
    >>> z = bias_z(ds, {"a": 1.0}, iid=True)
    >>> bool(np.isclose(z[0], 0.5 / (np.std(x, ddof=1) / 2)))
    True
    """
    missing = [name for name in reference if name not in posterior.data_vars]
    if missing:
        raise StudyError(f"reference names {missing} are not in the posterior")
    names = list(reference)
    ds = posterior[names]
    mean = ds.mean(_SAMPLE_DIMS)
    if iid:
        n = ds.sizes["chain"] * ds.sizes["draw"]
        mcse = ds.std(_SAMPLE_DIMS, ddof=1) / math.sqrt(n)
    else:
        mcse = azs.mcse(ds, sample_dims=list(_SAMPLE_DIMS), method="mean")
    z = []
    for name in names:
        ref = reference[name]
        ref_mean = np.asarray(getattr(ref, "mean", ref), dtype=float)
        diff = mean[name].values - np.broadcast_to(ref_mean, mean[name].shape)
        z.append(np.ravel(diff / mcse[name].values))
    return np.concatenate(z)


def stein_column(model: pm.Model, tree: xr.DataTree) -> float:
    """The study's ``ksd`` column: the Stein discrepancy with a metric that is the model's own.

    The information at the posterior mode where there is a mode, else the identity (see the
    module's conventions); NaN where the discrepancy is undefined.

    Examples
    --------
    >>> with pm.Model() as model:
    ...     x = pm.Normal("x")
    >>> post = xr.Dataset({"x": (("chain", "draw"), [[-1.0, 0.0, 1.0]])})
    >>> round(stein_column(model, xr.DataTree.from_dict({"posterior": post})), 4)
    0.3364
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PreconditionerFallbackWarning)
            try:
                ksd = stein_discrepancy(model, tree, max_draws=KSD_MAX_DRAWS)
            except PreconditionerFallbackWarning:
                ksd = stein_discrepancy(
                    model, tree, max_draws=KSD_MAX_DRAWS, preconditioner="identity"
                )
    except FisherError:
        return float("nan")
    return float(ksd)


def summarize_run(
    tree: xr.DataTree,
    *,
    var_names: Sequence[str],
    wall_seconds: float,
    compile_seconds: float,
    reference: Mapping[str, object] | None = None,
    iid: bool = False,
    model: pm.Model | None = None,
) -> dict[str, float | int | None]:
    """Compute the measured columns of one study row (all of :data:`COLUMNS` but the first three).

    Parameters
    ----------
    tree : xarray.DataTree
        The run's result, with a ``posterior`` group (and ``sample_stats`` for MCMC).
    var_names : sequence of str
        Free variables to take ESS and R-hat over.
    wall_seconds, compile_seconds : float
        Sampling time and compile time of the run.
    reference : mapping, optional
        Reference means by variable, for ``max_bias_z`` (NaN without one).
    iid : bool
        Independent draws: ESS is the number of draws, R-hat undefined (NaN).
    model : pymc.Model, optional
        The model the draws are of, for ``ksd`` (:func:`stein_column`; NaN without one).

    Returns
    -------
    dict
    """
    posterior = tree["posterior"].to_dataset()[list(var_names)]
    if iid:
        n = posterior.sizes["chain"] * posterior.sizes["draw"]
        ess_bulk = ess_tail = float(n)
        rhat_max = float("nan")
    else:
        dims = list(_SAMPLE_DIMS)
        ess_bulk = _extreme(_stack(azs.ess(posterior, sample_dims=dims, method="bulk")), np.min)
        ess_tail = _extreme(_stack(azs.ess(posterior, sample_dims=dims, method="tail")), np.min)
        rhat_max = _extreme(_stack(azs.rhat(posterior, sample_dims=dims)), np.max)
    n_grad = None if iid else grad_evals(tree)
    stats = tree["sample_stats"].to_dataset() if "sample_stats" in tree.children else xr.Dataset()
    if "diverging" in stats.data_vars:
        divergences: int | None = int(stats["diverging"].values.sum())
    else:
        divergences = 0 if iid else None
    ess_min = float(np.minimum(ess_bulk, ess_tail))  # NaN if either is: never hide one
    max_z = float("nan")
    if reference:
        max_z = float(np.max(np.abs(bias_z(tree["posterior"].to_dataset(), reference, iid=iid))))
    return {
        "wall_seconds": float(wall_seconds),
        "compile_seconds": float(compile_seconds),
        "grad_evals": n_grad,
        "ess_bulk_min": ess_bulk,
        "ess_tail_min": ess_tail,
        "ess_min": ess_min,
        "ess_per_second": ess_min / wall_seconds if wall_seconds > 0 else float("nan"),
        "ess_per_gradient": ess_min / n_grad if n_grad else float("nan"),
        "rhat_max": rhat_max,
        "divergences": divergences,
        "max_bias_z": max_z,
        "ksd": float("nan") if model is None else stein_column(model, tree),
    }
