"""fit_laplace against closed forms, numpy, and statsmodels."""

from __future__ import annotations

import warnings

import numpy as np
import pymc as pm
import pytest

from pymc_fisher.bench.data import german_credit_data
from pymc_fisher.errors import NotPositiveDefiniteError
from pymc_fisher.laplace import ModeNotFoundError, ParetoKWarning, fit_laplace
from tests import models


def german_credit() -> tuple[np.ndarray, np.ndarray]:
    """Girolami & Calderhead's design [1, Z] (Z standardised, ddof=1) and labels t = y − 1."""
    x, t, _ = german_credit_data()
    return x, t.astype(float)


# the posterior of log σ has an exponential right tail: k̂ sits near 0.7 and may warn
@pytest.mark.filterwarnings("ignore::pymc_fisher.laplace.ParetoKWarning")
def test_bda3_normal_flat_priors():
    # BDA3 §4.1: p(μ, log σ) ∝ 1; mode (ȳ, log σ̂), σ̂² = Σ(y − ȳ)²/n; covariance diag(σ̂²/n, 1/(2n))
    y = np.random.default_rng(41).normal(3.0, 2.0, size=37)
    n = len(y)
    with pm.Model() as model:
        mu = pm.Flat("mu")
        log_sigma = pm.Flat("log_sigma")
        pm.Normal("y", mu, pm.math.exp(log_sigma), observed=y)
    dt = fit_laplace(model, random_seed=0)
    s2 = np.mean((y - y.mean()) ** 2)
    np.testing.assert_allclose(dt.fit.mean_vector.values, [y.mean(), 0.5 * np.log(s2)], rtol=1e-9)
    expected = np.diag([s2 / n, 1 / (2 * n)])
    np.testing.assert_allclose(dt.fit.covariance_matrix.values, expected, rtol=1e-6, atol=1e-12)
    assert list(dt.fit.covariance_matrix.coords["rows"].values) == ["mu", "log_sigma"]
    assert dt.posterior.mu.dims == ("chain", "draw")


@pytest.fixture(scope="module")
def german_model() -> pm.Model:
    """The paper's model, the study target: w ~ N(0, 100 I), t ~ Bernoulli(logit⁻¹(X w))."""
    return models.german_credit()


def test_german_credit_covariance_equals_numpy_exact_inverse_hessian(german_model):
    x, t = german_credit()
    dt = fit_laplace(german_model, random_seed=0)

    # independent: Newton's method on the log-posterior, written out in numpy
    w_hat = np.zeros(x.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-x @ w_hat))
        grad = x.T @ (t - p) - w_hat / 100
        hess = x.T @ (x * (p * (1 - p))[:, None]) + np.eye(x.shape[1]) / 100
        w_hat = w_hat + np.linalg.solve(hess, grad)
        if np.max(np.abs(grad)) < 1e-12:
            break
    p = 1 / (1 + np.exp(-x @ w_hat))
    hess = x.T @ (x * (p * (1 - p))[:, None]) + np.eye(x.shape[1]) / 100
    np.testing.assert_allclose(dt.fit.mean_vector.values, w_hat, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(dt.fit.covariance_matrix.values, np.linalg.inv(hess), rtol=1e-6)
    np.testing.assert_allclose(dt.fit.precision_matrix.values, hess, rtol=1e-6)
    assert dt.diagnostics.positive_definite.item()
    assert dt.diagnostics.max_abs_gradient.item() < 1e-6


@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_flat_prior_glm_standard_errors_equal_statsmodels(family):
    import statsmodels.api as sm  # a test dependency: missing is a failure, not a skip

    rng = np.random.default_rng(7)
    x = np.column_stack([np.ones(200), rng.normal(size=(200, 2))])
    beta = np.array([0.3, -0.5, 0.8])
    with pm.Model() as model:
        b = pm.Flat("b", shape=3)
        if family == "binomial":
            y = rng.binomial(1, 1 / (1 + np.exp(-x @ beta))).astype(float)
            pm.Bernoulli("y", logit_p=x @ b, observed=y)
            fam = sm.families.Binomial()
        else:
            y = rng.poisson(np.exp(x @ beta)).astype(float)
            pm.Poisson("y", pm.math.exp(x @ b), observed=y)
            fam = sm.families.Poisson()
    dt = fit_laplace(model, random_seed=0)
    reference = sm.GLM(y, x, family=fam).fit(tol=1e-14)
    se = np.sqrt(np.diag(dt.fit.covariance_matrix.values))
    np.testing.assert_allclose(dt.fit.mean_vector.values, reference.params, rtol=1e-6)
    np.testing.assert_allclose(se, reference.bse, rtol=1e-6)


def poisson_gamma(a: float, b: float, counts: np.ndarray) -> pm.Model:
    with pm.Model() as model:
        lam = pm.Gamma("lam", alpha=a, beta=b)
        pm.Poisson("y", lam, observed=counts)
    return model


# log λ has an exponential left tail under a Gamma posterior: k̂ near 0.7 may warn
@pytest.mark.filterwarnings("ignore::pymc_fisher.laplace.ParetoKWarning")
@pytest.mark.parametrize("jacobian", [True, False])
def test_constrained_parameter_both_jacobian_settings(jacobian):
    # posterior Gamma(A, B) for λ; u = log λ. With the Jacobian, log p(u) = A u − B eᵘ: mode
    # log(A/B), variance 1/A. Without it, the mode of p(λ) is (A − 1)/B and the pulled-back
    # variance is 1/(B λ*) = 1/(A − 1).
    counts = np.array([3.0, 1.0, 4.0, 2.0])
    a, b = 2.0, 1.0
    big_a, big_b = a + counts.sum(), b + len(counts)
    dt = fit_laplace(poisson_gamma(a, b, counts), jacobian=jacobian, random_seed=0)
    shape = big_a if jacobian else big_a - 1
    np.testing.assert_allclose(dt.fit.mean_vector.values, [np.log(shape / big_b)], rtol=1e-9)
    np.testing.assert_allclose(dt.fit.covariance_matrix.values, [[1 / shape]], rtol=1e-6)
    lam = dt.posterior.lam.values
    assert np.all(lam > 0)
    np.testing.assert_allclose(lam, np.exp(dt.unconstrained_posterior.lam_log__.values))
    assert dt.fit.attrs["jacobian"] == int(jacobian)


def test_jacobian_false_mode_is_the_constrained_mode():
    counts = np.array([3.0, 1.0, 4.0, 2.0])
    model = poisson_gamma(2.0, 1.0, counts)
    dt = fit_laplace(model, jacobian=False, random_seed=0)
    lam_star = (2.0 + counts.sum() - 1) / (1.0 + len(counts))
    np.testing.assert_allclose(np.exp(dt.fit.mean_vector.values), [lam_star], rtol=1e-9)


# five observations and an unknown scale: a heavy-tailed posterior, k̂ warns (not under test here)
@pytest.mark.filterwarnings("ignore::pymc_fisher.laplace.ParetoKWarning")
def test_deterministics_are_computed_per_draw():
    y = np.array([0.2, 1.3, -0.4, 0.9, 2.1])
    with pm.Model(coords={"k": ["a", "b"]}) as model:
        mu = pm.Normal("mu", 0.0, 5.0, dims="k")
        sigma = pm.HalfNormal("sigma", 2.0)
        pm.Deterministic("ratio", mu / sigma, dims="k")
        pm.Deterministic("total", mu.sum() + sigma)
        pm.Normal("y", mu.sum(), sigma, observed=y)
    dt = fit_laplace(model, draws=50, chains=2, random_seed=3, on_non_positive_definite="jitter")
    post = dt.posterior
    assert post.ratio.dims == ("chain", "draw", "k")
    assert post.sizes == {"chain": 2, "draw": 50, "k": 2}
    np.testing.assert_allclose(post.ratio, post.mu / post.sigma, rtol=1e-12)
    np.testing.assert_allclose(post.total, post.mu.sum("k") + post.sigma, rtol=1e-12)


def test_observed_and_constant_data_groups():
    with pm.Model() as model:
        x = pm.Data("x", np.array([1.0, 2.0, 3.0]))
        b = pm.Normal("b", 0.0, 1.0)
        pm.Normal("y", b * x, 1.0, observed=np.array([1.1, 1.9, 3.2]))
    dt = fit_laplace(model, random_seed=0)
    np.testing.assert_array_equal(dt.constant_data.x, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(dt.observed_data.y, [1.1, 1.9, 3.2])
    assert {"eigenvalues", "condition_number", "pareto_k", "optimizer_iterations"} <= set(
        dt.diagnostics.data_vars
    )


def ridge_model() -> pm.Model:
    # y ~ N(a + b, 1), a − b has a quartic prior: the negative Hessian at the mode is
    # [[n, n], [n, n]], singular along a − b.
    with pm.Model() as model:
        a = pm.Flat("a")
        b = pm.Flat("b")
        pm.Potential("quartic", -((a - b) ** 4))
        pm.Normal("y", a + b, 1.0, observed=np.array([0.5, 1.5, 1.0]))
    return model


def test_singular_hessian_error_names_the_flat_direction():
    with pytest.raises(NotPositiveDefiniteError, match=r"flat along .*a.*b"):
        fit_laplace(ridge_model(), random_seed=0)


@pytest.mark.parametrize("policy", ["warn", "jitter", "softabs"])
def test_singular_hessian_policies_regularise_and_report(policy):
    # only "warn" warns (filterwarnings=error turns any other warning into a failure); the
    # regularised Gaussian is far wider than the quartic ridge, so the ratios stay bounded
    if policy == "warn":
        with pytest.warns(UserWarning, match=r"not positive definite: flat along .*a.*b"):
            dt = fit_laplace(ridge_model(), on_non_positive_definite=policy, random_seed=0)
    else:
        dt = fit_laplace(ridge_model(), on_non_positive_definite=policy, random_seed=0)
    diag = dt.diagnostics
    assert not diag.positive_definite.item()
    assert diag.attrs["regularization_policy"] == policy
    precision = dt.fit.precision_matrix.values
    assert np.all(np.linalg.eigvalsh(precision) > 0)
    if policy == "softabs":
        assert diag.softabs_alpha.item() == 1e6
        np.testing.assert_allclose(np.linalg.eigvalsh(precision), [1e-6, 6.0], rtol=1e-6)
    else:
        assert diag.regularization.item() > 0
    assert np.all(np.isfinite(dt.posterior.a.values))


def test_mode_not_found_says_how_far_it_got(german_model):
    with pytest.raises(ModeNotFoundError, match=r"after 1 iterations.*max \|∇ log p\|.*last log p"):
        fit_laplace(german_model, maxiter=1)


@pytest.mark.slow  # compiles the expected-information graph of German credit (~5 s warm)
def test_expected_curvature_is_fisher_scoring(german_model):
    # canonical link: expected information = observed, so both give the same Laplace fit
    observed = fit_laplace(german_model, random_seed=0)
    expected = fit_laplace(german_model, curvature="expected", random_seed=0)
    np.testing.assert_allclose(expected.fit.mean_vector, observed.fit.mean_vector, rtol=1e-8)
    np.testing.assert_allclose(
        expected.fit.covariance_matrix, observed.fit.covariance_matrix, rtol=1e-8
    )


def test_pareto_k_large_on_a_skewed_posterior():
    # λ | y=0 ~ Gamma(1, 2): log λ has density ∝ exp(u − 2eᵘ), an exponential left tail the
    # Gaussian cannot follow, so the importance ratios are unbounded (true k = 1; with a
    # Gaussian proposal k ≤ 1 for any bounded density, and k̂ approaches it slowly). Over 30
    # seeds (20000 draws) k̂ had mean 0.64 and sd 0.072: 0.4 is 3.4 sd below (false alarm
    # ≈ 3e-4), and 5 sd above the near-Gaussian case below (mean 0.23, sd 0.077).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParetoKWarning)  # k̂ is near 0.7: it may or may not warn
        dt = fit_laplace(poisson_gamma(1.0, 1.0, np.array([0.0])), draws=20000, random_seed=11)
    assert dt.diagnostics.pareto_k.item() > 0.4


def test_pareto_k_above_threshold_warns(monkeypatch):
    import pymc_fisher.laplace.fit as fit_module

    monkeypatch.setattr(fit_module, "pareto_k", lambda log_ratios: 0.9)
    with pytest.warns(ParetoKWarning, match=r"Pareto k̂ = 0\.90 > 0\.7"):
        dt = fit_laplace(poisson_gamma(2.0, 1.0, np.full(10, 5.0)), random_seed=0)
    assert dt.diagnostics.pareto_k.item() == 0.9


def test_pareto_k_small_on_a_gaussian_posterior():
    # exactly Gaussian (normal mean, known scale, normal prior): constant ratios, k̂ = −∞
    with pm.Model() as exact:
        mu = pm.Normal("mu", 0.0, 3.0)
        pm.Normal("y", mu, 1.0, observed=np.array([0.3, -0.2, 1.1]))
    assert fit_laplace(exact, random_seed=0).diagnostics.pareto_k.item() == -np.inf
    # nearly Gaussian: Gamma(5002, 101) in log λ (skewness ≈ 0.014). Over 30 seeds (4000 draws)
    # k̂ had mean 0.24 and sd 0.08: 0.7 is 5.8 sd above (false alarm < 1e-8).
    dt = fit_laplace(poisson_gamma(2.0, 1.0, np.full(100, 50.0)), draws=4000, random_seed=11)
    assert dt.diagnostics.pareto_k.item() < 0.7


def test_pareto_k_reads_the_right_tail_of_the_ratios():
    # ArviZ's psislw smooths the tail of exp(-input) (LOO's ratios 1/p(y|θ)): a sign slip
    # measures the wrong tail.
    from pymc_fisher.laplace.fit import pareto_k

    # ratios U^(-3/2), U uniform: a Pareto tail of index k = 3/2; their reciprocals U^(3/2)
    # are bounded (k = -3/2). With 4000 draws the tail fit has sd ≈ (1 + k)/√190 ≈ 0.18.
    u = np.random.default_rng(0).uniform(size=4000)
    log_ratios = -1.5 * np.log(u)
    assert 0.8 < pareto_k(log_ratios) < 2.2
    assert pareto_k(-log_ratios) < 0.0


def test_batched_draws_equal_row_by_row_evaluation(german_model):
    # the draws are evaluated in one vectorised call; each row must be what the model's own
    # log density and value graphs give at that row
    import pytensor

    from pymc_fisher.laplace.graphs import laplace_functions

    fns = laplace_functions(german_model, jacobian=True, curvature="observed", mode="FAST_COMPILE")
    rows = np.random.default_rng(3).normal(scale=0.3, size=(5, fns.mg.layout.size))
    *values, logp = fns.draws(rows)
    logp_fn = pytensor.function([fns.mg.theta], fns.mg.logp(), mode="FAST_COMPILE")
    np.testing.assert_allclose(logp, [logp_fn(r) for r in rows], rtol=1e-12)
    assert all(v.shape[0] == 5 for v in values)


def test_too_few_draws_for_a_pareto_tail_give_nan():
    # ArviZ's tail fit needs 5 of the largest ceil(min(n/5, 3√n)) ratios: n ≥ 25
    with pm.Model() as model:
        mu = pm.Normal("mu")
        pm.Normal("y", mu, 1.0, observed=[0.0, 1.0])
    few = fit_laplace(model, draws=24, random_seed=0)
    assert np.isnan(few.diagnostics.pareto_k.item())
    enough = fit_laplace(model, draws=25, random_seed=0)
    assert enough.diagnostics.pareto_k.item() == -np.inf  # the Gaussian posterior is exact
