"""``pmf.stein_thin``: the draws stein-thinning selects, laid out as the input's posterior."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest
import xarray as xr
from stein_thinning.kernel import vfk0_imq
from stein_thinning.stein import ksd as st_ksd
from stein_thinning.thinning import thin as st_thin

import pymc_fisher as pmf
from pymc_fisher.stein.whitening import whiten
from tests.models import gaussian


@pytest.fixture(scope="module")
def model() -> pm.Model:
    with pm.Model(coords={"k": ["a", "b"]}) as model:
        x = pm.Normal("x", 0.0, 1.0, dims="k")
        pm.Deterministic("total", x.sum())
    return model


def idata_of(x: np.ndarray) -> xr.DataTree:
    chains, draws = x.shape[:2]
    ds = xr.Dataset(
        {"x": (("chain", "draw", "k"), x), "total": (("chain", "draw"), x.sum(-1))},
        coords={"chain": [0, 1][:chains], "draw": np.arange(draws) + 500, "k": ["a", "b"]},
        attrs={"sampler": "test"},
    )
    return xr.DataTree.from_dict({"posterior": ds})


def test_selects_stein_thinnings_indices_and_lays_them_out_as_the_input(model):
    x = np.random.default_rng(0).normal(0.3, 1.2, size=(2, 150, 2))  # biased draws
    out = pmf.stein_thin(model, idata_of(x), 25, preconditioner="identity")
    flat = x.reshape(-1, 2)
    expected = st_thin(flat, -flat, 25, standardize=False)
    post = out["posterior"].to_dataset()
    assert post["x"].dims == ("chain", "draw", "k")
    assert post["x"].shape == (1, 25, 2)
    np.testing.assert_array_equal(post["x"].values[0], flat[expected])
    np.testing.assert_array_equal(post["total"].values[0], flat[expected].sum(-1))
    np.testing.assert_array_equal(post["source_chain"].values, expected // 150)
    np.testing.assert_array_equal(post["source_draw"].values, expected % 150 + 500)
    assert list(post["k"].values) == ["a", "b"]
    assert post.attrs["sampler"] == "test"
    sel = flat[expected]
    path = st_ksd(lambda a, b: vfk0_imq(sel[a], sel[b], -sel[a], -sel[b], np.eye(2)), 25)
    np.testing.assert_allclose(out["stein_thinning"]["ksd"].values, path, rtol=1e-12)


def test_information_preconditioner_selects_as_stein_thinning_on_whitened_draws():
    cov = np.array([[4.0, 1.9], [1.9, 1.0]])
    x = np.random.default_rng(1).multivariate_normal([0.5, 0.0], cov, size=(1, 300))
    out = pmf.stein_thin(gaussian(np.zeros(2), cov), idata_of(x), 20)
    flat = x.reshape(-1, 2)
    white = whiten(flat, -flat @ np.linalg.inv(cov), np.linalg.inv(cov))
    expected = st_thin(white.points, white.scores, 20, standardize=False)
    np.testing.assert_array_equal(out["posterior"]["x"].values[0], flat[expected])
    assert "at its mode" in out["stein_thinning"].attrs["preconditioner_source"]


def test_n_must_be_positive(model):
    with pytest.raises(ValueError, match="n=0 must be a positive"):
        pmf.stein_thin(model, idata_of(np.zeros((1, 3, 2))), 0)
