"""``stein_thin``: the draws that minimise the kernel Stein discrepancy, chosen greedily."""

from __future__ import annotations

import numpy as np
import pymc as pm
import xarray as xr

from pymc_fisher.stein.draws import posterior_group, unconstrained_draws
from pymc_fisher.stein.kernel import greedy_thin
from pymc_fisher.stein.preconditioner import Preconditioner, resolve_metric
from pymc_fisher.stein.whitening import whiten

__all__ = ["stein_thin"]


def stein_thin(
    model: pm.Model | None = None,
    idata: xr.DataTree | None = None,
    n: int | None = None,
    *,
    preconditioner: Preconditioner = "information",
    max_draws: int | None = None,
    c: float = 1.0,
    beta: float = -0.5,
) -> xr.DataTree:
    """Select ``n`` posterior draws greedily, each minimising the Stein discrepancy so far.

    Stein thinning (Riabiz et al. 2022): point ``t`` is the draw ``x`` minimising
    ``k₀(x, x) + 2 Σ_{j<t} k₀(x, x_j)``, with the kernel, score and preconditioner of
    :func:`pymc_fisher.stein_discrepancy`. Draws may be chosen more than once. The selected
    points can correct a biased chain's burn-in and compress a long one; like the
    discrepancy, the choice is blind to the weights of distant modes, and tends to favour
    points near stationary points of ``log p`` (small ``‖s‖``; Bénard et al. 2023).

    Parameters
    ----------
    model
        The model the draws are of (default: the one in context).
    idata
        A ``DataTree`` with a ``posterior`` group, dims ``(chain, draw, ...)``. Required.
    n
        How many points to select. Required.
    preconditioner, c, beta
        As in :func:`pymc_fisher.stein_discrepancy`.
    max_draws
        Candidates: at most this many draws, each chain thinned evenly (default all; the cost
        is ``O(n_candidates · n · d)`` time and ``O(n_candidates)`` memory).

    Returns
    -------
    xarray.DataTree
        ``posterior``: every variable of the input's posterior group at the selected draws,
        dims ``(chain, draw, ...)`` with one chain of ``n`` draws in the order chosen, and the
        selected draws' original coordinates as the coordinates ``source_chain`` and
        ``source_draw`` along ``draw``. ``stein_thinning``: ``ksd`` (dim ``draw``: the
        V-statistic discrepancy of the first ``t`` selected points) and the options in
        ``attrs``.

    Raises
    ------
    TypeError
        If ``idata`` or ``n`` is not given.
    ValueError
        If ``n`` is not positive.
    MissingGroupError, DrawsMismatchError, DiscreteVariableError, NonFiniteLogDensityError
        As :func:`pymc_fisher.stein_discrepancy`.

    References
    ----------
    Riabiz, M., Chen, W. Y., Cockayne, J., Swietach, P., Niederer, S. A., Mackey, L. &
    Oates, C. J. (2022). Optimal thinning of MCMC output. JRSS B 84(4), 1059-1081.

    Examples
    --------
    >>> import numpy as np, pymc as pm, xarray as xr
    >>> import pymc_fisher as pmf
    >>> with pm.Model() as model:
    ...     x = pm.Normal("x")
    >>> draws = np.random.default_rng(0).normal(size=(1, 200))
    >>> idata = xr.DataTree.from_dict({"posterior": xr.Dataset({"x": (("chain", "draw"), draws)})})
    >>> thinned = pmf.stein_thin(model, idata, 10)
    >>> thinned.posterior["x"].shape
    (1, 10)
    >>> bool(abs(thinned.posterior["x"].values[0, 0]) < 0.05)  # first: the draw nearest the mode
    True
    """
    model = pm.modelcontext(model)
    if idata is None or n is None:
        raise TypeError("stein_thin needs idata (a DataTree of draws) and n (how many points).")
    if int(n) < 1:
        raise ValueError(f"n={n} must be a positive number of points.")
    draws = unconstrained_draws(model, idata, max_draws=max_draws, who="stein_thin")
    metric = resolve_metric(
        preconditioner, draws.theta, draws.scores, draws.logp, draws.labels, draws.model
    )
    white = whiten(draws.theta, draws.scores, metric.matrix)
    rows, path = greedy_thin(white.points, white.scores, int(n), c=c, beta=beta)

    source = posterior_group(idata, who="stein_thin")
    chain_pos = draws.layout.chain[rows]
    draw_pos = draws.layout.draw[rows]
    picked = source.isel(
        chain=xr.DataArray(chain_pos, dims="draw"), draw=xr.DataArray(draw_pos, dims="draw")
    )
    picked = picked.drop_vars(["chain", "draw"], errors="ignore")
    picked = picked.assign_coords(
        draw=np.arange(int(n)),
        source_chain=("draw", source["chain"].values[chain_pos]),
        source_draw=("draw", source["draw"].values[draw_pos]),
    )
    picked = picked.expand_dims(chain=[0]).transpose("chain", "draw", ...)
    picked.attrs = dict(source.attrs)
    attrs = {
        "kernel": "imq",
        "c": float(c),
        "beta": float(beta),
        "preconditioner": preconditioner if isinstance(preconditioner, str) else "matrix",
        "preconditioner_source": metric.source,
        "n_candidates": int(draws.theta.shape[0]),
        "thinning_stride": draws.layout.stride,
        "space": "unconstrained",
        "jacobian": 1,
    }
    info = xr.Dataset({"ksd": ("draw", path)}, coords={"draw": np.arange(int(n))}, attrs=attrs)
    return xr.DataTree.from_dict({"posterior": picked, "stein_thinning": info})
