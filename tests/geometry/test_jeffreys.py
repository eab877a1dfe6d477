import numpy as np
import pymc as pm
import pytest
from pymc.distributions.transforms import ordered
from scipy import special, stats

from pymc_fisher.errors import (
    DiscreteVariableError,
    NoClosedFormError,
    NoObservedVariablesError,
    UnsupportedModelError,
)
from pymc_fisher.geometry import ImproperJeffreysError, jeffreys_prior


def _logp_differences(model, points):
    """Log-density (unconstrained, with Jacobian) at points, minus its value at the first."""
    f = model.compile_logp()
    values = np.array([f(p) for p in points])
    return values - values[0]


@pytest.mark.parametrize("prior", ["beta", "uniform"])
def test_bernoulli_posterior_is_beta_half(prior):
    k, n = 3, 11
    data = np.r_[np.ones(k), np.zeros(n - k)]
    with pm.Model() as model:
        p = pm.Beta("p", 5.0, 2.0) if prior == "beta" else pm.Uniform("p", 0.0, 1.0)
        pm.Bernoulli("y", p=p, observed=data)
    jeff = jeffreys_prior(model)
    value_name = jeff.rvs_to_values[jeff["p"]].name
    ps = np.array([0.05, 0.2, 0.5, 0.77, 0.99])
    z = special.logit(ps)
    got = _logp_differences(jeff, [{value_name: zi} for zi in z])
    # density of z = logit(p) under Beta(k + 1/2, n - k + 1/2): beta pdf times dp/dz = p(1 - p)
    target = stats.beta(k + 0.5, n - k + 0.5).logpdf(ps) + np.log(ps * (1 - ps))
    np.testing.assert_allclose(got, target - target[0], rtol=0, atol=1e-10)


def test_binomial_prior_is_beta_half_without_data_weight():
    with pm.Model() as model:
        p = pm.Beta("p", 2.0, 2.0)
        pm.Binomial("y", n=10, p=p, observed=3)
    jeff = jeffreys_prior(model)
    f = jeff.compile_logp(vars=jeff.potentials, jacobian=False)
    ps = np.array([0.1, 0.4, 0.9])
    got = np.array([f({"p_logodds__": special.logit(q)}) for q in ps])
    target = stats.beta(0.5, 0.5).logpdf(ps)
    np.testing.assert_allclose(got - got[0], target - target[0], atol=1e-10)


def test_poisson_prior_is_inverse_sqrt_rate_and_follows_data():
    with pm.Model() as model:
        x = pm.Data("x", np.array([1.0, 2.0, 3.0]))
        lam = pm.Gamma("lam", 2.0, 1.0)
        pm.Poisson("y", lam * x, observed=[1, 0, 4])
    jeff = jeffreys_prior(model)
    f = jeff.compile_logp(vars=jeff.potentials, jacobian=False)
    lams = np.array([0.1, 1.0, 7.0])
    got = np.array([f({"lam_log__": np.log(v)}) for v in lams])
    # I(λ) = Σ x_i / λ, so ½ log det I = ½ log Σx − ½ log λ, with no arbitrary constant
    np.testing.assert_allclose(got, 0.5 * np.log(6.0) - 0.5 * np.log(lams), atol=1e-12)
    with jeff:
        pm.set_data({"x": np.array([2.0, 4.0, 6.0])})
    np.testing.assert_allclose(f({"lam_log__": 0.0}), 0.5 * np.log(12.0), atol=1e-12)


@pytest.mark.parametrize(("vars", "power"), [(None, -2.0), (["sigma"], -1.0), (["mu"], -1.0)])
def test_normal_prior_powers_of_sigma(vars, power):
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 10.0)
        sigma = pm.HalfNormal("sigma", 5.0)
        pm.Normal("y", mu, sigma, observed=[1.0, 2.5, -0.3, 0.7])
    jeff = jeffreys_prior(model, vars=vars)
    f = jeff.compile_logp(vars=jeff.potentials, jacobian=False)
    sigmas = np.array([0.3, 1.0, 4.0])
    got = np.array([f({"mu": 0.3 * s, "sigma_log__": np.log(s)}) for s in sigmas])
    # vars=["mu"]: √I_μμ = √n/σ depends on σ, and the factor is kept as is (documented)
    np.testing.assert_allclose(got - got[0], power * np.log(sigmas / sigmas[0]), atol=1e-12)
    # the unchosen variable keeps its prior; the chosen ones lose theirs
    kept = {rv.name: type(rv.owner.op).__name__ for rv in jeff.free_RVs}
    assert (kept["mu"] == "NormalRV") == (vars == ["sigma"])
    assert (kept["sigma"] == "HalfNormalRV") == (vars == ["mu"])


def test_original_model_unchanged():
    with pm.Model() as model:
        mu = pm.Normal("mu")
        pm.Normal("y", mu, 1.0, observed=[0.0, 1.0])
    jeffreys_prior(model)
    assert not model.potentials
    assert type(model["mu"].owner.op).__name__ == "NormalRV"


def test_variable_outside_likelihood_is_an_error():
    with pm.Model() as model:
        mu = pm.Normal("mu")
        pm.HalfNormal("tau")
        pm.Normal("y", mu, 1.0, observed=[0.0, 1.0])
    with pytest.raises(ImproperJeffreysError, match="'tau' does not enter the likelihood"):
        jeffreys_prior(model)
    only_mu = jeffreys_prior(model, vars=["mu"])
    assert type(only_mu["mu"].owner.op).__name__ == "FlatRV"  # mu's prior replaced
    assert type(only_mu["tau"].owner.op).__name__ == "HalfNormalRV"  # tau's kept
    assert [p.name for p in only_mu.potentials] == ["jeffreys_log_density"]


def test_non_identifiable_is_an_error():
    with pm.Model() as model:
        a = pm.Normal("a")
        b = pm.Normal("b")
        pm.Normal("y", a + b, 1.0, observed=[0.0, 1.0])
    with pytest.raises(ImproperJeffreysError, match="singular"):
        jeffreys_prior(model)


def test_discrete_and_no_likelihood_errors():
    with pm.Model() as model:
        k = pm.Poisson("k", 3.0)
        pm.Normal("y", k, 1.0, observed=[0.0])
    with pytest.raises(DiscreteVariableError, match="'k'"):
        jeffreys_prior(model)
    with pm.Model() as prior_only:
        pm.Normal("mu")
    with pytest.raises(ImproperJeffreysError):
        jeffreys_prior(prior_only)
    with pm.Model() as no_link:
        mu = pm.Normal("mu")
        pm.Deterministic("d", mu)
    with pytest.raises((ImproperJeffreysError, NoObservedVariablesError)):
        jeffreys_prior(no_link)


def test_likelihood_without_closed_form_is_named():
    with pm.Model() as model:
        mu = pm.Normal("mu")
        pm.Rice("y", nu=pm.math.exp(mu), sigma=1.0, observed=[0.5, 1.0])  # no rule: see rules
    with pytest.raises(NoClosedFormError, match="'y'"):
        jeffreys_prior(model)


def test_unsupported_transform_is_named():
    with pm.Model() as model:
        mu = pm.Normal("mu", shape=2, transform=ordered)
        pm.Normal("y", mu, 1.0, observed=[0.0, 1.0])
    with pytest.raises(UnsupportedModelError, match="'mu'"):
        jeffreys_prior(model, vars=["mu"])
    with pm.Model() as with_initval:
        mu = pm.Normal("mu", initval=0.5)
        pm.Normal("y", mu, 1.0, observed=[0.0, 1.0])
    with pytest.raises(UnsupportedModelError, match="initval"):
        jeffreys_prior(with_initval)


def test_logistic_regression_is_firth_penalty():
    # Jeffreys' prior for a GLM: ½ log det(Xᵀ W X), W = diag(p(1 − p)) (Firth 1993)
    rng = np.random.default_rng(4)
    x = np.column_stack([np.ones(12), rng.normal(size=(12, 2))])
    with pm.Model() as model:
        beta = pm.Normal("beta", 0.0, 5.0, shape=3)
        pm.Bernoulli("y", logit_p=pm.math.dot(x, beta), observed=rng.integers(0, 2, size=12))
    jeff = jeffreys_prior(model)
    f = jeff.compile_logp(vars=jeff.potentials, jacobian=False)
    for b in (np.zeros(3), np.array([0.3, -1.0, 2.0])):
        p = special.expit(x @ b)
        expected = 0.5 * np.linalg.slogdet(x.T @ (x * (p * (1 - p))[:, None]))[1]
        np.testing.assert_allclose(f({"beta": b}), expected, rtol=1e-10)
