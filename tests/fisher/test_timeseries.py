"""Random walks and autoregressions as sums of univariate factors (``fisher/timeseries.py``)."""

from __future__ import annotations

import numpy as np
import pymc as pm

import pymc_fisher as pmf


def test_gaussian_random_walk_prior_is_exact() -> None:
    """Innovations ``Dx`` ~ Normal(0, σ): ``Dᵀ D/σ² + e₀e₀ᵀ`` for x, ``2·steps`` for log σ."""
    steps = 4
    with pm.Model() as model:
        sigma = pm.HalfNormal("sigma", 1.0)
        pm.GaussianRandomWalk("x", sigma=sigma, init_dist=pm.Normal.dist(0, 2), steps=steps)
    s = 0.7
    x = np.array([0.1, -0.3, 0.2, 0.5, 0.4])
    info = pmf.fisher_information(model, {"sigma_log__": np.log(s), "x": x}, include_prior=True)
    assert info.attrs["local_factors"] == []
    assert info.attrs["quadrature_factors"] == []
    d = np.diff(np.eye(steps + 1), axis=0)  # (steps, steps + 1): the innovations' map
    expect = np.zeros((steps + 2, steps + 2))
    expect[0, 0] = 2.0 + 2.0 * steps  # HalfNormal in log σ, and each innovation's scale
    expect[1:, 1:] = d.T @ d / s**2
    expect[1, 1] += 1 / 4  # the initial value ~ Normal(0, 2)
    np.testing.assert_allclose(info.values, expect, rtol=1e-12, atol=1e-14)


def test_ar1_with_a_free_coefficient_is_exact() -> None:
    """``e_t = x_t − ρ x_{t−1}`` ~ Normal(0, σ): ``Σ_t g_t g_tᵀ/σ²`` with ``g_t = ∂e_t``."""
    with pm.Model() as model:
        rho = pm.Normal("rho", 0, 0.5, shape=1)
        pm.AR("x", rho=rho, sigma=0.8, init_dist=pm.Normal.dist(0, 1), steps=3)
    r, x = 0.3, np.array([0.2, -0.4, 0.6, 0.1])
    info = pmf.fisher_information(model, {"rho": np.array([r]), "x": x}, include_prior=True)
    jac = np.zeros((3, 5))  # rows: innovations; columns: rho, x₀ … x₃
    for t in range(1, 4):
        jac[t - 1, 0] = -x[t - 1]
        jac[t - 1, 1 + t] = 1.0
        jac[t - 1, t] = -r
    expect = jac.T @ jac / 0.8**2
    expect[0, 0] += 4.0  # rho ~ Normal(0, 0.5)
    expect[1, 1] += 1.0  # x₀ ~ Normal(0, 1)
    np.testing.assert_allclose(info.values, expect, rtol=1e-12, atol=1e-14)
