"""Plots: the Laplace Gaussian over an MCMC pair plot, and labelled matrix heatmaps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pymc as pm
import xarray as xr
from scipy import stats

from pymc_fisher.information import graph_of
from pymc_fisher.summary import delta_jacobian

__all__ = ["correlation", "plot_laplace_pair", "plot_matrix_heatmap"]


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

    t = np.linspace(0, 2 * np.pi, points)
    circle = np.column_stack([np.cos(t), np.sin(t)])
    for r, row in enumerate(rows):
        for c, col in enumerate(cols):
            ax = viz["plot"].isel(row_index=r, col_index=c).item()
            if ax is None or not ax.axison or row not in mapping or col not in mapping:
                continue  # a panel the pair plot removed, or an entry without a mapping
            i, j = mapping[col], mapping[row]
            if r == c:
                sd = np.sqrt(cov[i, i])
                u = mode[i] + sd * np.linspace(-4, 4, points)
                thetas = np.repeat(mode[None], points, axis=0)
                thetas[:, i] = u
                x = constrained(thetas, [col])[:, 0]
                dens = stats.norm.pdf(u, mode[i], sd) / np.abs(np.gradient(x, u))
                ax.plot(x, dens, color=color, lw=1.5)
                continue
            block = cov[np.ix_([i, j], [i, j])]
            chol = np.linalg.cholesky(block)
            for level in levels:
                radius = np.sqrt(stats.chi2.ppf(level, 2))
                uv = mode[[i, j]] + radius * circle @ chol.T
                thetas = np.repeat(mode[None], points, axis=0)
                thetas[:, i], thetas[:, j] = uv[:, 0], uv[:, 1]
                xy = constrained(thetas, [col, row])
                ax.plot(xy[:, 0], xy[:, 1], color=color, lw=1.2)
    return pc


def plot_matrix_heatmap(
    matrix: xr.DataArray,
    *,
    ax: Any = None,
    cmap: str | None = None,
    annotate: bool | None = None,
    title: str | None = None,
) -> Any:
    """Heatmap of a labelled square matrix (information, covariance or correlation).

    arviz-plots has no image visual, so this draws with matplotlib directly; rows and columns
    are labelled by the ``DataArray``'s ``rows`` / ``columns`` coordinates.

    Parameters
    ----------
    matrix
        Dims ``("rows", "columns")`` with label coordinates (as from ``fisher_information`` or
        a Laplace fit's ``covariance_matrix``; see :func:`correlation`).
    ax
        Matplotlib axes (default: a new figure).
    cmap
        Colormap; default diverging ``"RdBu_r"`` centred at 0.
    annotate
        Write each value in its cell (default: for at most 12 rows).
    title
        Axes title (default: the ``DataArray``'s name).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    values = np.asarray(matrix.values, dtype=float)
    rows = [str(v) for v in matrix.coords["rows"].values]
    cols = [str(v) for v in matrix.coords["columns"].values]
    if ax is None:
        size = 1.0 + 0.45 * max(len(rows), 4)
        _, ax = plt.subplots(figsize=(size + 1.5, size))
    limit = float(np.nanmax(np.abs(values))) or 1.0
    image = ax.imshow(values, cmap=cmap or "RdBu_r", vmin=-limit, vmax=limit)
    ax.figure.colorbar(image, ax=ax, shrink=0.8)
    ax.set_xticks(range(len(cols)), cols, rotation=90)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("columns")
    ax.set_ylabel("rows")
    if annotate if annotate is not None else len(rows) <= 12:
        for a in range(len(rows)):
            for b in range(len(cols)):
                ax.text(b, a, f"{values[a, b]:.2g}", ha="center", va="center", fontsize=7)
    ax.set_title(title if title is not None else str(matrix.name or ""))
    return ax
