"""RMHMC diagnostics along the chain on arviz-plots: conditioning, integration time, divergences.

Each function reads the step's sample statistics (``metric_condition_number``, ``step_size``,
``n_steps``, ``divergence_kind``; see :class:`pymc_fisher.RMHMC`) and returns an
:class:`arviz_plots.PlotCollection` with one panel per quantity and one line (or set of marks)
per chain, coloured by chain as ArviZ's own plots do. They take arviz-plots' arguments
(``plot_collection``, ``backend``, ``visuals``, ``**pc_kwargs``), draw only through its visuals,
so they follow the active ``arviz_plots.style`` and any of its backends, and they compose with
ArviZ's plots on one figure through :func:`arviz_plots.combine_plots`::

    azp.combine_plots(idata, [(pmf.plot_condition_number, {}), (azp.plot_dist, {})],
                      group="sample_stats", var_names=["metric_condition_number"])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import import_module
from typing import Any

import numpy as np
import xarray as xr

from pymc_fisher.plots import PlotError, visual_kwargs

__all__ = [
    "DIVERGENCE_KINDS",
    "plot_condition_number",
    "plot_divergences",
    "plot_integration_time",
]

# The kinds of ``divergence_kind`` other than "none" (RMHMC's step documents them).
DIVERGENCE_KINDS = ("energy", "solver", "metric")
_SAMPLE_DIMS = ("chain", "draw")
_BY_CHAIN = frozenset({"color", "overlay"})


def _stats(
    dt: xr.DataTree, group: str, names: Sequence[str], coords: Mapping[str, Any] | None
) -> xr.Dataset:
    """The statistics ``names`` of ``dt[group]`` (selected by ``coords``), or a typed error."""
    if group not in dt.children:
        raise PlotError(
            f"the data have no {group!r} group; pass the result of pm.sample with an RMHMC step "
            "(or group='warmup_sample_stats' with discard_tuned_samples=False)"
        )
    ds = dt[group].to_dataset()
    missing = [name for name in names if name not in ds.data_vars]
    if missing:
        raise PlotError(
            f"{group!r} has no {missing}: these statistics are recorded by pymc_fisher.RMHMC "
            f"(found: {sorted(map(str, ds.data_vars))})"
        )
    ds = ds[list(names)]
    return ds.sel(coords) if coords else ds


def _check_var_names(var_names: str | Sequence[str] | None, allowed: Sequence[str]) -> list[str]:
    """``var_names`` as a list within ``allowed`` (all of them when None)."""
    if var_names is None:
        return list(allowed)
    names = [var_names] if isinstance(var_names, str) else list(var_names)
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise PlotError(f"var_names {unknown} not among this plot's {list(allowed)}")
    return names


def _collection(
    ds: xr.Dataset, plot_collection: Any, backend: str | None, pc_kwargs: dict[str, Any]
) -> Any:
    """``plot_collection``, or a new one: a panel per statistic, an aesthetic per chain."""
    from arviz_base import rcParams
    from arviz_plots import PlotCollection
    from arviz_plots.plots.utils import set_wrap_layout

    # arviz_plots.combine_plots passes these to every plot; statistics along the chain have
    # nothing to filter and always keep (chain, draw)
    if pc_kwargs.pop("filter_vars", None) is not None:
        raise PlotError("filter_vars does not apply: name the statistics in var_names")
    sample_dims = pc_kwargs.pop("sample_dims", None)
    if sample_dims is not None and set(np.atleast_1d(sample_dims)) != set(_SAMPLE_DIMS):
        raise PlotError(f"sample_dims must be {_SAMPLE_DIMS}, not {sample_dims!r}")
    if plot_collection is not None:
        return plot_collection
    pc_kwargs.setdefault("cols", ["__variable__"])
    pc_kwargs.setdefault("col_wrap", 3)
    aes = dict(pc_kwargs.pop("aes", {}))
    aes.setdefault("color", ["chain"])
    aes.setdefault("overlay", ["chain"])
    pc_kwargs["figure_kwargs"] = dict(pc_kwargs.get("figure_kwargs", {}))
    pc_kwargs["figure_kwargs"].setdefault("sharex", True)
    backend = backend or rcParams["plot.backend"]
    # the figure size arviz-plots' own plots give this many panels
    pc_kwargs = set_wrap_layout(pc_kwargs, import_module(f"arviz_plots.backend.{backend}"), ds)
    return PlotCollection.wrap(ds, backend=backend, aes=aes, **pc_kwargs)


def _lines_along_chain(
    ds: xr.Dataset,
    pc: Any,
    visuals: Mapping[str, Any] | None,
    *,
    titles: Mapping[str, str],
    log: Sequence[str] = (),
) -> Any:
    """One line per chain of each statistic against the draw, titled, with a draw axis label."""
    from arviz_plots.visuals import labelled_title, labelled_x, line, set_yscale

    kwargs = visual_kwargs(visuals, "lines")
    if kwargs is not None:
        pc.map(line, "lines", data=ds, **kwargs)
    kwargs = visual_kwargs(visuals, "title")
    if kwargs is not None:
        for name, text in titles.items():
            pc.map(labelled_title, "title", data=ds[[name]], text=text, ignore_aes=_BY_CHAIN,
                   **kwargs)  # fmt: skip
    kwargs = visual_kwargs(visuals, "xlabel")
    if kwargs is not None:
        kwargs.setdefault("text", "draw")
        pc.map(labelled_x, "xlabel", data=ds, ignore_aes=_BY_CHAIN, **kwargs)
    if log:
        pc.map(set_yscale, "yscale", data=ds[list(log)], scale="log", ignore_aes=_BY_CHAIN)
    return pc


def plot_condition_number(
    dt: xr.DataTree,
    *,
    var_names: str | Sequence[str] | None = None,
    group: str = "sample_stats",
    coords: Mapping[str, Any] | None = None,
    plot_collection: Any = None,
    backend: str | None = None,
    visuals: Mapping[str, Mapping[str, Any] | bool] | None = None,
    **pc_kwargs: Any,
) -> Any:
    """Condition number of the Riemannian metric at each draw, one line per chain (log scale).

    A metric whose condition number climbs towards ``1/eps`` (about 1e16) is near singular:
    its Cholesky factor, and the trajectory, lose precision there (SoftAbs's ``alpha`` bounds
    it).

    Parameters
    ----------
    dt : xarray.DataTree
        ``pm.sample`` output with an :class:`~pymc_fisher.RMHMC` step.
    var_names : str or sequence of str, optional
        Only ``"metric_condition_number"`` (accepted for :func:`arviz_plots.combine_plots`).
    group : str
        ``"sample_stats"`` or ``"warmup_sample_stats"``.
    coords : mapping, optional
        Selection, e.g. ``{"chain": [0]}``.
    plot_collection : arviz_plots.PlotCollection, optional
        Draw into it instead of a new one.
    backend : {"matplotlib", "bokeh", "plotly", "none"}, optional
        Default: arviz-plots' ``rcParams["plot.backend"]``.
    visuals : mapping, optional
        Keyword arguments (or False to skip) of the visuals ``lines``, ``title``, ``xlabel``.
    **pc_kwargs
        Passed to :meth:`arviz_plots.PlotCollection.wrap`.

    Returns
    -------
    arviz_plots.PlotCollection

    Raises
    ------
    PlotError
        When ``dt[group]`` has no ``metric_condition_number``.
    """
    names = _check_var_names(var_names, ["metric_condition_number"])
    ds = _stats(dt, group, names, coords)
    pc = _collection(ds, plot_collection, backend, pc_kwargs)
    titles = {"metric_condition_number": "metric condition number"}
    return _lines_along_chain(ds, pc, visuals, titles=titles, log=names)


def plot_integration_time(
    dt: xr.DataTree,
    *,
    var_names: str | Sequence[str] | None = None,
    group: str = "sample_stats",
    coords: Mapping[str, Any] | None = None,
    plot_collection: Any = None,
    backend: str | None = None,
    visuals: Mapping[str, Mapping[str, Any] | bool] | None = None,
    **pc_kwargs: Any,
) -> Any:
    """Step size, number of steps and integration time ``step_size × n_steps`` along the chain.

    With ``group="warmup_sample_stats"`` (``pm.sample(..., discard_tuned_samples=False)``)
    this shows dual averaging settle the step size.

    Parameters
    ----------
    dt : xarray.DataTree
        ``pm.sample`` output with an :class:`~pymc_fisher.RMHMC` step (or any step that
        records ``step_size`` and ``n_steps``, e.g. PyMC's NUTS).
    var_names : str or sequence of str, optional
        Among ``"step_size"``, ``"n_steps"``, ``"integration_time"`` (default: all three).
    group, coords, plot_collection, backend, visuals, **pc_kwargs
        As in :func:`plot_condition_number`.

    Returns
    -------
    arviz_plots.PlotCollection

    Raises
    ------
    PlotError
        When ``dt[group]`` has no ``step_size`` or ``n_steps``.
    """
    names = _check_var_names(var_names, ["step_size", "n_steps", "integration_time"])
    stats = _stats(dt, group, ["step_size", "n_steps"], coords)
    stats["integration_time"] = stats["step_size"] * stats["n_steps"]
    ds = stats[names].astype(float)
    pc = _collection(ds, plot_collection, backend, pc_kwargs)
    titles = {
        "step_size": "step size",
        "n_steps": "number of steps",
        "integration_time": "integration time",
    }
    return _lines_along_chain(ds, pc, visuals, titles={n: titles[n] for n in names})


def _marks(da: xr.DataArray, target: Any, *, chains: Sequence[Any], **kwargs: Any) -> Any:
    """Visual: a mark at each draw where ``da`` (one chain, along ``draw``) is true.

    The chain's row is its position in ``chains``.
    """
    from arviz_plots.visuals import backend_from_object

    row = float(list(chains).index(da.coords["chain"].item())) if "chain" in da.coords else 0.0
    draws = np.flatnonzero(np.asarray(da.values, dtype=bool)).astype(float)
    return backend_from_object(target).scatter(draws, np.full(draws.size, row), target, **kwargs)


def _chain_axis(da: xr.DataArray, target: Any, *, chains: Sequence[Any], draws: int) -> Any:
    """Visual: the y axis lists the chains, the x axis spans every draw."""
    from arviz_plots.visuals import backend_from_object

    plot_backend = backend_from_object(target)
    plot_backend.xlim((-0.5, draws - 0.5), target)
    plot_backend.ylim((-0.5, len(chains) - 0.5), target)
    plot_backend.ylabel("chain", target)
    return plot_backend.yticks(np.arange(len(chains)), [str(c) for c in chains], target)


def plot_divergences(
    dt: xr.DataTree,
    *,
    var_names: str | Sequence[str] | None = None,
    group: str = "sample_stats",
    coords: Mapping[str, Any] | None = None,
    plot_collection: Any = None,
    backend: str | None = None,
    visuals: Mapping[str, Mapping[str, Any] | bool] | None = None,
    **pc_kwargs: Any,
) -> Any:
    """Where divergences happen, by kind: a mark per divergent draw, one row per chain.

    One panel per kind of ``divergence_kind``: ``"energy"`` (the energy error exceeded the
    threshold), ``"solver"`` (an implicit update did not converge) and ``"metric"`` (the metric
    was not positive definite); each panel's title counts them.

    Parameters
    ----------
    dt : xarray.DataTree
        ``pm.sample`` output with an :class:`~pymc_fisher.RMHMC` step.
    var_names : str or sequence of str, optional
        Kinds to show (default: all of :data:`DIVERGENCE_KINDS`).
    group, coords, plot_collection, backend, visuals, **pc_kwargs
        As in :func:`plot_condition_number`; the visuals are ``marks``, ``chain_axis`` (limits
        and chain tick labels), ``title``, ``xlabel``.

    Returns
    -------
    arviz_plots.PlotCollection

    Raises
    ------
    PlotError
        When ``dt[group]`` has no ``divergence_kind``.
    """
    from arviz_plots.visuals import labelled_title, labelled_x

    kinds = _check_var_names(var_names, DIVERGENCE_KINDS)
    kind = _stats(dt, group, ["divergence_kind"], coords)["divergence_kind"]
    ds = xr.Dataset({k: kind == k for k in kinds})
    pc = _collection(ds, plot_collection, backend, pc_kwargs)
    chains = list(ds.coords["chain"].values) if "chain" in ds.coords else [0]
    kwargs = visual_kwargs(visuals, "marks")
    if kwargs is not None:
        kwargs.setdefault("marker", "|")
        pc.map(_marks, "marks", data=ds, chains=chains, **kwargs)
    kwargs = visual_kwargs(visuals, "chain_axis")
    if kwargs is not None:
        pc.map(_chain_axis, "chain_axis", data=ds, ignore_aes=_BY_CHAIN, store_artist=False,
               chains=chains, draws=ds.sizes["draw"], **kwargs)  # fmt: skip
    kwargs = visual_kwargs(visuals, "title")
    if kwargs is not None:
        for k in kinds:
            text = f"{k} divergences: {int(ds[k].sum())}"
            pc.map(labelled_title, "title", data=ds[[k]], text=text, ignore_aes=_BY_CHAIN,
                   **kwargs)  # fmt: skip
    kwargs = visual_kwargs(visuals, "xlabel")
    if kwargs is not None:
        kwargs.setdefault("text", "draw")
        pc.map(labelled_x, "xlabel", data=ds, ignore_aes=_BY_CHAIN, **kwargs)
    return pc
