"""pmf.log_marginal_likelihood against closed-form evidences, PyMC's SMC, and typed errors.

Importance estimates are checked within 4 of their own Monte Carlo standard errors (a
two-sided false-alarm rate of 6e-5 under the central limit theorem, which k̂ < 0.5 licenses),
plus the rounding of the closed form. Model parameters are float64 arrays, not Python floats:
PyTensor makes a Python float that float32 represents exactly (1.5, 2.0) a float32 constant,
so PyMC's ``log(sigma)`` is off by about 1e-8, which the 1e-8 checks would see.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest
from scipy import special, stats

import pymc_fisher as pmf

F = np.float64
Z_CRIT = 4.0
ROUNDING = 1e-10


def _within_mcse(estimate, exact):
    assert estimate.attrs["pareto_k"] < 0.5  # finite variance: the MCSE means what it says
    assert abs(float(estimate) - exact) <= Z_CRIT * estimate.attrs["mcse"] + ROUNDING


def test_normal_normal_laplace_is_exact():
    y = np.array([0.3, -1.2, 0.8, 2.1, 0.4])
    m0, s0, sigma = F(0.5), F(2.0), F(1.5)
    with pm.Model() as model:
        mu = pm.Normal("mu", m0, s0)
        pm.Normal("y", mu, sigma, observed=y)
    cov = sigma**2 * np.eye(len(y)) + s0**2 * np.ones((len(y), len(y)))
    exact = stats.multivariate_normal(np.full(len(y), m0), cov).logpdf(y)
    lml = pmf.log_marginal_likelihood(model)
    assert lml.name == "log_marginal_likelihood"
    assert lml.ndim == 0
    assert lml.attrs["method"] == "laplace"
    assert lml.attrs["mcse"] == 0.0
    assert abs(float(lml) - exact) < 1e-8
    # the Gaussian proposal is the posterior: every ratio is the evidence, to rounding
    sampled = pmf.log_marginal_likelihood(model, method="importance", draws=200, random_seed=1)
    assert abs(float(sampled) - exact) < 1e-8
    assert sampled.attrs["mcse"] < 1e-12
    assert sampled.attrs["pareto_k"] == -np.inf  # constant ratios (pmf.laplace.pareto_k)


def test_conjugate_regression_laplace_is_exact():
    rng = np.random.default_rng(2)
    x = np.column_stack([np.ones(12), rng.normal(size=(12, 2))])
    y = x @ [0.2, 1.0, -0.5] + rng.normal(size=12)
    sigma, tau = F(0.8), F(1.7)
    with pm.Model() as model:
        beta = pm.Normal("beta", F(0.0), tau, shape=3)
        pm.Normal("y", x @ beta, sigma, observed=y)
    cov = sigma**2 * np.eye(12) + tau**2 * x @ x.T  # y ~ N(0, σ² I + τ² X Xᵀ)
    exact = stats.multivariate_normal(np.zeros(12), cov).logpdf(y)
    assert abs(float(pmf.log_marginal_likelihood(model)) - exact) < 1e-8


def test_beta_binomial_importance_within_mcse():
    n, k, a, b = 20, 6, F(2.0), F(3.0)
    with pm.Model() as model:
        p = pm.Beta("p", a, b)
        pm.Binomial("k", n, p, observed=k)
    exact = np.log(special.comb(n, k)) + special.betaln(k + a, n - k + b) - special.betaln(a, b)
    lml = pmf.log_marginal_likelihood(model, method="importance", random_seed=11)
    _within_mcse(lml, exact)
    assert lml.attrs["draws"] == 4000
    # in logit space the posterior is skewed: Laplace alone is off by more than the IS error
    assert abs(lml.attrs["laplace"] - exact) > Z_CRIT * lml.attrs["mcse"]


def test_poisson_gamma_importance_within_mcse():
    y = np.array([3, 1, 4, 1, 5, 9, 2])
    alpha, beta = F(2.0), F(0.5)
    with pm.Model() as model:
        lam = pm.Gamma("lam", alpha, beta)
        pm.Poisson("y", lam, observed=y)
    s, m = y.sum(), len(y)
    exact = (
        -special.gammaln(y + 1).sum()
        + alpha * np.log(beta)
        - special.gammaln(alpha)
        + special.gammaln(alpha + s)
        - (alpha + s) * np.log(beta + m)
    )
    _within_mcse(pmf.log_marginal_likelihood(model, method="importance", random_seed=12), exact)


@pytest.mark.slow
def test_logistic_regression_agrees_with_smc():
    rng = np.random.default_rng(0)
    x = np.column_stack([np.ones(40), rng.normal(size=40)])
    y = rng.binomial(1, special.expit(x @ [0.3, 1.0]))
    with pm.Model() as model:
        w = pm.Normal("w", F(0.0), F(2.0), shape=2)
        pm.Bernoulli("y", logit_p=x @ w, observed=y)
        smc = pm.sample_smc(draws=2000, chains=4, cores=1, random_seed=1, progressbar=False)
    # SMC's estimate per chain is the last stage's (earlier stages are NaN-padded)
    per_chain = np.array(
        [
            np.asarray(list(row), dtype=float)[-1]
            for row in smc["sample_stats"]["log_marginal_likelihood"].values
        ]
    )
    lml = pmf.log_marginal_likelihood(model, method="importance", draws=8000, random_seed=2)
    assert lml.attrs["pareto_k"] < 0.5
    spread = np.sqrt(per_chain.var(ddof=1) / len(per_chain) + lml.attrs["mcse"] ** 2)
    assert abs(float(lml) - per_chain.mean()) <= Z_CRIT * spread


@pytest.mark.parametrize(
    ("prior", "name"),
    [(lambda: pm.Flat("a"), "'a'"), (lambda: pm.HalfFlat("a"), "'a'")],
)
def test_an_improper_prior_is_a_typed_error_naming_it(prior, name):
    with pm.Model() as model:
        a = prior()
        pm.Normal("b", F(0.0), F(1.0))
        pm.Normal("y", a, F(1.0), observed=[0.1])
    with pytest.raises(pmf.ImproperPriorError, match=f"prior of \\[{name}\\] is improper"):
        pmf.log_marginal_likelihood(model)


def test_a_potential_is_refused_naming_it():
    with pm.Model() as model:
        a = pm.Normal("a", F(0.0), F(1.0))
        pm.Potential("penalty", -(a**2))
        pm.Normal("y", a, F(1.0), observed=[0.1])
    with pytest.raises(pmf.ImproperPriorError, match="'penalty'"):
        pmf.log_marginal_likelihood(model)


def test_a_model_without_data_or_with_a_discrete_variable_is_refused():
    with pm.Model() as prior_only:
        pm.Normal("a", F(0.0), F(1.0))
    with pytest.raises(pmf.NoObservedVariablesError):
        pmf.log_marginal_likelihood(prior_only)
    with pm.Model() as discrete:
        k = pm.Poisson("k", F(2.0))
        pm.Normal("y", k, F(1.0), observed=[0.1])
    with pytest.raises(pmf.DiscreteVariableError, match="'k'"):
        pmf.log_marginal_likelihood(discrete)


def test_options_that_do_not_apply_are_errors():
    with pm.Model() as model:
        a = pm.Normal("a", F(0.0), F(1.0))
        pm.Normal("y", a, F(1.0), observed=[0.1])
    with pytest.raises(ValueError, match="draws, random_seed do not apply"):
        pmf.log_marginal_likelihood(model, draws=10, random_seed=1)
    with pytest.raises(ValueError, match="method='bridge'"):
        pmf.log_marginal_likelihood(model, method="bridge")  # type: ignore[arg-type]


def test_a_large_pareto_k_is_said(monkeypatch):
    # the warning's wiring, with k̂ fixed: an estimated k̂ near 0.7 would make the test a coin flip
    with pm.Model() as model:
        a = pm.Normal("a", F(0.0), F(1.0))
        pm.Normal("y", a, F(1.0), observed=[0.1])
    monkeypatch.setattr("pymc_fisher.evidence.pareto_k", lambda log_ratios: 0.9)
    with pytest.warns(pmf.ParetoKWarning, match=r"k̂ = 0.90 > 0.7.*not reliable"):
        lml = pmf.log_marginal_likelihood(model, method="importance", draws=50, random_seed=0)
    assert lml.attrs["pareto_k"] == 0.9
