"""Time-series models of the corpus: stochastic volatility, AR, GARCH, change point, local level."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt

from tests.corpus.data import coal_mining, rng, statsmodels_data, stochvol_returns


def stochastic_volatility() -> pm.Model:
    """Stochastic volatility: a Gaussian random walk of log-volatility, Student-t returns.

    Source: PyMC example gallery "Stochastic Volatility model" (Hoffman & Gelman 2014, NUTS paper,
    section 5.3); data: the first 100 returns of Girolami & Calderhead's (2011) simulated series
    (``pymc_fisher/bench/gc2011``).
    """
    returns = stochvol_returns(100)
    with pm.Model() as model:
        step_size = pm.Exponential("step_size", 10.0)
        volatility = pm.GaussianRandomWalk(
            "volatility", sigma=step_size, init_dist=pm.Normal.dist(0.0, 1.0), shape=len(returns)
        )
        nu = pm.Exponential("nu", 0.1)
        pm.StudentT("returns", nu=nu, lam=pm.math.exp(-2.0 * volatility), observed=returns)
    return model


def stochastic_volatility_noncentered() -> pm.Model:
    """Stochastic volatility, non-centered: the random walk built from standard-normal innovations.

    Source: as :func:`stochastic_volatility` (same data); the non-centered random walk of the Stan
    User's Guide, "Stochastic volatility models" (``h = h_std * sigma``).
    """
    returns = stochvol_returns(100)
    with pm.Model() as model:
        step_size = pm.Exponential("step_size", 10.0)
        init = pm.Normal("init", 0.0, 1.0)
        innovations = pm.Normal("innovations", 0.0, 1.0, shape=len(returns) - 1)
        volatility = pt.concatenate([init[None], init + pt.cumsum(step_size * innovations)])
        nu = pm.Exponential("nu", 0.1)
        pm.StudentT("returns", nu=nu, lam=pm.math.exp(-2.0 * volatility), observed=returns)
    return model


def _sunspots(n: int) -> np.ndarray:
    y = statsmodels_data("sunspots")["SUNACTIVITY"].to_numpy()[:n]
    return (y - y.mean()) / y.std(ddof=1)


def ar5_sunspots() -> pm.Model:
    """AR(5) regression on lagged values of the yearly sunspot numbers (conditional likelihood).

    Source: Yule (1927); Stan User's Guide, "Autoregressive models" (AR(K) written as a regression
    on lags); data: ``sunspots`` shipped by statsmodels, 1700-1899, standardised.
    """
    y = _sunspots(200)
    k = 5
    lags = np.column_stack([y[k - j - 1 : len(y) - j - 1] for j in range(k)])
    with pm.Model() as model:
        alpha = pm.Normal("alpha", 0.0, 1.0)
        rho = pm.Normal("rho", 0.0, 1.0, shape=k)
        sigma = pm.HalfNormal("sigma", 1.0)
        pm.Normal("y", alpha + lags @ rho, sigma, observed=y[k:])
    return model


def ar2_distribution() -> pm.Model:
    """AR(2) with a constant, written with PyMC's ``pm.AR`` distribution on the observed series.

    Source: PyMC example gallery "Analysis of An AR(1) Model in PyMC" / ``pm.AR`` docs; data:
    ``sunspots`` shipped by statsmodels, 1700-1799, standardised.
    """
    y = _sunspots(100)
    with pm.Model() as model:
        rho = pm.Normal("rho", 0.0, 1.0, shape=3)
        sigma = pm.HalfNormal("sigma", 1.0)
        pm.AR("y", rho=rho, sigma=sigma, constant=True, ar_order=2,
              init_dist=pm.Normal.dist(0.0, 2.0), observed=y)  # fmt: skip
    return model


def _garch_returns(n: int) -> np.ndarray:
    g = rng(2011)
    r = np.empty(n)
    var = 0.1 / (1 - 0.15 - 0.75)
    for t in range(n):
        r[t] = np.sqrt(var) * g.normal()
        var = 0.1 + 0.15 * r[t] ** 2 + 0.75 * var
    return r


def garch11() -> pm.Model:
    """GARCH(1,1) volatility, written with a PyTensor scan; ``beta1 ~ Uniform(0, 1 - alpha1)``.

    Source: Stan User's Guide, "Time-series models: GARCH(1,1)" (Bollerslev 1986), including its
    parameter-dependent bound on beta1. Data: 200 returns simulated with a fixed seed from a
    GARCH(1,1) with alpha0 = 0.1, alpha1 = 0.15, beta1 = 0.75.
    """
    r = _garch_returns(200)
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 1.0)
        alpha0 = pm.HalfNormal("alpha0", 1.0)
        alpha1 = pm.Uniform("alpha1", 0.0, 1.0)
        beta1 = pm.Uniform("beta1", 0.0, 1.0 - alpha1)
        shocks = pt.as_tensor(r[:-1]) - mu

        def step(shock, var, a0, a1, b1):
            return a0 + a1 * shock**2 + b1 * var

        variances = pytensor.scan(
            step,
            sequences=[shocks],
            outputs_info=[pt.as_tensor(float(np.var(r)))],
            non_sequences=[alpha0, alpha1, beta1],
            return_updates=False,
        )
        sigma = pt.sqrt(pt.concatenate([pt.as_tensor([float(np.var(r))]), variances]))
        pm.Normal("r", mu, sigma, observed=r)
    return model


def coal_mining_changepoint() -> pm.Model:
    """Coal-mining disasters with a continuous switchpoint (a smooth step between two rates).

    Source: PyMC "Getting started" notebook (Jarrett 1979 data, typed in), with the discrete
    switchpoint replaced by ``Uniform(1851, 1962)`` and a steep sigmoid so that the posterior is
    differentiable (as in the Stan User's Guide, "Change point models", which marginalises it).
    """
    years, counts = coal_mining()
    with pm.Model() as model:
        switchpoint = pm.Uniform("switchpoint", years.min(), years.max())
        early_rate = pm.Exponential("early_rate", 1.0)
        late_rate = pm.Exponential("late_rate", 1.0)
        weight = pm.math.sigmoid(2.0 * (years - switchpoint))
        rate = (1.0 - weight) * early_rate + weight * late_rate
        pm.Poisson("disasters", rate, observed=counts)
    return model


def nile_local_level() -> pm.Model:
    """Local-level model of the Nile's annual flow: a Gaussian random walk observed with noise.

    Source: Durbin & Koopman (2012), "Time Series Analysis by State Space Methods", ch. 2; data
    ``nile`` shipped by statsmodels (1871-1970, in units of 100 · 10⁸ m³).
    """
    y = statsmodels_data("nile")["volume"].to_numpy() / 100.0
    with pm.Model() as model:
        sigma_level = pm.HalfNormal("sigma_level", 1.0)
        sigma_obs = pm.HalfNormal("sigma_obs", 2.0)
        level = pm.GaussianRandomWalk(
            "level", sigma=sigma_level, init_dist=pm.Normal.dist(10.0, 3.0), shape=len(y)
        )
        pm.Normal("flow", level, sigma_obs, observed=y)
    return model
