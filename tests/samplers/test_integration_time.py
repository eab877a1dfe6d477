"""Automatic integration time: windows, the slowness ratio, and what a chain learns."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import pytest

from pymc_fisher.samplers.adaptation.integration_time import (
    INTEGRATION_TIME_FACTOR,
    integration_time,
    integration_time_init,
    integration_time_update,
    slowness_ratio,
    warmup_schedule,
)
from pymc_fisher.samplers.drivers.step import RMHMC
from tests.samplers import models


@pytest.mark.parametrize("tune", [20, 100, 149, 150, 500, 1000, 2000, 5000])
def test_windows_tile_the_slow_phase(tune):
    s = warmup_schedule(tune)
    assert len(s.window_starts) == len(s.window_ends) >= 1
    assert all(a < b for a, b in zip(s.window_starts, s.window_ends, strict=True))
    # contiguous windows, doubling, ending before the terminal buffer
    assert all(b == a for a, b in zip(s.window_ends[:-1], s.window_starts[1:], strict=True))
    assert s.window_ends[-1] <= tune
    sizes = np.diff((s.window_starts[0], *s.window_ends))
    assert all(sizes[1:-1] == 2 * sizes[:-2]) if len(sizes) > 2 else True


def test_slowness_ratio_is_variance_over_mean_inverse_metric():
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(400, 3)) * [1.0, 3.0, 0.5]
    inv = np.abs(rng.normal(size=(400, 3))) + 0.5
    state = integration_time_init(3)
    for t, g in zip(theta, inv, strict=True):
        state = integration_time_update(state, t, g)
    n = len(theta)
    raw = theta.var(axis=0, ddof=1) / inv.mean(axis=0)
    w = n / (n + 5.0)
    np.testing.assert_allclose(slowness_ratio(state), w * raw + (1 - w), rtol=1e-12)
    closed = integration_time(state)
    r_max = max(1.0, float((w * raw + (1 - w)).max()))
    assert closed.path_length == pytest.approx(INTEGRATION_TIME_FACTOR * math.sqrt(r_max))
    assert closed.n == 0  # a fresh window


def test_ratios_below_one_never_shorten_the_path():
    state = integration_time_init(2)
    for t in ([0.0, 0.0], [0.01, 0.0], [0.0, 0.01]):
        state = integration_time_update(state, np.array(t), np.ones(2))
    assert integration_time(state).path_length == pytest.approx(INTEGRATION_TIME_FACTOR)


def _learned_path_length(model, seed, metric="fisher", tune=600):
    with model, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata = pm.sample(
            draws=50, tune=tune, chains=1, cores=1, random_seed=seed, progressbar=False,
            step=RMHMC(metric=metric), compute_convergence_checks=False,
        )  # fmt: skip
    return float(idata.sample_stats["path_length"].values[0, -1])


@pytest.mark.slow
@pytest.mark.parametrize("scale", [1.0, 4.0])
def test_gaussian_with_misscaled_metric_learns_the_scale(scale):
    """G = s² Σ⁻¹ makes every r_k = s², so T must come out as c·s.

    The last window holds 500 draws; with an effective sample size above 100 the variance
    estimate's relative standard deviation is below √(2/100) = 0.14, so T = c√r̂ is within
    7% of c·s at one sd; 30% is 4 sd (false alarm < 1e-4 per test), and a learned T that
    ignored the mis-scaling (c for s = 4) lies far outside.
    """
    d = 3
    with pm.Model() as model:
        pm.Normal("x", 0.0, 1.0, shape=d)

    def metric(theta):
        return pt.eye(d) * scale**2

    t = _learned_path_length(model, seed=3, metric=metric)
    assert t == pytest.approx(INTEGRATION_TIME_FACTOR * scale, rel=0.3)


@pytest.mark.slow
def test_funnel_learns_a_long_integration_time():
    """r_v = Var(v) / (1/G_vv) = 9 (1/9 + 9/2) = 41.5 for d = 10: T ≈ c √41.5 for v.

    Same tolerance argument as the Gaussian test (4 sd of the variance estimate).
    """
    t = _learned_path_length(models.funnel(10), seed=5)
    assert t == pytest.approx(INTEGRATION_TIME_FACTOR * math.sqrt(41.5), rel=0.3)
