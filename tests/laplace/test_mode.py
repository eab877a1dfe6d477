"""The mode search: out-of-support trial points, and densities without a mode."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest

from pymc_fisher import ModeNotFoundError
from pymc_fisher.laplace import fit_laplace
from pymc_fisher.laplace.graphs import laplace_functions
from pymc_fisher.laplace.mode import find_mode
from tests.samplers.models import eight_schools_centered


def untransformed_scale(sum_of_squares: float, n: int) -> pm.Model:
    """σ without a transform, flat on σ > 0; y ~ N(0, σ) with Σy² = sum_of_squares."""
    y = np.full(n, np.sqrt(sum_of_squares / n))
    with pm.Model() as model:
        sigma = pm.HalfFlat("sigma", default_transform=None)
        pm.Normal("y", 0.0, sigma, observed=y)
    return model


def test_out_of_support_point_is_minus_infinity_not_an_error():
    # PyMC's Normal raises ParameterValueError at σ < 0 unless compiled as its samplers are
    fns = laplace_functions(untransformed_scale(4.0, 10), jacobian=True, curvature="observed")
    logp, _ = fns.logp_grad(np.array([-1.0]))
    assert logp == -np.inf
    *_, logps = fns.draws(np.array([[-1.0], [2.0]]))
    assert logps[0] == -np.inf
    assert np.isfinite(logps[1])


def test_newton_step_that_leaves_the_support_is_backtracked():
    # log p(σ) = −n log σ − S/(2σ²): mode √(S/n), variance σ̂²/(2n). From the start σ = 1 with
    # r = S/n = 0.4 the curvature is negative (3r > 1) and the pure Newton step is
    # (r − 1)/(3r − 1) = −3: the first trial point, σ = −2, is outside the support.
    n, r = 400, 0.4  # n large: a nearly Gaussian posterior (k̂ far below 0.7)
    newton_trial = 1.0 + (r - 1.0) / (3.0 * r - 1.0)
    assert newton_trial < 0.0
    model = untransformed_scale(r * n, n)
    assert model.initial_point()["sigma"] == 1.0
    dt = fit_laplace(model, random_seed=0)
    mode = np.sqrt(r)
    np.testing.assert_allclose(dt.fit.mean_vector.values, [mode], rtol=1e-10)
    np.testing.assert_allclose(dt.fit.covariance_matrix.values, [[mode**2 / (2 * n)]], rtol=1e-8)


def ar_design(y: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows (y[t−1], …, y[t−p]) and targets y[t] for t = p, …, n − 1."""
    lags = np.column_stack([y[p - k : len(y) - k] for k in range(1, p + 1)])
    return lags, y[p:]


def test_ar5_mode_is_the_conditional_mle_of_statsmodels():
    # flat priors and jacobian=False: the mode is the conditional MLE (the initial values'
    # density does not involve ρ or σ), which AutoReg computes by OLS: ρ̂ = (XᵀX)⁻¹Xᵀy,
    # σ̂² = RSS/m, and cov(ρ̂) = σ̂² (XᵀX)⁻¹ (the Hessian's ρ block; its σ block is orthogonal)
    from statsmodels.tsa import ar_model  # a test dependency: missing is a failure

    rng = np.random.default_rng(5)
    truth = np.array([0.5, -0.2, 0.1, 0.05, -0.1])
    y = np.zeros(260)
    for t in range(5, len(y)):
        y[t] = truth @ y[t - 5 : t][::-1] + rng.normal()
    y = y[60:]  # 200 points past the burn-in
    with pm.Model() as model:
        rho = pm.Flat("rho", shape=5)
        sigma = pm.HalfFlat("sigma")
        pm.AR(
            "y", rho=rho, sigma=sigma, init_dist=pm.Normal.dist(0, 10), constant=False, observed=y
        )
    dt = fit_laplace(model, jacobian=False, random_seed=0)
    reference = ar_model.AutoReg(y, lags=5, trend="n").fit()
    mean = dt.fit.mean_vector.values
    np.testing.assert_allclose(mean[:5], reference.params, rtol=1e-7)
    np.testing.assert_allclose(np.exp(2 * mean[5]), reference.sigma2, rtol=1e-7)
    se = np.sqrt(np.diag(dt.fit.covariance_matrix.values))[:5]
    np.testing.assert_allclose(se, reference.bse, rtol=1e-6)


def test_ar5_with_a_newton_step_out_of_the_support_fits():
    # the AR(5) on an almost deterministic series: with jacobian=False a Newton step
    # sends log σ to −1417 (σ = 0) and PyMC's Normal used to raise "sigma > 0". At the mode,
    # ρ̂ given σ̂ is the ridge solution (XᵀX + σ̂²/0.5² I)⁻¹ Xᵀy of the N(0, 0.5) prior.
    t = np.arange(200)
    y = np.sin(t / 3) + 0.01 * np.random.default_rng(0).normal(size=200)
    with pm.Model() as model:
        rho = pm.Normal("rho", 0, 0.5, shape=5)
        sigma = pm.HalfNormal("sigma", 1)
        pm.AR(
            "y", rho=rho, sigma=sigma, init_dist=pm.Normal.dist(0, 10), constant=False, observed=y
        )
    dt = fit_laplace(model, jacobian=False, random_seed=0)
    assert dt.diagnostics.optimizer_converged.item()
    mean = dt.fit.mean_vector.values
    sigma_hat = np.exp(mean[5])
    x, target = ar_design(y, 5)
    ridge = np.linalg.solve(x.T @ x + sigma_hat**2 / 0.25 * np.eye(5), x.T @ target)
    np.testing.assert_allclose(mean[:5], ridge, rtol=1e-7)


@pytest.mark.parametrize("jacobian", [True, False])
def test_centered_eight_schools_has_no_mode_and_says_tau(jacobian):
    # with θ = μ, log p = −(8 − jacobian) log τ + const → +∞ as log τ → −∞ (Neal's funnel)
    with pytest.raises(ModeNotFoundError, match=r"no mode.*tau_log__ decreasing") as info:
        fit_laplace(eight_schools_centered(), jacobian=jacobian, random_seed=0)
    message = str(info.value)
    assert "non-centered" in message
    assert "MCMC" in message
    assert ("jacobian=False" in message) == jacobian
    runaway = info.value.runaway
    assert runaway is not None
    assert np.all(np.diff(runaway.logps) > 0)


def test_numeric_core_rejects_non_finite_trial_points():
    # log p = log x − x on x > 0 (mode 1), −∞ elsewhere; from x = 3 the Newton step is
    # x²(1/x − 1) = −6: trial x = −3, outside the support
    calls = []

    def logp_grad(x):
        calls.append(float(x[0]))
        if x[0] <= 0:
            return -np.inf, np.array([np.nan])
        return float(np.log(x[0]) - x[0]), np.array([1 / x[0] - 1])

    def curvature(x):
        return np.array([[1 / x[0] ** 2]])

    result = find_mode(logp_grad, curvature, np.array([3.0]), gtol=1e-12)
    assert calls[1] == pytest.approx(-3.0)
    np.testing.assert_allclose(result.theta, [1.0], rtol=1e-10)


def test_numeric_core_names_the_unbounded_coordinate():
    # one school of a centered hierarchy, v = log τ: log p = −(θ − 1)²/2 − θ² e^{−2v}/2 − v,
    # which at θ = 0 is −1/2 − v → +∞ as v → −∞
    def logp_grad(x):
        theta, v = x
        with np.errstate(over="ignore", invalid="ignore"):
            e = np.exp(-2 * v)
            logp = -((theta - 1) ** 2) / 2 - theta**2 * e / 2 - v
            return float(logp), np.array([-(theta - 1) - theta * e, theta**2 * e - 1])

    def curvature(x):
        theta, v = x
        e = np.exp(-2 * v)
        return np.array([[1 + e, -2 * theta * e], [-2 * theta * e, 2 * theta**2 * e]])

    with pytest.raises(ModeNotFoundError, match=r"along v decreasing") as info:
        find_mode(logp_grad, curvature, np.zeros(2), labels=("theta", "v"), advice="Hint.")
    assert str(info.value).endswith("Hint.")
    np.testing.assert_array_equal(info.value.runaway.direction, [0.0, -1.0])


def lasso(y: np.ndarray, b: float) -> pm.Model:
    """``β ~ Laplace(0, b)``, ``y ~ N(β, 1)``: the mode is β = 0 when ``|Σy| < 1/b``."""
    with pm.Model() as model:
        beta = pm.Laplace("beta", 0.0, b, initval=1.0)
        pm.Normal("y", beta, 1.0, observed=y)
    return model


def test_a_mode_at_a_laplace_prior_kink_is_named():
    # log p = −Σ(yᵢ − β)²/2 − |β|/b with Σy = 0.5 < 1/b = 2: ∂ log p jumps from 0.5 + 2 just
    # below 0 to 0.5 − 2 just above, so the mode is the kink β = 0, with no Hessian there
    y = np.array([0.3, -0.1, 0.2, 0.0, 0.1])
    with pytest.raises(ModeNotFoundError, match=r"not differentiable.*along beta") as info:
        fit_laplace(lasso(y, 0.5), random_seed=0)
    assert "MCMC" in str(info.value)
    (kink,) = info.value.kinks
    assert info.value.runaway is None
    np.testing.assert_allclose([kink.left, kink.right], [2.5, -1.5], atol=1e-5)


def test_a_smooth_mode_next_to_a_kink_still_fits():
    # Σy = 5 > 1/b: the mode β = 5/5 − 2/5 = 0.6 is away from the kink; Newton converges there
    y = np.full(5, 1.0)
    dt = fit_laplace(lasso(y, 0.5), random_seed=0)
    np.testing.assert_allclose(dt.fit.mean_vector.values, [0.6], rtol=1e-9)
    np.testing.assert_allclose(dt.fit.covariance_matrix.values, [[0.2]], rtol=1e-9)


def test_numeric_core_tells_a_kink_from_a_smooth_stall():
    # log p = −|x| − x²: a kink at 0. A smooth maximum at the same place (−x²) converges.
    def kinked(x):
        return float(-abs(x[0]) - x[0] ** 2), np.array([-np.sign(x[0]) - 2 * x[0]])

    def curvature(x):
        return np.array([[2.0]])

    with pytest.raises(ModeNotFoundError, match="along x") as info:
        find_mode(kinked, curvature, np.array([0.7]), labels=("x",), maxiter=50)
    assert [k.coordinate for k in info.value.kinks] == [0]
    smooth = find_mode(lambda x: (float(-(x[0] ** 2)), -2 * x), curvature, np.array([0.7]))
    assert smooth.converged
