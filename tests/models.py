"""The test models with known answers: one home for every test and benchmark.

Where a model is also a study target (``pymc_fisher.bench.targets``: the funnel, eight schools,
German credit), the target's own builder is the test model, so a test and a study sample the
same thing. ``tests/samplers/models.py`` re-exports these names for the sampler tests.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op

from pymc_fisher.bench.targets import (
    EIGHT_SCHOOLS_SIGMA,
    EIGHT_SCHOOLS_Y,
    eight_schools_centered,
    eight_schools_noncentered,
    funnel,
    german_credit,
)

__all__ = [
    "EIGHT_SCHOOLS_SIGMA",
    "EIGHT_SCHOOLS_Y",
    "correlated_gaussian",
    "design",
    "eight_schools_centered",
    "eight_schools_noncentered",
    "eight_schools_reference",
    "funnel",
    "gaussian",
    "german_credit",
    "hierarchical_logistic",
    "iid_gaussian",
    "logistic_regression",
    "normal_model",
    "quickstart_logistic",
]


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


class PythonOnlyLogCosh(Op):
    """``log cosh x`` elementwise with a Python ``perform`` only: Numba runs it in object mode.

    The model functions that hold it have no body the compiled kernel can call (the fallback's
    tests); its gradient ``tanh x`` is an ordinary graph.
    """

    __props__ = ()

    def make_node(self, x):  # type: ignore[no-untyped-def]
        x = pt.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, outputs):  # type: ignore[no-untyped-def]
        outputs[0][0] = np.log(np.cosh(inputs[0]))

    def pullback(self, inputs, outputs, cotangents):  # type: ignore[no-untyped-def]
        return [cotangents[0] * pt.tanh(inputs[0])]


def python_op_model() -> pm.Model:
    """x ~ N(0, I₂) with a Potential through :class:`PythonOnlyLogCosh` (no Numba body)."""
    with pm.Model() as model:
        x = pm.Normal("x", 0.0, 1.0, shape=2)
        pm.Potential("p", -0.01 * PythonOnlyLogCosh()(x).sum())
    return model
