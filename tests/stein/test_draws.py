"""Posterior draws to unconstrained draws and their scores; bad input gets typed errors."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest
import xarray as xr

import pymc_fisher as pmf
from pymc_fisher.stein.draws import even_thinning, unconstrained_draws
from tests.models import normal_model

Y = np.array([0.3, -0.2, 1.1, 0.4])


def tree(**variables: np.ndarray) -> xr.DataTree:
    """A DataTree whose posterior holds (chain, draw, ...) arrays."""
    ds = xr.Dataset(
        {
            k: (("chain", "draw", *[f"{k}_dim_{i}" for i in range(v.ndim - 2)]), v)
            for k, v in variables.items()
        }
    )
    return xr.DataTree.from_dict({"posterior": ds})


@pytest.fixture(scope="module")
def model() -> pm.Model:
    return normal_model(Y)


def test_scores_are_of_the_jacobian_adjusted_unconstrained_density(model):
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(2, 6))
    sigma = np.exp(rng.normal(size=(2, 6)) * 0.3)
    draws = unconstrained_draws(model, tree(mu=mu, sigma=sigma), max_draws=None, who="test")
    assert draws.labels == ("mu", "sigma_log__")
    m, s = mu.ravel(), sigma.ravel()
    np.testing.assert_allclose(draws.theta, np.column_stack([m, np.log(s)]), rtol=1e-14)
    # log p(μ, u = log σ) = log N(μ; 0, 10) + log HalfNormal(e^u; 2) + u + Σ log N(yᵢ; μ, e^u)
    r2 = np.sum((Y[None, :] - m[:, None]) ** 2, axis=1)
    d_mu = -m / 100 + np.sum(Y[None, :] - m[:, None], axis=1) / s**2
    d_u = -(s**2) / 4 + 1 - Y.size + r2 / s**2
    np.testing.assert_allclose(draws.scores, np.column_stack([d_mu, d_u]), rtol=1e-12)


def test_even_thinning_keeps_chains_balanced():
    layout = even_thinning(4, 1000, 4000)
    assert layout.stride == 1
    assert layout.draw.size == 4000
    layout = even_thinning(4, 1000, 1500)
    assert layout.stride == 3
    assert np.bincount(layout.chain).tolist() == [334] * 4
    with pytest.raises(ValueError, match="at least one draw per chain"):
        even_thinning(4, 10, 3)


def test_a_datatree_without_a_posterior_group(model):
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((1, 3), bool))})
    with pytest.raises(pmf.MissingGroupError, match=r"no 'posterior' group.*\['sample_stats'\]"):
        pmf.stein_discrepancy(model, xr.DataTree.from_dict({"sample_stats": stats}))


def test_draws_missing_a_variable(model):
    with pytest.raises(pmf.DrawsMismatchError, match=r"free variable\(s\) \['sigma'\]"):
        pmf.stein_discrepancy(model, tree(mu=np.zeros((1, 3))))


def test_draws_of_another_shape():
    with pm.Model() as model:
        pm.Normal("x", shape=3)
    with pytest.raises(pmf.DrawsMismatchError, match=r"'x' have shape \(2,\).*shape \(3,\)"):
        pmf.stein_thin(model, tree(x=np.zeros((1, 4, 2))), 2)


def test_a_discrete_variable():
    with pm.Model() as model:
        pm.Poisson("k", 3.0)
    with pytest.raises(pmf.DiscreteVariableError, match="'k' is discrete"):
        pmf.stein_discrepancy(model, tree(k=np.ones((1, 3), int)))


def test_a_draw_outside_the_support(model):
    sigma = np.array([[1.0, -1.0, 2.0]])
    with pytest.raises(pmf.NonFiniteLogDensityError, match="chain 0, draw 1"):
        pmf.stein_discrepancy(model, tree(mu=np.zeros((1, 3)), sigma=sigma))


def test_not_a_datatree(model):
    with pytest.raises(TypeError, match="needs idata, a DataTree"):
        pmf.stein_discrepancy(model, {"posterior": None})  # type: ignore[arg-type]
