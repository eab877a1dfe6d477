"""Plots produce figures with labelled axes (matplotlib Agg backend)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pymc as pm
import pytest

matplotlib.use("Agg")

from arviz_base import from_dict

from pymc_fisher.laplace import fit_laplace
from pymc_fisher.plots import correlation, plot_laplace_pair, plot_matrix_heatmap


@pytest.fixture(scope="module")
def fitted():
    # ten observations and an unknown scale: k̂ may exceed 0.7; the plots are under test here
    import warnings

    y = np.array([0.3, -0.2, 1.1, 0.7, 0.1, 0.9, 1.4, -0.5, 0.2, 0.6])
    with pm.Model(coords={"k": ["a", "b"]}) as model:
        mu = pm.Normal("mu", 0.0, 2.0, dims="k")
        sigma = pm.HalfNormal("sigma", 2.0)
        pm.Normal("y", mu.sum(), sigma, observed=y)
        pm.Potential("pin", -0.5 * (mu[0] - mu[1]) ** 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        dt = fit_laplace(model, random_seed=0)
    return model, dt


def test_laplace_over_mcmc_pair_plot(fitted):
    import matplotlib.pyplot as plt

    model, dt = fitted
    # stand-in "MCMC" draws: the Laplace draws themselves (the plot, not the sampler, is tested)
    mcmc = from_dict(
        {"posterior": {k: dt.posterior[k].values for k in ("mu", "sigma")}},
        dims={"mu": ["k"]},
        coords={"k": ["a", "b"]},
    )
    pc = plot_laplace_pair(dt, mcmc, model)
    fig = pc.viz["figure"].item()
    labels = {ax.get_xlabel() for ax in fig.axes} | {ax.get_ylabel() for ax in fig.axes}
    assert any("sigma" in label for label in labels)
    assert any("mu" in label for label in labels)
    # the Gaussian's curves were added to the visible panels (plot_pair's default lower
    # triangle): 2 levels per off-diagonal panel, 1 density per diagonal panel
    red = sum(1 for ax in fig.axes for line in ax.get_lines() if line.get_color() == "C3")
    assert red == 3 * 2 + 3
    plt.close("all")


def test_heatmap_has_labelled_axes(fitted):
    import matplotlib.pyplot as plt

    _, dt = fitted
    ax = plot_matrix_heatmap(correlation(dt.fit.covariance_matrix))
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["mu[a]", "mu[b]", "sigma_log__"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ticks
    assert ax.get_title() == "correlation"
    np.testing.assert_allclose(np.diag(correlation(dt.fit.covariance_matrix)), 1.0)
    plt.close("all")
