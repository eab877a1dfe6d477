"""Expected and observed information of GLMs against statsmodels (rtol 1e-8)."""

from __future__ import annotations

import warnings

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import pytest
import statsmodels.api as sm
from statsmodels.genmod.families import links
from statsmodels.tools.sm_exceptions import DomainWarning

import pymc_fisher as pmf
from tests.models import design

N, K = 60, 3
X = design(N, K, seed=1)
BETA = np.array([0.3, -0.4, 0.2])


def _glm(endog, family, **kwargs):
    # the non-canonical links are the point of these cases: statsmodels warns about their domain
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DomainWarning)
        return sm.GLM(endog, X, family=family, **kwargs)


def _binomial(link):
    rng = np.random.default_rng(2)
    trials = rng.integers(1, 6, size=N)
    p = link().inverse(X @ BETA)
    successes = rng.binomial(trials, p)
    with pm.Model() as model:
        b = pm.Normal("b", 0, 10, shape=K)
        pm.Binomial("y", n=trials, p=inverse_pt[link](X @ b), observed=successes)
    endog = np.column_stack([successes, trials - successes])
    return model, _glm(endog, sm.families.Binomial(link=link())), None


def _exact_invprobit(eta):
    # pm.math.invprobit takes sqrt of a float32 constant: Φ to 3e-9 only, its derivative 2e-8
    return 0.5 * pt.erfc(-eta / np.sqrt(2.0))


inverse_pt = {
    links.Logit: pm.math.invlogit,
    links.Probit: _exact_invprobit,
    links.CLogLog: lambda eta: 1 - pm.math.exp(-pm.math.exp(eta)),
}


def _poisson(link):
    rng = np.random.default_rng(3)
    eta = X @ BETA
    mu = np.exp(eta) if link is links.Log else eta + 2.0
    y = rng.poisson(mu)
    with pm.Model() as model:
        b = pm.Normal("b", 0, 10, shape=K)
        mean = pm.math.exp(X @ b) if link is links.Log else X @ b + 2.0
        pm.Poisson("y", mu=mean, observed=y)
    offset = None if link is links.Log else np.full(N, 2.0)
    return model, _glm(y, sm.families.Poisson(link=link()), offset=offset), None


def _gamma(link):
    dispersion = 0.4
    rng = np.random.default_rng(4)
    eta = X @ BETA
    mu = np.exp(eta) if link is links.Log else 1 / (eta + 2.0)
    y = rng.gamma(1 / dispersion, dispersion * mu)
    with pm.Model() as model:
        b = pm.Normal("b", 0, 10, shape=K)
        mean = pm.math.exp(X @ b) if link is links.Log else 1 / (X @ b + 2.0)
        pm.Gamma("y", alpha=1 / dispersion, beta=1 / (dispersion * mean), observed=y)
    offset = None if link is links.Log else np.full(N, 2.0)
    family = sm.families.Gamma(link=link())
    return model, _glm(y, family, offset=offset), dispersion


def _gaussian():
    sigma = 1.3
    y = np.random.default_rng(5).normal(X @ BETA, sigma)
    with pm.Model() as model:
        b = pm.Normal("b", 0, 10, shape=K)
        pm.Normal("y", X @ b, sigma, observed=y)
    return model, _glm(y, sm.families.Gaussian()), sigma**2


def _negative_binomial():
    alpha = 0.7  # statsmodels NB2: Var = μ + α μ²; PyMC: Var = μ + μ²/alpha
    rng = np.random.default_rng(6)
    mu = np.exp(X @ BETA)
    y = rng.negative_binomial(1 / alpha, 1 / (1 + alpha * mu))
    with pm.Model() as model:
        b = pm.Normal("b", 0, 10, shape=K)
        pm.NegativeBinomial("y", mu=pm.math.exp(X @ b), alpha=1 / alpha, observed=y)
    family = sm.families.NegativeBinomial(alpha=alpha)
    return model, _glm(y, family), None


CASES = {
    "binomial-logit": (lambda: _binomial(links.Logit), True),
    "binomial-probit": (lambda: _binomial(links.Probit), False),
    "binomial-cloglog": (lambda: _binomial(links.CLogLog), False),
    "poisson-log": (lambda: _poisson(links.Log), True),
    "poisson-identity": (lambda: _poisson(links.Identity), False),
    "gamma-log": (lambda: _gamma(links.Log), False),
    "gamma-inverse": (lambda: _gamma(links.InversePower), True),
    "gaussian": (_gaussian, True),
    "nb2-log": (_negative_binomial, False),
}

POINT_BETA = np.array([0.25, -0.3, 0.15])


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("kind", ["expected", "observed"])
def test_glm_information_matches_statsmodels(case, kind):
    build, _canonical = CASES[case]
    model, glm, scale = build()
    # method="analytic": no Monte Carlo fallback (only kind="expected" takes a method)
    method = "analytic" if kind == "expected" else "auto"
    ours = pmf.fisher_information(model, {"b": POINT_BETA}, kind=kind, method=method)
    theirs = -glm.hessian(POINT_BETA, scale=scale, observed=(kind == "observed"))
    np.testing.assert_allclose(ours.values, theirs, rtol=1e-8, atol=0)


@pytest.mark.parametrize("case", [c for c, (_, canonical) in CASES.items() if canonical])
def test_canonical_link_observed_equals_expected(case):
    model, _, _ = CASES[case][0]()
    point = {"b": POINT_BETA}
    expected = pmf.fisher_information(model, point, kind="expected")
    observed = pmf.fisher_information(model, point, kind="observed")
    np.testing.assert_allclose(observed.values, expected.values, rtol=1e-10)
