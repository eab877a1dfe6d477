import numpy as np
import pymc as pm
import pytest

from pymc_fisher.geometry.fisher_rao import fisher_rao_distance, geodesic

N = 3


def _normal(log_scale=False):
    with pm.Model() as model:
        mu = pm.Normal("mu")
        if log_scale:
            log_sigma = pm.Normal("log_sigma")
            sigma = pm.math.exp(log_sigma)
        else:
            sigma = pm.HalfNormal("sigma")
        pm.Normal("y", mu, sigma, observed=np.zeros(N))
    return model


def normal_distance(a, b, n=N):
    # I = n diag(1, 2)/σ²: √(2n) times the Poincaré half-plane distance in (μ/√2, σ)
    num = (a["mu"] - b["mu"]) ** 2 / 2 + (a["sigma"] - b["sigma"]) ** 2
    return np.sqrt(2 * n) * np.arccosh(1 + num / (2 * a["sigma"] * b["sigma"]))


PAIRS = [
    ({"mu": 0.0, "sigma": 1.0}, {"mu": 1.0, "sigma": 2.0}),
    ({"mu": -3.0, "sigma": 0.5}, {"mu": 4.0, "sigma": 3.0}),
    ({"mu": 0.0, "sigma": 1.0}, {"mu": 20.0, "sigma": 0.1}),
]


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_normal_family_hyperbolic_closed_form(a, b):
    d = fisher_rao_distance(_normal(), a, b)
    assert abs(d - normal_distance(a, b)) < 1e-4


def test_invariant_under_reparametrisation():
    a, b = PAIRS[1]
    model = _normal()
    reference = normal_distance(a, b)
    constrained = fisher_rao_distance(model, a, b, space="constrained")
    unconstrained = fisher_rao_distance(model, a, b, space="unconstrained")
    # the same points given by value-variable names (log σ) instead
    by_value = fisher_rao_distance(
        model,
        {"mu": a["mu"], "sigma_log__": np.log(a["sigma"])},
        {"mu": b["mu"], "sigma_log__": np.log(b["sigma"])},
    )
    logged = fisher_rao_distance(
        _normal(log_scale=True),
        {"mu": a["mu"], "log_sigma": np.log(a["sigma"])},
        {"mu": b["mu"], "log_sigma": np.log(b["sigma"])},
    )
    for d in (constrained, unconstrained, by_value, logged):
        assert abs(d - reference) < 1e-4


def test_geodesic_path_is_the_vertical_line_at_constant_speed():
    g = geodesic(
        _normal(), {"mu": 0.5, "sigma": 1.0}, {"mu": 0.5, "sigma": 4.0}, space="constrained"
    )
    assert g.converged
    assert g.path.dims == ("t", "parameters")
    assert list(g.path["parameters"].values) == ["mu", "sigma"]
    np.testing.assert_allclose(g.path.sel(parameters="mu"), 0.5, atol=1e-8)
    # σ(t) = σ_a (σ_b/σ_a)^t along the vertical geodesic of the half-plane
    np.testing.assert_allclose(g.path.sel(parameters="sigma"), 4.0 ** g.path["t"], rtol=1e-5)
    assert g.speed_spread < 1e-5
    np.testing.assert_allclose(g.distance, np.sqrt(2 * N) * np.log(4.0), rtol=1e-8)


def test_one_parameter_families():
    with pm.Model() as poisson:
        lam = pm.Gamma("lam", 2.0, 1.0)
        pm.Poisson("y", lam, observed=[1, 2, 0, 4])
    d = fisher_rao_distance(poisson, {"lam": 0.5}, {"lam": 6.0})
    np.testing.assert_allclose(d, 2 * np.sqrt(4) * (np.sqrt(6.0) - np.sqrt(0.5)), rtol=1e-6)
    with pm.Model() as bernoulli:
        p = pm.Beta("p", 1.0, 1.0)
        pm.Bernoulli("y", p, observed=[0, 1, 1])
    d = fisher_rao_distance(bernoulli, {"p": 0.1}, {"p": 0.8})
    exact = 2 * np.sqrt(3) * (np.arcsin(np.sqrt(0.8)) - np.arcsin(np.sqrt(0.1)))
    np.testing.assert_allclose(d, exact, rtol=1e-6)


def test_symmetric_and_reports_non_convergence():
    model = _normal()
    a, b = PAIRS[0]
    np.testing.assert_allclose(
        fisher_rao_distance(model, a, b), fisher_rao_distance(model, b, a), rtol=1e-6
    )
    g = geodesic(model, *PAIRS[2], max_nodes=40, tol=1e-12)
    assert not g.converged
    assert "nodes" in g.message or "exceeded" in g.message


def test_regression_is_three_dimensional_hyperbolic_space():
    # y ~ N(a + b x, s) with Σx = 0: ds² = (n da² + Σx² db² + 2n ds²)/s², which is √(2n) times
    # the hyperbolic metric of H³ in (a/√2, b √(Σx²/2n), s)
    x = np.linspace(-1, 1, 10)
    n, sxx = len(x), np.sum(x**2)
    with pm.Model() as model:
        a = pm.Normal("a")
        b = pm.Normal("b")
        s = pm.HalfNormal("s")
        pm.Normal("y", a + b * x, s, observed=np.zeros(n))
    pa, pb = {"a": 0.0, "b": 0.0, "s": 1.0}, {"a": 1.0, "b": 2.0, "s": 0.5}
    horizontal = (1.0 / np.sqrt(2)) ** 2 + (2.0 * np.sqrt(sxx / (2 * n))) ** 2
    exact = np.sqrt(2 * n) * np.arccosh(1 + (horizontal + 0.5**2) / (2 * 1.0 * 0.5))
    assert abs(fisher_rao_distance(model, pa, pb) - exact) < 1e-4
