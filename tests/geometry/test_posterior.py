import numpy as np
import pymc as pm
import pytest
import xarray as xr

from pymc_fisher.errors import MissingPointValueError
from pymc_fisher.geometry.posterior import posterior_fisher_information

N = 5


def _model():
    with pm.Model() as model:
        mu = pm.Normal("mu")
        sigma = pm.HalfNormal("sigma")
        pm.Normal("y", mu, sigma, observed=np.zeros(N))
    return model


def _tree(sigma, mu=None):
    sigma = np.asarray(sigma, dtype=float)
    mu = np.zeros_like(sigma) if mu is None else mu
    post = xr.Dataset(
        {"mu": (("chain", "draw"), mu), "sigma": (("chain", "draw"), sigma)},
        coords={"chain": np.arange(sigma.shape[0]), "draw": np.arange(sigma.shape[1])},
    )
    return xr.DataTree.from_dict({"posterior": post})


def test_mean_and_spread_match_closed_form():
    rng = np.random.default_rng(0)
    sigma = rng.gamma(5.0, 0.2, size=(2, 15))
    info = posterior_fisher_information(_model(), _tree(sigma), space="constrained")
    assert info.dims == ("stat", "rows", "columns")
    assert list(info["stat"].values) == ["mean", "sd", "q05", "median", "q95"]
    assert info.attrs["posterior_draws"] == 30
    assert info.attrs["kind"] == "expected"
    i_mu, i_sigma = N / sigma**2, 2 * N / sigma**2  # Normal: n/σ², 2n/σ²
    np.testing.assert_allclose(info.sel(stat="mean", rows="mu", columns="mu"), i_mu.mean())
    np.testing.assert_allclose(
        info.sel(stat="sd", rows="sigma", columns="sigma"), i_sigma.std(ddof=1)
    )
    np.testing.assert_allclose(info.sel(stat="median", rows="mu", columns="mu"), np.median(i_mu))
    np.testing.assert_allclose(info.sel(stat="mean", rows="mu", columns="sigma"), 0.0, atol=1e-12)


def test_unconstrained_space_and_subsampling():
    sigma = np.linspace(0.5, 2.0, 20).reshape(1, 20)
    info = posterior_fisher_information(_model(), _tree(sigma), max_draws=7, random_seed=2)
    assert info.attrs["posterior_draws"] == 7
    assert list(info["rows"].values) == ["mu", "sigma_log__"]
    # log σ coordinate: I = 2n whatever σ, so no spread
    np.testing.assert_allclose(
        info.sel(stat="mean", rows="sigma_log__", columns="sigma_log__"), 2 * N
    )
    np.testing.assert_allclose(
        info.sel(stat="sd", rows="sigma_log__", columns="sigma_log__"), 0, atol=1e-12
    )


def test_missing_variable():
    post = xr.Dataset({"mu": (("chain", "draw"), np.zeros((1, 3)))})
    with pytest.raises(MissingPointValueError, match="sigma"):
        posterior_fisher_information(_model(), xr.DataTree.from_dict({"posterior": post}))
