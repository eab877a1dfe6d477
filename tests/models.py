"""Shared models with known answers."""

from __future__ import annotations

import numpy as np
import pymc as pm


def funnel(d: int = 5) -> pm.Model:
    """Neal's funnel v ~ N(0, 3), x_i ~ N(0, exp(v/2)).

    Its Fisher metric is diag(1/9 + (d−1)/2, e^{−v} I).
    """
    with pm.Model() as model:
        v = pm.Normal("v", 0.0, 3.0)
        pm.Normal("x", 0.0, pm.math.exp(v / 2), shape=d - 1)
    return model


def logistic_regression(X: np.ndarray, y: np.ndarray, prior_variance: float) -> pm.Model:
    """Bayesian logistic regression, w ~ N(0, αI): metric Xᵀ diag(p(1−p)) X + I/α."""
    with pm.Model() as model:
        w = pm.Normal("w", 0.0, np.sqrt(prior_variance), shape=X.shape[1])
        pm.Bernoulli("y", logit_p=X @ w, observed=y)
    return model


def normal_model(y: np.ndarray) -> pm.Model:
    """Normal with unknown mean and scale (HalfNormal prior: log transform)."""
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 10.0)
        sigma = pm.HalfNormal("sigma", 2.0)
        pm.Normal("y", mu, sigma, observed=y)
    return model


def design(n: int, k: int, seed: int = 0) -> np.ndarray:
    """A design matrix with an intercept column and k − 1 standard normal covariates."""
    rng = np.random.default_rng(seed)
    return np.column_stack([np.ones(n), rng.normal(size=(n, k - 1))])
