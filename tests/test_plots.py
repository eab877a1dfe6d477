"""Plots are arviz-plots collections: drawn with the matplotlib backend (Agg), read back exactly."""

from __future__ import annotations

import warnings

import arviz_plots as azp
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pymc as pm
import pytest
import xarray as xr

matplotlib.use("Agg")

from arviz_base import from_dict

from pymc_fisher.laplace import fit_laplace
from pymc_fisher.plots import PlotError, correlation, plot_laplace_pair, plot_matrix_heatmap
from pymc_fisher.sampler_plots import (
    DIVERGENCE_KINDS,
    plot_condition_number,
    plot_divergences,
    plot_integration_time,
)
from pymc_fisher.samplers.drivers.step import RMHMC


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def fitted():
    y = np.array([0.3, -0.2, 1.1, 0.7, 0.1, 0.9, 1.4, -0.5, 0.2, 0.6])
    with pm.Model(coords={"k": ["a", "b"]}) as model:
        mu = pm.Normal("mu", 0.0, 2.0, dims="k")
        sigma = pm.HalfNormal("sigma", 2.0)
        pm.Normal("y", mu.sum(), sigma, observed=y)
        pm.Potential("pin", -0.5 * (mu[0] - mu[1]) ** 2)
    # ten observations and an unknown scale: k̂ may exceed 0.7; the plots are under test here
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        dt = fit_laplace(model, random_seed=0)
    return model, dt


@pytest.fixture(scope="module")
def stats():
    """RMHMC-like sample statistics with known values: 2 chains x 40 draws."""
    rng = np.random.default_rng(0)
    kind = np.full((2, 40), "none", dtype="<U6")
    kind[0, [3, 17]] = "energy"
    kind[1, 5] = "solver"
    sample_stats = xr.Dataset(
        {
            "metric_condition_number": (("chain", "draw"), np.exp(rng.normal(3, 1, (2, 40)))),
            "step_size": (("chain", "draw"), rng.uniform(0.1, 0.5, (2, 40))),
            "n_steps": (("chain", "draw"), rng.integers(1, 20, (2, 40))),
            "divergence_kind": (("chain", "draw"), kind),
        },
        coords={"chain": [0, 1], "draw": np.arange(40)},
    )
    posterior = xr.Dataset({"a": (("chain", "draw"), rng.normal(size=(2, 40)))})
    return xr.DataTree.from_dict({"posterior": posterior, "sample_stats": sample_stats})


def test_laplace_over_mcmc_pair_plot(fitted):
    model, dt = fitted
    # stand-in "MCMC" draws: the Laplace draws themselves (the plot, not the sampler, is tested)
    mcmc = from_dict(
        {"posterior": {k: dt.posterior[k].values for k in ("mu", "sigma")}},
        dims={"mu": ["k"]},
        coords={"k": ["a", "b"]},
    )
    pc = plot_laplace_pair(dt, mcmc, model)
    assert isinstance(pc, azp.PlotMatrix)
    fig = pc.viz["figure"].item()
    labels = {ax.get_xlabel() for ax in fig.axes} | {ax.get_ylabel() for ax in fig.axes}
    assert any("sigma" in label for label in labels)
    assert any("mu" in label for label in labels)
    # the Gaussian's curves were added to the visible panels (plot_pair's default lower
    # triangle): 2 levels per off-diagonal panel, 1 density per diagonal panel
    red = matplotlib.colors.to_rgba("C3")
    ours = [
        ln
        for ax in fig.axes
        for ln in ax.get_lines()
        if matplotlib.colors.to_rgba(ln.get_color()) == red
    ]
    assert len(ours) == 3 * 2 + 3


def test_heatmap_is_a_plot_collection_with_labelled_axes(fitted):
    _, dt = fitted
    corr = correlation(dt.fit.covariance_matrix)
    np.testing.assert_allclose(np.diag(corr), 1.0)
    pc = plot_matrix_heatmap(corr)
    assert isinstance(pc, azp.PlotCollection)
    image = pc.viz["image"]["correlation"].item()
    np.testing.assert_array_equal(image.get_array(), corr.values)
    limit = float(np.abs(corr.values).max())  # the diagonal, 1 up to rounding
    assert image.get_clim() == (-limit, limit)  # centred at 0
    ax = pc.viz["plot"]["correlation"].item()
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["mu[a]", "mu[b]", "sigma_log__"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ticks
    assert ax.get_title() == "correlation"
    assert len(ax.texts) == 9  # a value per cell


def test_heatmap_of_two_matrices_side_by_side(fitted):
    _, dt = fitted
    cov = dt.fit.covariance_matrix
    pc = plot_matrix_heatmap(xr.Dataset({"covariance": cov, "correlation": correlation(cov)}),
                             annotate=False)  # fmt: skip
    axes = {name: pc.viz["plot"][name].item() for name in ("covariance", "correlation")}
    assert axes["covariance"] is not axes["correlation"]
    assert axes["covariance"].figure is axes["correlation"].figure
    assert not axes["covariance"].texts
    limit = float(np.abs(cov.values).max())
    assert pc.viz["image"]["covariance"].item().get_clim() == (-limit, limit)


def test_heatmap_refuses_what_it_cannot_draw(fitted):
    _, dt = fitted
    with pytest.raises(PlotError, match=r"'bad'.*rows"):
        plot_matrix_heatmap(xr.DataArray(np.eye(2), dims=("a", "b"), name="bad"))
    with pytest.raises(PlotError, match="matplotlib backend only"):
        plot_matrix_heatmap(dt.fit.covariance_matrix, backend="none")


def test_plots_read_statistics_the_step_records():
    recorded = set(RMHMC.stats_dtypes_shapes)
    assert {"metric_condition_number", "step_size", "n_steps", "divergence_kind"} <= recorded


def test_condition_number_along_the_chain(stats):
    pc = plot_condition_number(stats)
    cond = stats["sample_stats"]["metric_condition_number"]
    for chain in (0, 1):
        line = pc.viz["lines"]["metric_condition_number"].sel(chain=chain).item()
        np.testing.assert_array_equal(line.get_ydata(), cond.sel(chain=chain).values)
        np.testing.assert_array_equal(line.get_xdata(), np.arange(40))
    ax = pc.viz["plot"]["metric_condition_number"].item()
    assert ax.get_yscale() == "log"
    assert ax.get_title() == "metric condition number"
    colors = {pc.viz["lines"]["metric_condition_number"].sel(chain=c).item().get_color()
              for c in (0, 1)}  # fmt: skip
    assert len(colors) == 2  # one colour per chain


def test_integration_time_along_the_chain(stats):
    pc = plot_integration_time(stats)
    ss = stats["sample_stats"]
    expected = {
        "step_size": ss["step_size"],
        "n_steps": ss["n_steps"],
        "integration_time": ss["step_size"] * ss["n_steps"],
    }
    for name, values in expected.items():
        line = pc.viz["lines"][name].sel(chain=1).item()
        np.testing.assert_allclose(line.get_ydata(), values.sel(chain=1).values)
    titles = [pc.viz["plot"][n].item().get_title() for n in expected]
    assert titles == ["step size", "number of steps", "integration time"]
    only = plot_integration_time(stats, var_names="integration_time")
    assert list(only.viz["lines"].data_vars) == ["integration_time"]


def test_divergences_by_kind(stats):
    pc = plot_divergences(stats)
    kind = stats["sample_stats"]["divergence_kind"]
    for k in DIVERGENCE_KINDS:
        title = pc.viz["plot"][k].item().get_title()
        assert title == f"{k} divergences: {int((kind == k).sum())}"
        for chain in (0, 1):
            marks = pc.viz["marks"][k].sel(chain=chain).item().get_offsets()
            where = np.flatnonzero(kind.sel(chain=chain).values == k)
            np.testing.assert_array_equal(np.asarray(marks)[:, 0], where)
            np.testing.assert_array_equal(np.asarray(marks)[:, 1], chain)


def test_missing_statistics_are_named(stats):
    nuts_like = xr.DataTree.from_dict(
        {"sample_stats": stats["sample_stats"].to_dataset()[["step_size", "n_steps"]]}
    )
    plot_integration_time(nuts_like)  # NUTS records these two as well
    with pytest.raises(PlotError, match="metric_condition_number"):
        plot_condition_number(nuts_like)
    with pytest.raises(PlotError, match="divergence_kind"):
        plot_divergences(nuts_like)
    with pytest.raises(PlotError, match="warmup_sample_stats"):
        plot_divergences(nuts_like, group="warmup_sample_stats")
    with pytest.raises(PlotError, match="not among"):
        plot_divergences(stats, var_names=["typo"])


def test_composes_with_arviz_plots_on_one_figure(stats):
    # ArviZ's own distribution plot beside ours, one figure, one collection
    pc = azp.combine_plots(
        stats,
        [(plot_condition_number, {}), (azp.plot_dist, {})],
        group="sample_stats",
        var_names=["metric_condition_number"],
        backend="matplotlib",
    )
    axes = pc.viz["plot"]["metric_condition_number"].values
    assert len(axes) == 2
    assert axes[0].figure is axes[1].figure
    assert axes[0].get_yscale() == "log"
    assert axes[0].get_title() == "metric condition number"
    assert len(axes[0].get_lines()) == 2  # our line per chain
    assert len(axes[1].get_lines()) >= 1  # ArviZ's density


def test_follows_the_arviz_style(stats):
    # under an arviz-plots style, chains get that style's first colours, as in ArviZ's plots
    with plt.style.context("arviz-variat"):
        cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        pc = plot_condition_number(stats)
        colors = [pc.viz["lines"]["metric_condition_number"].sel(chain=c).item().get_color()
                  for c in (0, 1)]  # fmt: skip
    assert [matplotlib.colors.to_hex(c) for c in colors] == [
        matplotlib.colors.to_hex(c) for c in cycle[:2]
    ]
