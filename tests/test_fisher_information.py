"""fisher_information: known metrics, labels, spaces, Monte Carlo, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pymc as pm
import pytensor
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

import pymc_fisher as pmf
from pymc_fisher.fisher.points import resolve_point
from tests.models import design, funnel, logistic_regression, normal_model

# Monte Carlo checks: each asserted entry may miss with probability 1e-4 (two-sided z = 3.89),
# so a whole test with a handful of entries raises a false alarm far less than once in 1000 runs.
Z = stats.norm.isf(1e-4 / 2)


def test_funnel_metric_is_exact():
    d = 6
    model = funnel(d)
    v, x = 1.7, np.linspace(-1, 1, d - 1)
    metric = pmf.fisher_information(model, {"v": v, "x": x}, include_prior=True)
    expected = np.diag(np.r_[1 / 9 + (d - 1) / 2, np.full(d - 1, np.exp(-v))])
    np.testing.assert_allclose(metric.values, expected, rtol=1e-12, atol=1e-14)


def test_logistic_metric_is_exact():
    X = design(80, 4, seed=3)
    y = np.random.default_rng(3).random(80) < 0.4
    alpha = 100.0
    model = logistic_regression(X, y, alpha)
    w = np.array([0.2, -0.5, 0.1, 0.3])
    p = 1 / (1 + np.exp(-X @ w))
    metric = pmf.fisher_information(model, {"w": w}, include_prior=True)
    expected = X.T @ ((p * (1 - p))[:, None] * X) + np.eye(4) / alpha
    np.testing.assert_allclose(metric.values, expected, rtol=1e-12)


def test_labels_dims_and_attrs():
    coords = {"coef": ["Intercept", "x1"]}
    with pm.Model(coords=coords) as model:
        beta = pm.Normal("beta", 0, 1, dims="coef")
        sigma = pm.HalfNormal("sigma", 1)
        L = pm.Normal("L", 0, 1, shape=(2, 2))
        pm.Normal("y", beta[0] + beta[1] + L.sum(), sigma, observed=np.zeros(3))
    info = pmf.fisher_information(model, kind="observed")
    assert info.dims == ("rows", "columns")
    assert list(info.rows.values) == [
        "beta[Intercept]",
        "beta[x1]",
        "sigma_log__",
        "L[0, 0]",
        "L[0, 1]",
        "L[1, 0]",
        "L[1, 1]",
    ]
    assert info.attrs["kind"] == "observed"
    assert info.attrs["space"] == "unconstrained"
    constrained = pmf.fisher_information(model, space="constrained")
    assert "sigma" in list(constrained.rows.values)
    assert list(constrained.rows.values).index("sigma") == 2


def _transform_jacobian(point):
    """d constrained / d unconstrained for (mu, sigma = exp φ, p = logistic ψ)."""
    sigma, p = point["sigma"], point["p"]
    return np.diag([1.0, sigma, p * (1 - p)])


def _beta_normal_model():
    rng = np.random.default_rng(7)
    with pm.Model() as model:
        mu = pm.Normal("mu", 0, 5)
        sigma = pm.HalfNormal("sigma", 2)
        p = pm.Beta("p", 2, 3)
        pm.Normal("y", mu, sigma, observed=rng.normal(1, 1.5, size=40))
        pm.Binomial("k", n=10, p=p, observed=rng.binomial(10, 0.3, size=15))
    return model


def test_change_of_variables_expected():
    model = _beta_normal_model()
    point = {"mu": 0.4, "sigma": 1.3, "p": 0.35}
    J = _transform_jacobian(point)
    constrained = pmf.fisher_information(model, point, space="constrained").values
    unconstrained = pmf.fisher_information(model, point, space="unconstrained").values
    np.testing.assert_allclose(unconstrained, J.T @ constrained @ J, rtol=1e-12)
    Jinv = np.linalg.inv(J)
    np.testing.assert_allclose(constrained, Jinv.T @ unconstrained @ Jinv, rtol=1e-12)


def test_change_of_variables_observed_has_the_gradient_term():
    model = _beta_normal_model()
    point = {"mu": 0.4, "sigma": 1.3, "p": 0.35}
    J = _transform_jacobian(point)
    H_con = pmf.fisher_information(model, point, kind="observed", space="constrained").values
    H_unc = pmf.fisher_information(model, point, kind="observed").values
    # the constrained score, from PyTensor on the transform-free model
    mg = pmf.information.graph_of(model, "constrained")
    score = pytensor.function([mg.theta], pytensor.grad(mg.loglik(), mg.theta))
    g = score(mg.layout.ravel({"mu": 0.4, "sigma": 1.3, "p": 0.35}))
    sigma, p = point["sigma"], point["p"]
    # second derivatives of the inverse transforms: σ = e^φ → σ; p = logistic ψ → p(1-p)(1-2p)
    curvature = np.diag([0.0, sigma, p * (1 - p) * (1 - 2 * p)])
    order = list(mg.layout.names)
    g = g[[order.index(n) for n in ("mu", "sigma", "p")]]
    np.testing.assert_allclose(H_unc, J.T @ H_con @ J - np.diag(g) @ curvature, rtol=1e-10)


def test_point_naming_both_ways_and_mixed():
    model = _beta_normal_model()
    constrained = {"mu": 0.4, "sigma": 1.3, "p": 0.35}
    unconstrained = {"mu": 0.4, "sigma_log__": np.log(1.3), "p_logodds__": np.log(0.35 / 0.65)}
    mixed = {"mu": 0.4, "sigma_log__": np.log(1.3), "p": 0.35}
    for point in (constrained, unconstrained, mixed):
        unc, con = resolve_point(model, point)
        for name, value in unconstrained.items():
            np.testing.assert_allclose(unc[name], value, rtol=1e-14)
        for name, value in constrained.items():
            np.testing.assert_allclose(con[name], value, rtol=1e-14)
    a = pmf.fisher_information(model, constrained).values
    for point in (unconstrained, mixed):
        np.testing.assert_allclose(pmf.fisher_information(model, point).values, a, rtol=1e-12)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    seed=st.integers(0, 2**16),
    scale=st.floats(0.1, 3.0),
    family=st.sampled_from(["logit", "poisson", "gaussian"]),
)
def test_information_is_positive_semidefinite_on_random_glms(seed, scale, family):
    model = _random_glm(family)
    rng = np.random.default_rng(seed)
    point = {"b": rng.normal(scale=scale, size=3)}
    for kind in ("expected", "empirical"):
        info = pmf.fisher_information(model, point, kind=kind).values
        np.testing.assert_allclose(info, info.T, rtol=1e-12, atol=1e-12)
        assert np.linalg.eigvalsh(info).min() >= -1e-9 * np.abs(info).max()


_GLMS: dict[str, pm.Model] = {}


def _random_glm(family: str) -> pm.Model:
    if family not in _GLMS:  # one model (and one compilation) per family
        X = design(30, 3, seed=11)
        rng = np.random.default_rng(11)
        with pm.Model() as model:
            b = pm.Normal("b", 0, 1, shape=3)
            eta = X @ b
            if family == "logit":
                pm.Bernoulli("y", logit_p=eta, observed=rng.random(30) < 0.5)
            elif family == "poisson":
                pm.Poisson("y", mu=pm.math.exp(eta), observed=rng.poisson(1.0, 30))
            else:
                pm.Normal("y", eta, 0.7, observed=rng.normal(size=30))
        _GLMS[family] = model
    return _GLMS[family]


def test_monte_carlo_agrees_with_analytic_within_its_standard_error():
    y = np.random.default_rng(0).normal(1, 2, size=25)
    model = normal_model(y)
    point = {"mu": 0.5, "sigma": 1.8}
    for include_prior in (False, True):
        exact = pmf.fisher_information(model, point, include_prior=include_prior)
        mc = pmf.fisher_information(
            model,
            point,
            include_prior=include_prior,
            method="monte_carlo",
            draws=4000,
            random_seed=1,
        )
        assert mc.attrs["method"] == "monte_carlo"
        assert mc.attrs["draws"] == 4000
        mcse = mc.attrs["mcse"]
        assert mcse.shape == (2, 2)
        assert np.all(mcse > 0)
        z = np.abs(mc.values - exact.values) / mcse
        assert z.max() < Z, z


def test_auto_is_deterministic_and_names_the_quadrature_factors():
    with pm.Model() as model:
        mu = pm.Normal("mu", 0, 1)
        pm.Moyal("y", mu, 1.0, observed=np.zeros(10))  # no closed form: quantile quadrature
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no Monte Carlo fallback, no warning
        info = pmf.fisher_information(model)
        again = pmf.fisher_information(model, method="analytic")
    assert info.attrs["method"] == "analytic"
    assert info.attrs["quadrature_factors"] == ["y"]
    np.testing.assert_array_equal(info.values, again.values)
    # Moyal(μ, σ): log p = −(u + e^(−u))/2 with u = (y − μ)/σ, I_μμ = E[e^(−u)]/(2σ²) = 1/2
    np.testing.assert_allclose(info.values, [[10 * 0.5]], rtol=1e-6)


def test_graph_level_function_is_the_same_matrix():
    model = funnel(4)
    theta, matrix, layout = pmf.fisher_information_graph(model, include_prior=True)
    fn = pytensor.function([theta], matrix)
    point = {"v": -0.8, "x": np.array([0.1, 0.2, 0.3])}
    np.testing.assert_allclose(
        fn(layout.ravel(point)), pmf.fisher_information(model, point, include_prior=True)
    )


# Bad input ------------------------------------------------------------------------------------


def test_discrete_free_variable_is_named():
    with pm.Model() as model:
        k = pm.Poisson("k", 3.0)
        pm.Normal("y", k, 1.0, observed=[1.0])
    with pytest.raises(pmf.DiscreteVariableError, match="'k'"):
        pmf.fisher_information(model)


def test_no_observed_variables():
    with pm.Model() as model:
        pm.Normal("x", 0, 1)
    with pytest.raises(pmf.NoObservedVariablesError, match="include_prior=True"):
        pmf.fisher_information(model)
    prior_only = pmf.fisher_information(model, include_prior=True)
    np.testing.assert_allclose(prior_only.values, [[1.0]])


def test_non_finite_log_density_names_the_term():
    with pm.Model() as model:
        mu = pm.Normal("mu", 0, 1)
        pm.Uniform("y", mu - 1, mu + 1, observed=[0.5])
    with pytest.raises(pmf.NonFiniteLogDensityError, match="'y'"):
        pmf.fisher_information(model, {"mu": 5.0}, kind="observed")


def test_missing_and_unknown_point_names():
    model = _beta_normal_model()
    with pytest.raises(pmf.MissingPointValueError, match="'p'"):
        pmf.fisher_information(model, {"mu": 0.0, "sigma": 1.0})
    with pytest.raises(pmf.MissingPointValueError, match="sigmaa"):
        pmf.fisher_information(model, {"mu": 0.0, "sigmaa": 1.0, "p": 0.5})


def test_options_are_checked():
    model = funnel(3)
    with pytest.raises(ValueError, match="kind='hessian'"):
        pmf.fisher_information(model, kind="hessian", include_prior=True)
    with pytest.raises(ValueError, match="empirical"):
        pmf.fisher_information(model, kind="empirical", include_prior=True)


def test_potentials_enter_by_the_local_rule():
    with pm.Model() as model:
        mu = pm.Normal("mu", 0, 1)
        pm.Potential("pot", -(mu**4))
        pm.Normal("y", mu, 1, observed=[0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        expected = pmf.fisher_information(model, {"mu": 0.5}, include_prior=True)
        observed = pmf.fisher_information(model, {"mu": 0.5}, kind="observed", include_prior=True)
    assert expected.attrs["local_factors"] == ["pot"]
    # −∇² of the potential is 12μ² = 3; the local rule maps it by λ coth(αλ) − 1/α, α = 1e3
    softabs = 3 / np.tanh(3e3) - 1e-3
    np.testing.assert_allclose(expected.values, [[1 + 1 + softabs]], rtol=1e-12)
    np.testing.assert_allclose(observed.values, [[1 + 1 + 12 * 0.25]])
    assert pmf.fisher_information(model, {"mu": 0.5}).attrs["local_factors"] == []


def test_flat_priors_have_zero_information():
    with pm.Model() as model:
        mu = pm.Flat("mu")
        sigma = pm.HalfFlat("sigma")
        pm.Normal("y", mu, sigma, observed=np.array([0.3, -0.2, 1.1]))
    point = {"mu": 0.1, "sigma": 0.9}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # analytic: no Monte Carlo fallback
        joint = pmf.fisher_information(model, point, include_prior=True)
    likelihood = pmf.fisher_information(model, point)
    np.testing.assert_allclose(joint.values, likelihood.values, rtol=1e-14)


def test_monte_carlo_is_reproducible_by_seed():
    model = normal_model(np.random.default_rng(2).normal(size=10))
    point = {"mu": 0.1, "sigma": 1.2}

    def run(seed):
        return pmf.fisher_information(
            model, point, method="monte_carlo", draws=200, random_seed=seed
        ).values

    np.testing.assert_array_equal(run(5), run(5))
    assert not np.array_equal(run(5), run(6))
