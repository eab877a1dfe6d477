"""summary: standard errors against statsmodels and closed forms; the MCMC comparison."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest
import statsmodels.api as sm  # a test dependency: a missing one is a failure, not a skip
from arviz_base import from_dict

from pymc_fisher.laplace import fit_laplace
from pymc_fisher.summary import summary


def glm_data(family: str, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.column_stack([np.ones(300), rng.normal(size=(300, 2))])
    eta = x @ np.array([0.2, -0.6, 0.9])
    if family == "poisson":
        return x, rng.poisson(np.exp(eta)).astype(float)
    return x, rng.binomial(1, 1 / (1 + np.exp(-eta))).astype(float)


@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_flat_prior_glm_matches_statsmodels_including_sandwich(family):
    x, y = glm_data(family)
    with pm.Model(coords={"coef": ["Intercept", "x1", "x2"]}) as model:
        b = pm.Flat("b", dims="coef")
        pm.Deterministic("exp_b", pm.math.exp(b), dims="coef")
        if family == "binomial":
            pm.Bernoulli("y", logit_p=x @ b, observed=y)
            fam = sm.families.Binomial()
        else:
            pm.Poisson("y", pm.math.exp(x @ b), observed=y)
            fam = sm.families.Poisson()
    table = summary(model, fit_laplace(model, random_seed=0))
    classic = sm.GLM(y, x, family=fam).fit(tol=1e-14)
    robust = sm.GLM(y, x, family=fam).fit(tol=1e-14, cov_type="HC0")
    rows = ["b[Intercept]", "b[x1]", "b[x2]"]
    np.testing.assert_allclose(table.loc[rows, "estimate"], classic.params, rtol=1e-6)
    np.testing.assert_allclose(table.loc[rows, "se_observed"], classic.bse, rtol=1e-6)
    # canonical link: expected information equals observed
    np.testing.assert_allclose(table.loc[rows, "se_expected"], classic.bse, rtol=1e-6)
    np.testing.assert_allclose(table.loc[rows, "se_sandwich"], robust.bse, rtol=1e-6)
    np.testing.assert_allclose(table.loc[rows, "z"], classic.tvalues, rtol=1e-6)
    lower, upper = classic.conf_int(alpha=0.05).T
    np.testing.assert_allclose(table.loc[rows, "lower"], lower, rtol=1e-6)
    np.testing.assert_allclose(table.loc[rows, "upper"], upper, rtol=1e-6)
    # delta method: se(exp b) = exp(b) se(b)
    exp_rows = ["exp_b[Intercept]", "exp_b[x1]", "exp_b[x2]"]
    np.testing.assert_allclose(
        table.loc[exp_rows, "se_observed"], np.exp(classic.params) * classic.bse, rtol=1e-6
    )


@pytest.mark.slow  # a third GLM to compile (~8 s warm); canonical links stay in the default tier
def test_non_canonical_link_separates_expected_from_observed():
    x, y = glm_data("binomial", seed=9)
    with pm.Model() as model:
        b = pm.Flat("b", shape=3)
        pm.Bernoulli("y", p=pm.math.invprobit(x @ b), observed=y)
    table = summary(model, fit_laplace(model, random_seed=0))
    probit = sm.families.Binomial(link=sm.families.links.Probit())
    irls = sm.GLM(y, x, family=probit).fit(tol=1e-14)  # IRLS: expected information
    np.testing.assert_allclose(table["estimate"], irls.params, rtol=1e-6)
    np.testing.assert_allclose(table["se_expected"], irls.bse, rtol=1e-6)
    observed_bse = np.sqrt(
        np.diag(np.linalg.inv(-sm.GLM(y, x, family=probit).hessian(irls.params)))
    )
    np.testing.assert_allclose(table["se_observed"], observed_bse, rtol=1e-6)
    assert not np.allclose(table["se_observed"], table["se_expected"], rtol=1e-4)


def test_constrained_rows_and_mcmc_comparison():
    # normal mean with known scale and a normal prior: the posterior is N(m, v) exactly, with
    # v = 1/(n/σ² + 1/τ²); the Cramér–Rao bound of the posterior information is √v too.
    y = np.array([0.3, -0.2, 1.1, 0.7, 0.1])
    sigma, tau = 1.5, 2.0
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, tau)
        pm.Deterministic("mu2", 3 * mu)
        pm.Normal("y", mu, sigma, observed=y)
    v = 1 / (len(y) / sigma**2 + 1 / tau**2)
    m = v * y.sum() / sigma**2
    draws = np.random.default_rng(2).normal(m, np.sqrt(v), size=(4, 1000))
    mcmc = from_dict({"posterior": {"mu": draws, "mu2": 3 * draws}})
    table = summary(model, fit_laplace(model, random_seed=0), mcmc=mcmc)
    np.testing.assert_allclose(table.loc["mu", "se_observed"], np.sqrt(v), rtol=1e-9)
    np.testing.assert_allclose(table.loc["mu", "cramer_rao"], np.sqrt(v), rtol=1e-9)
    np.testing.assert_allclose(table.loc["mu2", "cramer_rao"], 3 * np.sqrt(v), rtol=1e-9)
    np.testing.assert_allclose(table["posterior_sd"], draws.std(ddof=1) * np.array([1, 3]))
    np.testing.assert_allclose(table["sd_over_cramer_rao"], table.posterior_sd / table.cramer_rao)
    # sd of 4000 exact draws: relative standard error 1/√(2·3999) ≈ 0.011; 4.5 of them ≈ 0.05
    np.testing.assert_allclose(table["sd_over_laplace_se"], 1.0, atol=0.05)


def _sum_model():
    """y ~ N(a + b, 1): the likelihood identifies a + b (the Deterministic s), not a − b."""
    with pm.Model() as model:
        a = pm.Normal("a", np.float64(0.0), np.float64(10.0))
        b = pm.Normal("b", np.float64(0.0), np.float64(10.0))
        pm.Deterministic("s", a + b)
        pm.Normal("y", a + b, np.float64(1.0), observed=np.array([0.5, 1.5, 1.0]))
    return model


def test_summary_refuses_a_standard_error_along_an_unidentified_direction():
    model = _sum_model()
    fit = fit_laplace(model, draws=30, random_seed=0)
    with pytest.warns(
        UserWarning, match=r"likelihood's observed information does not identify a − b"
    ):
        table = summary(model, fit, include_prior=False)
    # no number along a − b: the variance there is infinite, not large
    for column in ["se_observed", "se_expected", "se_sandwich", "z", "lower", "upper"]:
        assert table.loc[["a", "b"], column].isna().all(), column
    # a + b is identified: its standard error is 1/√n exactly
    assert table.loc["s", "se_observed"] == pytest.approx(1 / np.sqrt(3), rel=1e-12)
    assert table["identified"].tolist() == [False, False, True]
    assert any("a − b" in note for note in table.attrs["notes"])


def test_summary_with_the_prior_says_the_prior_carries_the_unidentified_direction():
    model = _sum_model()
    fit = fit_laplace(model, draws=30, random_seed=0)
    with pytest.warns(
        UserWarning, match=r"likelihood does not identify a − b.*come from the prior"
    ):
        table = summary(model, fit)
    assert table.loc[["a", "b"], "se_observed"].notna().all()  # the posterior is proper
    assert table["identified"].tolist() == [False, False, True]
