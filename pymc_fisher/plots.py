"""Plots on arviz-plots: the Laplace Gaussian over an MCMC pair plot, labelled matrix heatmaps.

Both return arviz-plots collections (``PlotMatrix``, ``PlotCollection``), so they take its
``plot_collection``/``backend``/``visuals`` arguments and follow ``arviz_plots.style``. The
sampler's diagnostics along the chain are in :mod:`pymc_fisher.sampler_plots`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pymc as pm
import xarray as xr
from scipy import stats

from pymc_fisher.errors import FisherError
from pymc_fisher.fisher.model_graph import graph_of
from pymc_fisher.summary import delta_jacobian

__all__ = ["PlotError", "correlation", "plot_laplace_pair", "plot_matrix_heatmap"]


class PlotError(FisherError):
    """A plot cannot be drawn from these data, or with this backend."""


def correlation(matrix: xr.DataArray) -> xr.DataArray:
    """Correlation matrix of a covariance ``DataArray`` (dims ``rows``, ``columns`` kept)."""
    sd = np.sqrt(np.diag(matrix.values))
    out = matrix.copy(data=matrix.values / np.outer(sd, sd))
    out.name = "correlation"
    return out


def _row_labels(viz: xr.Dataset, axis: str) -> list[str]:
    """Entry labels of the pair plot's rows (``axis="y"``) or columns (``"x"``)."""
    index = "row_index" if axis == "y" else "col_index"
    names = [str(v) for v in viz[f"var_name_{axis}"].values]
    extra = [str(c) for c in viz.coords if str(c).endswith(f"_{axis}") and c != f"var_name_{axis}"]
    labels = []
    for k, name in enumerate(names):
        values = [viz[coord].isel({index: k}).item() for coord in extra]
        # a variable without the dim gets None, or NaN when other variables have it
        parts = [str(v) for v in values if v is not None and not (isinstance(v, float) and v != v)]
        labels.append(f"{name}[{', '.join(parts)}]" if parts else name)
    return labels


def _entry_map(model: pm.Model) -> dict[str, int]:
    """Constrained entry label -> index in θ, for free variables with elementwise transforms."""
    mg = graph_of(model, "unconstrained")
    theta = np.asarray(mg.layout.ravel(model.initial_point()))
    labels, _, _ = delta_jacobian(model, theta)
    mapping: dict[str, int] = {}
    start = 0
    for rv, s in zip(model.free_RVs, mg.layout.slices, strict=True):
        size = sum(1 for label in labels if label == rv.name or label.startswith(rv.name + "["))
        if size == s.stop - s.start:  # elementwise: constrained entry k is θ entry k
            for k in range(size):
                mapping[labels[start + k]] = s.start + k
        start += size
    return mapping


def plot_laplace_pair(
    laplace: xr.DataTree,
    mcmc: xr.DataTree,
    model: pm.Model | None = None,
    *,
    var_names: Sequence[str] | None = None,
    levels: Sequence[float] = (0.5, 0.9),
    points: int = 120,
    color: str = "C3",
    **pair_kwargs: Any,
) -> Any:
    """Draw the Laplace Gaussian over an arviz-plots pair plot of MCMC draws.

    Off the diagonal, the Gaussian's ``levels`` probability ellipses of each pair (the 2-D
    marginal in the unconstrained space, mapped through the model's transforms, other entries
    at the mode); on the diagonal, each entry's marginal density mapped the same way.

    Parameters
    ----------
    laplace
        A :func:`~pymc_fisher.fit_laplace` result.
    mcmc
        MCMC draws of the same model (its ``posterior`` group is plotted).
    model
        The model (default: the one in context).
    var_names
        Free variables to plot (default: all free variables with elementwise transforms).
    levels
        Probability mass inside each ellipse.
    points
        Points per curve.
    color
        Colour of the Gaussian's curves.
    **pair_kwargs
        Passed to :func:`arviz_plots.plot_pair`.

    Returns
    -------
    arviz_plots.PlotMatrix
    """
    import arviz_plots as azp

    model = pm.modelcontext(model)
    mapping = _entry_map(model)
    if var_names is None:
        var_names = [rv.name for rv in model.free_RVs]
    pair_kwargs.setdefault("backend", "matplotlib")
    pc = azp.plot_pair(mcmc, var_names=list(var_names), **pair_kwargs)
    viz = pc.viz.to_dataset() if hasattr(pc.viz, "to_dataset") else pc.viz
    rows, cols = _row_labels(viz, "y"), _row_labels(viz, "x")

    mode = np.asarray(laplace["fit"]["mean_vector"].values, dtype=float)
    cov = np.asarray(laplace["fit"]["covariance_matrix"].values, dtype=float)
    all_labels, _, _ = delta_jacobian(model, mode)
    position = {label: k for k, label in enumerate(all_labels)}

    def constrained(thetas: np.ndarray, labels: list[str]) -> np.ndarray:
        out = np.empty((len(thetas), len(labels)))
        for n, theta in enumerate(thetas):
            _, values, _ = delta_jacobian(model, theta)
            out[n] = [values[position[label]] for label in labels]
        return out

    from arviz_plots.visuals import backend_from_object

    t = np.linspace(0, 2 * np.pi, points)
    circle = np.column_stack([np.cos(t), np.sin(t)])
    for r, row in enumerate(rows):
        for c, col in enumerate(cols):
            ax = viz["plot"].isel(row_index=r, col_index=c).item()
            if ax is None or not getattr(ax, "axison", True):
                continue  # a panel the pair plot removed (matplotlib turns its axis off)
            if row not in mapping or col not in mapping:
                continue  # an entry without an elementwise transform: no curve to map
            draw = backend_from_object(ax).line
            i, j = mapping[col], mapping[row]
            if r == c:
                sd = np.sqrt(cov[i, i])
                u = mode[i] + sd * np.linspace(-4, 4, points)
                thetas = np.repeat(mode[None], points, axis=0)
                thetas[:, i] = u
                x = constrained(thetas, [col])[:, 0]
                dens = stats.norm.pdf(u, mode[i], sd) / np.abs(np.gradient(x, u))
                draw(x, dens, ax, color=color, width=1.5)
                continue
            block = cov[np.ix_([i, j], [i, j])]
            chol = np.linalg.cholesky(block)
            for level in levels:
                radius = np.sqrt(stats.chi2.ppf(level, 2))
                uv = mode[[i, j]] + radius * circle @ chol.T
                thetas = np.repeat(mode[None], points, axis=0)
                thetas[:, i], thetas[:, j] = uv[:, 0], uv[:, 1]
                xy = constrained(thetas, [col, row])
                draw(xy[:, 0], xy[:, 1], ax, color=color, width=1.2)
    return pc


def visual_kwargs(visuals: Mapping[str, Any] | None, name: str) -> dict[str, Any] | None:
    """Keyword arguments of visual ``name`` from arviz-plots' ``visuals``; None if turned off."""
    value = (visuals or {}).get(name, {})
    if value is False:
        return None
    return {} if value is True else dict(value)


def _image(da: xr.DataArray, target: Any, *, cmap: str, **kwargs: Any) -> Any:
    """Visual: ``da`` (dims ``rows``, ``columns``) as an image centred at 0, with a colour bar.

    arviz-plots has no image visual (its backends draw lines, areas, marks and text), so this
    one asks the target's backend for an image and refuses the backends without one.
    """
    from arviz_plots.visuals import backend_from_object

    backend = backend_from_object(target, return_module=False)
    if backend != "matplotlib":
        raise PlotError(f"the heatmap draws with the matplotlib backend only, not {backend!r}")
    values = np.asarray(da.transpose("rows", "columns").values, dtype=float)
    limit = float(np.nanmax(np.abs(values))) or 1.0
    image = target.imshow(values, cmap=cmap, vmin=-limit, vmax=limit, **kwargs)
    target.figure.colorbar(image, ax=target, shrink=0.8)
    return image


def _ticks(da: xr.DataArray, target: Any, **kwargs: Any) -> Any:
    """Visual: tick labels from the ``rows`` / ``columns`` coordinates."""
    from arviz_plots.visuals import backend_from_object

    plot_backend = backend_from_object(target)
    cols = [str(v) for v in da.coords["columns"].values]
    rows = [str(v) for v in da.coords["rows"].values]
    plot_backend.xticks(np.arange(len(cols)), cols, target, rotation=90, **kwargs)
    return plot_backend.yticks(np.arange(len(rows)), rows, target, **kwargs)


def _cell_text(da: xr.DataArray, target: Any, **kwargs: Any) -> list[Any]:
    """Visual: each value written in its cell."""
    from arviz_plots.visuals import backend_from_object

    plot_backend = backend_from_object(target)
    values = np.asarray(da.transpose("rows", "columns").values, dtype=float)
    return [
        plot_backend.text(b, a, f"{values[a, b]:.2g}", target, **kwargs)
        for a in range(values.shape[0])
        for b in range(values.shape[1])
    ]


def plot_matrix_heatmap(
    matrix: xr.DataArray | xr.Dataset,
    *,
    cmap: str = "RdBu_r",
    annotate: bool | None = None,
    title: str | None = None,
    plot_collection: Any = None,
    backend: str | None = None,
    visuals: Mapping[str, Mapping[str, Any] | bool] | None = None,
    **pc_kwargs: Any,
) -> Any:
    """Heatmap of labelled square matrices (information, covariance or correlation).

    A :class:`arviz_plots.PlotCollection` with one panel per matrix, rows and columns labelled
    by the ``rows`` / ``columns`` coordinates, colours centred at 0 (each panel its own range).

    Parameters
    ----------
    matrix : xarray.DataArray or xarray.Dataset
        Dims ``("rows", "columns")`` with label coordinates (as from ``fisher_information`` or a
        Laplace fit's ``covariance_matrix``; see :func:`correlation`). A Dataset draws each
        variable in its own panel, e.g. ``xr.Dataset({"expected": i_exp, "observed": i_obs})``.
    cmap : str
        Colormap; diverging by default.
    annotate : bool, optional
        Write each value in its cell (default: for at most 12 rows).
    title : str, optional
        Title of every panel (default: the variable's name).
    plot_collection : arviz_plots.PlotCollection, optional
        Draw into it instead of a new one.
    backend : str, optional
        Only ``"matplotlib"`` has an image (default: arviz-plots' ``rcParams["plot.backend"]``).
    visuals : mapping, optional
        Keyword arguments (or False to skip) of the visuals ``image``, ``ticks``, ``text``,
        ``title``.
    **pc_kwargs
        Passed to :meth:`arviz_plots.PlotCollection.wrap`.

    Returns
    -------
    arviz_plots.PlotCollection

    Raises
    ------
    PlotError
        When a matrix lacks the ``rows``/``columns`` dims, or the backend draws no images.
    """
    from arviz_base import rcParams
    from arviz_plots import PlotCollection
    from arviz_plots.visuals import labelled_title

    ds = (
        matrix.to_dataset(name=str(matrix.name or "matrix"))
        if isinstance(matrix, xr.DataArray)
        else matrix
    )
    for name, da in ds.data_vars.items():
        if set(da.dims) != {"rows", "columns"}:
            raise PlotError(f"matrix {name!r} has dims {da.dims}, not ('rows', 'columns')")
    if plot_collection is None:
        n = max(ds.sizes["rows"], 4)
        figure_kwargs = dict(pc_kwargs.pop("figure_kwargs", {}))
        figure_kwargs.setdefault("figsize", ((2.5 + 0.45 * n) * len(ds.data_vars), 1.0 + 0.45 * n))
        plot_collection = PlotCollection.wrap(
            ds,
            cols=pc_kwargs.pop("cols", ["__variable__"]),
            backend=backend or rcParams["plot.backend"],
            figure_kwargs=figure_kwargs,
            **pc_kwargs,
        )
    # (name, visual, defaults, whether to store its artist: ticks and texts are many per panel)
    steps: list[tuple[str, Any, dict[str, Any], bool]] = [
        ("image", _image, {"cmap": cmap}, True),
        ("ticks", _ticks, {}, False),
    ]
    if annotate if annotate is not None else ds.sizes["rows"] <= 12:
        steps.append(("text", _cell_text, {"size": 7}, False))
    for name, fn, defaults, store in steps:
        kwargs = visual_kwargs(visuals, name)
        if kwargs is not None:
            plot_collection.map(fn, name, data=ds, store_artist=store, **(defaults | kwargs))
    kwargs = visual_kwargs(visuals, "title")
    if kwargs is not None:
        for var in ds.data_vars:
            text = title if title is not None else str(var)
            plot_collection.map(labelled_title, "title", data=ds[[var]], text=text, **kwargs)
    return plot_collection
