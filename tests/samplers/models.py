"""Shared test models with known answers for the RMHMC tests and benchmarks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pymc as pm

EIGHT_SCHOOLS_Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
EIGHT_SCHOOLS_SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])


def gaussian(mean: np.ndarray, cov: np.ndarray) -> pm.Model:
    with pm.Model() as model:
        pm.MvNormal("x", mu=mean, cov=cov)
    return model


def iid_gaussian(d: int = 5) -> pm.Model:
    with pm.Model() as model:
        pm.Normal("x", 0.0, 1.0, shape=d)
    return model


def correlated_gaussian(d: int = 5, rho: float = 0.95) -> tuple[pm.Model, np.ndarray]:
    """N(0, Σ) with Σ_ij = ρ^|i-j| scaled by 1..d: condition number in the thousands."""
    idx = np.arange(d)
    scale = np.linspace(1.0, 10.0, d)
    cov = rho ** np.abs(idx[:, None] - idx[None, :]) * np.outer(scale, scale)
    return gaussian(np.zeros(d), cov), cov


def funnel(d: int = 10) -> pm.Model:
    """Neal's funnel: v ~ N(0, 3²), x_i | v ~ N(0, e^{v/2}) (variance e^v), i < d."""
    with pm.Model() as model:
        v = pm.Normal("v", 0.0, 3.0)
        pm.Normal("x", 0.0, pm.math.exp(v / 2), shape=d - 1)
    return model


def eight_schools_centered() -> pm.Model:
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 5.0)
        tau = pm.HalfCauchy("tau", 5.0)
        theta = pm.Normal("theta", mu, tau, shape=8)
        pm.Normal("y", theta, EIGHT_SCHOOLS_SIGMA, observed=EIGHT_SCHOOLS_Y)
    return model


def eight_schools_noncentered() -> pm.Model:
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 5.0)
        tau = pm.HalfCauchy("tau", 5.0)
        z = pm.Normal("z", 0.0, 1.0, shape=8)
        pm.Deterministic("theta", mu + tau * z)
        pm.Normal("y", mu + tau * z, EIGHT_SCHOOLS_SIGMA, observed=EIGHT_SCHOOLS_Y)
    return model


def quickstart_logistic() -> pm.Model:
    """The README's quickstart: logistic regression, 3 coefficients, 200 observations."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = rng.random(200) < 1 / (1 + np.exp(-x @ [0.5, -1.0, 0.2]))
    with pm.Model(coords={"coef": ["a", "b", "c"]}) as model:
        beta = pm.Normal("beta", 0, 10, dims="coef")
        pm.Bernoulli("y", logit_p=x @ beta, observed=y)
    return model


def hierarchical_logistic(centered: bool, groups: int = 30, per_group: int = 10) -> pm.Model:
    """Varying-intercept logistic regression (Gelman & Hill ch. 14 structure), simulated data.

    Small groups (10 observations each) and a moderate group scale put the centered model in
    the funnel regime that NUTS finds hard.
    """
    rng = np.random.default_rng(42)
    g = np.repeat(np.arange(groups), per_group)
    x = rng.normal(size=g.size)
    alpha_true = rng.normal(0.0, 0.5, size=groups)
    y = rng.random(g.size) < 1 / (1 + np.exp(-(alpha_true[g] + 0.8 * x)))
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 2.0)
        sigma = pm.HalfNormal("sigma", 1.0)
        beta = pm.Normal("beta", 0.0, 2.0)
        if centered:
            alpha = pm.Normal("alpha", mu, sigma, shape=groups)
        else:
            z = pm.Normal("z", 0.0, 1.0, shape=groups)
            alpha = pm.Deterministic("alpha", mu + sigma * z)
        pm.Bernoulli("y", logit_p=alpha[g] + beta * x, observed=y)
    return model


def german_credit_data(root: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Design ``[1, Z]`` (Z standardised, ddof=1) and labels t in {0, 1} (Girolami & Calderhead)."""
    root = root or Path(__file__).resolve().parents[3] / "shared" / "data" / "gc2011"
    raw = np.genfromtxt(root / "german.csv", delimiter=",", names=True)
    cols = [f"A{i}" for i in range(1, 25)]
    z = np.column_stack([raw[c] for c in cols]).astype(float)
    z = (z - z.mean(axis=0)) / z.std(axis=0, ddof=1)
    x = np.column_stack([np.ones(len(z)), z])
    return x, raw["y_raw"].astype(float) - 1.0


def german_credit(root: Path | None = None) -> pm.Model:
    """Bayesian logistic regression, prior w ~ N(0, 100 I), d = 25."""
    x, t = german_credit_data(root)
    with pm.Model() as model:
        w = pm.Normal("w", 0.0, 10.0, shape=x.shape[1])
        pm.Bernoulli("t", logit_p=pm.math.dot(x, w), observed=t)
    return model


def eight_schools_reference() -> dict[str, float]:
    """Exact posterior moments of (mu, tau, log tau) for the centered eight schools model.

    θ integrates out analytically (y_j | mu, tau ~ N(mu, σ_j² + τ²)); the remaining 2-d posterior
    is integrated on a fine grid in (mu, log tau): quadrature error is far below any MCSE.
    """
    from scipy.special import logsumexp

    mu = np.linspace(-40.0, 50.0, 1801)[:, None]
    log_tau = np.linspace(-12.0, 7.0, 3001)[None, :]
    tau = np.exp(log_tau)
    var = EIGHT_SCHOOLS_SIGMA[:, None, None] ** 2 + tau[None] ** 2
    loglik = -0.5 * np.sum(
        np.log(var) + (EIGHT_SCHOOLS_Y[:, None, None] - mu[None]) ** 2 / var, axis=0
    )
    # N(0, 5²) on mu; HalfCauchy(5) on tau, times the Jacobian tau of the log transform.
    logpost = loglik - 0.5 * (mu / 5.0) ** 2 - np.log1p((tau / 5.0) ** 2) + log_tau
    w = np.exp(logpost - logsumexp(logpost))
    out = {}
    for name, f in (("mu", mu + 0 * tau), ("tau", tau + 0 * mu), ("tau_log__", log_tau + 0 * mu)):
        m = float(np.sum(w * f))
        out[f"{name}_mean"] = m
        out[f"{name}_sd"] = float(np.sqrt(np.sum(w * (f - m) ** 2)))
    return out
