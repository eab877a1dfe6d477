"""Tables and figures of a study: ESS per second by sampler and target, rank plots."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from pymc_fisher.bench.errors import StudyError
from pymc_fisher.bench.store import load_run, run_key

__all__ = ["format_table", "plot_ess_per_second", "plot_ranks", "write_report"]

_FORMATS = {
    "wall_seconds": "{:.2f}",
    "compile_seconds": "{:.2f}",
    "ess_bulk_min": "{:.0f}",
    "ess_tail_min": "{:.0f}",
    "ess_min": "{:.0f}",
    "ess_per_second": "{:.3g}",
    "ess_per_gradient": "{:.3g}",
    "rhat_max": "{:.3f}",
    "max_bias_z": "{:.2f}",
    "ksd": "{:.3g}",
}


def format_table(table: pd.DataFrame) -> str:
    """Render a study table as aligned text with sensible precision (NaN shown as ``-``).

    Examples
    --------
    >>> t = pd.DataFrame({"target": ["a"], "sampler": ["nuts"], "rhat_max": [1.00412]})
    >>> print(format_table(t))
    target sampler rhat_max
         a    nuts    1.004
    """
    shown = table.copy()
    for name, fmt in _FORMATS.items():
        if name in shown:
            shown[name] = [("-" if pd.isna(v) else fmt.format(v)) for v in shown[name]]
    for name in ("grad_evals", "divergences"):
        if name in shown:
            shown[name] = [("-" if pd.isna(v) else str(int(v))) for v in shown[name]]
    return shown.to_string(index=False)


def plot_ess_per_second(table: pd.DataFrame, *, log: bool = True) -> Any:
    """Bar chart of ESS per second: one panel per target, one bar per sampler.

    The ESS is the smaller of the bulk and tail ESS (``ess_min``).

    Bars are the mean over seeds, dots the individual seeds.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    targets = list(dict.fromkeys(table["target"]))
    samplers = list(dict.fromkeys(table["sampler"]))
    fig, axes = plt.subplots(
        1, len(targets), figsize=(1.2 + 2.2 * len(targets), 3.2), squeeze=False, sharey=log
    )
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, target in zip(axes[0], targets, strict=True):
        sub = table[table["target"] == target]
        for i, sampler in enumerate(samplers):
            values = sub.loc[sub["sampler"] == sampler, "ess_per_second"].to_numpy(float)
            values = values[np.isfinite(values) & (values > 0)]
            if values.size == 0:
                continue
            color = colors[i % len(colors)]
            ax.bar(i, values.mean(), color=color, alpha=0.6)
            ax.plot(np.full(values.size, i), values, "o", color=color, markersize=4)
        ax.set_xticks(range(len(samplers)), samplers, rotation=45, ha="right")
        ax.set_title(target)
        if log:
            ax.set_yscale("log")
    axes[0][0].set_ylabel("min(bulk, tail) ESS per second")
    fig.tight_layout()
    return fig


def plot_ranks(tree: xr.DataTree, var_names: list[str] | None = None, *, max_elements: int = 4):
    """Rank plots (arviz-plots ``plot_rank``) of a run, at most ``max_elements`` per variable.

    Large vector variables (a latent series) are cut to their first elements so that the
    figure stays readable.

    Returns
    -------
    arviz_plots.PlotCollection
    """
    import arviz_plots as azp

    posterior = tree["posterior"].to_dataset()
    names = var_names or [str(name) for name in posterior.data_vars]
    subset = posterior[names]
    dims = {d: slice(0, max_elements) for d in subset.dims if d not in ("chain", "draw")}
    subset = subset.isel(dims)
    return azp.plot_rank(xr.DataTree.from_dict({"posterior": subset}), backend="matplotlib")


def write_report(
    table: pd.DataFrame,
    out: str | os.PathLike[str],
    *,
    rank_plots: bool = True,
    var_names: dict[str, list[str]] | None = None,
) -> list[Path]:
    """Write ``study.csv`` and figures into ``out``; return the paths written.

    Parameters
    ----------
    table : pandas.DataFrame
        A study table (from :func:`run_study` or :func:`load_study`).
    out : path
        The study folder; rank plots need its saved runs (first seed of each target and
        sampler).
    rank_plots : bool
        Also write ``figures/rank_<target>__<sampler>__seed<seed>.png``.
    var_names : dict, optional
        Variables to rank-plot, by target name (default: every posterior variable).
    """
    import matplotlib.pyplot as plt

    out = Path(out)
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    written = [out / "study.csv"]
    table.to_csv(written[0], index=False)
    fig = plot_ess_per_second(table)
    fig.savefig(figures / "ess_per_second.png", dpi=110)
    plt.close(fig)
    written.append(figures / "ess_per_second.png")
    if rank_plots:
        firsts = table.drop_duplicates(["target", "sampler"])
        for target, sampler, seed in firsts[["target", "sampler", "seed"]].itertuples(index=False):
            try:
                tree = load_run(out, target, sampler, int(seed))
            except StudyError:
                continue  # run not saved (a study without out): nothing to plot
            names = (var_names or {}).get(target)
            pc = plot_ranks(tree, names)
            path = figures / f"rank_{run_key(target, sampler, int(seed))}.png"
            pc.savefig(path, dpi=80)
            plt.close("all")
            written.append(path)
    return written
