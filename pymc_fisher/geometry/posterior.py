"""Fisher information over a posterior: its average over the draws and its spread.

``pmf.fisher_information`` gives the information at one point; over posterior draws the
information is itself uncertain. This evaluates it at each draw (compiled once, by the facade)
and summarises the draws entrywise.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pymc as pm
import xarray as xr

from pymc_fisher.fisher.model_graph import Space
from pymc_fisher.geometry.points import posterior_points
from pymc_fisher.information import Kind, Method, fisher_information
from pymc_fisher.seeds import RandomSeed, seed_sequence
from pymc_fisher.validation import reject_inapplicable

__all__ = ["STATS", "posterior_fisher_information"]

STATS: tuple[str, ...] = ("mean", "sd", "q05", "median", "q95")


def posterior_fisher_information(
    model: pm.Model | None = None,
    idata: xr.DataTree | None = None,
    *,
    kind: Kind = "expected",
    space: Space = "unconstrained",
    method: Method = "auto",
    include_prior: bool = False,
    group: Literal["posterior", "prior"] | str = "posterior",
    max_draws: int | None = None,
    draws: int | None = None,
    random_seed: RandomSeed = None,
) -> xr.DataArray:
    r"""Compute the posterior-averaged Fisher information and its spread over the draws.

    Parameters
    ----------
    model
        The model the draws come from (default: the one in context).
    idata
        A ``DataTree`` (as ``pm.sample`` returns) whose ``group`` holds draws of every free
        variable, dims ``(chain, draw, ...)``. Required (it has a default only so that the
        model, first as in every public function, can come from the context).
    kind, space, method, include_prior
        As in ``pymc_fisher.fisher_information``.
    group
        The group holding the draws.
    max_draws
        Use at most this many draws, chosen at random with ``random_seed`` (default all).
    draws
        With ``method="monte_carlo"``: simulated data sets per factor (passed on).
    random_seed
        Seed for the choice of draws (with ``max_draws``) and for Monte Carlo (one stream per
        draw): anything ``pm.sample`` takes.

    Returns
    -------
    xarray.DataArray
        Dims ``("stat", "rows", "columns")`` with ``stat`` = ``mean``, ``sd`` (across draws),
        ``q05``, ``median``, ``q95``; attrs those of ``fisher_information`` plus
        ``posterior_draws``.

    Notes
    -----
    The mean ``E_post[I(θ)]`` is the posterior-expected information (the Bayesian design
    criterion's matrix, and, for ``kind="observed"``, ``include_prior=True``, the average
    curvature of the log-posterior). Its Monte Carlo standard error is about ``sd/√ESS``.

    Raises
    ------
    TypeError
        If ``idata`` is not given.
    MissingPointValueError
        If the group lacks a free variable.
    ValueError
        If the group has no draws, or an option does not apply (as in ``fisher_information``).

    Examples
    --------
    >>> import numpy as np, pymc as pm, xarray as xr
    >>> from pymc_fisher import posterior_fisher_information
    >>> with pm.Model() as model:
    ...     mu = pm.Normal("mu")
    ...     sigma = pm.HalfNormal("sigma")
    ...     y = pm.Normal("y", mu, sigma, observed=np.zeros(4))
    >>> post = xr.Dataset({"mu": (("chain", "draw"), [[0.0, 0.1]]),
    ...                    "sigma": (("chain", "draw"), [[1.0, 2.0]])})
    >>> info = posterior_fisher_information(model, xr.DataTree.from_dict({"posterior": post}),
    ...                                     space="constrained")
    >>> float(info.sel(stat="mean", rows="mu", columns="mu"))  # mean of 4/σ² over σ = 1, 2
    2.5
    """
    model = pm.modelcontext(model)
    if idata is None:
        raise TypeError("posterior_fisher_information needs idata, a DataTree of draws.")
    reject_inapplicable(
        {"random_seed": random_seed is not None and max_draws is None and method != "monte_carlo"},
        when=f"max_draws=None and method={method!r}",
        advice="the seed chooses draws (max_draws) and seeds Monte Carlo; leave it out.",
    )
    ds = posterior_points(idata, model, group=group)
    n = ds.sizes["sample"]
    seeds = seed_sequence(random_seed)
    if max_draws is not None and max_draws < n:
        rng = np.random.default_rng(seeds)
        ds = ds.isel(sample=np.sort(rng.choice(n, size=max_draws, replace=False)))
        n = max_draws
    if n == 0:
        raise ValueError(f"The {group!r} group has no draws.")
    # one Monte Carlo stream per draw; none is passed when the information is deterministic
    # (fisher_information rejects a seed it would not use)
    mc = method == "monte_carlo"
    streams = [int(s) for s in seeds.generate_state(n)] if mc else [None] * n
    names = [str(k) for k in ds.data_vars]
    columns = {k: ds[k].values for k in names}
    matrices = []
    first = xr.DataArray()
    for i in range(n):
        info = fisher_information(
            model,
            {k: columns[k][i] for k in names},
            kind=kind,
            space=space,
            method=method,
            include_prior=include_prior,
            draws=draws,
            random_seed=streams[i],
        )
        first = info if i == 0 else first
        matrices.append(info.values)
    stack = np.asarray(matrices)
    q05, median, q95 = np.quantile(stack, [0.05, 0.5, 0.95], axis=0)
    values = np.stack(
        [stack.mean(0), stack.std(0, ddof=1) if n > 1 else np.zeros_like(q05), q05, median, q95]
    )
    attrs = {k: v for k, v in first.attrs.items() if k != "mcse"}
    attrs["posterior_draws"] = n
    return xr.DataArray(
        values,
        dims=("stat", "rows", "columns"),
        coords={
            "stat": list(STATS),
            "rows": first["rows"].values,
            "columns": first["columns"].values,
        },
        name=f"posterior_{first.name}",
        attrs=attrs,
    )
