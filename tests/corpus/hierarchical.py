"""Hierarchical models of the corpus: radon, eight schools, hierarchical logistic, meta-analysis."""

from __future__ import annotations

import numpy as np
import pymc as pm

from tests.corpus.data import EIGHT_SCHOOLS_SIGMA, EIGHT_SCHOOLS_Y, rng, statsmodels_data
from tests.samplers import models as samplers_models


def _radon_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    # Simulated with the structure of Gelman & Hill's Minnesota radon data (log radon, a floor
    # indicator, houses nested in counties of very unequal size): 20 counties, 2-25 houses each.
    g = rng(85)
    n_counties = 20
    sizes = g.integers(2, 26, size=n_counties)
    county = np.repeat(np.arange(n_counties), sizes)
    floor = (g.random(len(county)) < 0.2).astype(float)
    a = g.normal(1.5, 0.35, size=n_counties)
    y = a[county] - 0.65 * floor + g.normal(0.0, 0.75, size=len(county))
    return y, floor, county, n_counties


def radon_centered() -> pm.Model:
    """Varying-intercept radon model, centered.

    Source: Gelman & Hill (2007), ch. 12; PyMC example gallery "A Primer on Bayesian Methods for
    Multilevel Modeling" (Fonnesbeck). Data simulated with a fixed seed following the example's
    generative structure (20 counties, floor indicator); the real radon file is not installed.
    """
    y, floor, county, k = _radon_data()
    with pm.Model() as model:
        mu_a = pm.Normal("mu_a", 0.0, 10.0)
        sigma_a = pm.HalfNormal("sigma_a", 1.0)
        a = pm.Normal("a", mu_a, sigma_a, shape=k)
        b = pm.Normal("b", 0.0, 10.0)
        sigma_y = pm.HalfNormal("sigma_y", 1.0)
        pm.Normal("y", a[county] + b * floor, sigma_y, observed=y)
    return model


def radon_noncentered() -> pm.Model:
    """Varying-intercept radon model, non-centered (``a = mu_a + sigma_a * z``).

    Source: as :func:`radon_centered` (same simulated data).
    """
    y, floor, county, k = _radon_data()
    with pm.Model() as model:
        mu_a = pm.Normal("mu_a", 0.0, 10.0)
        sigma_a = pm.HalfNormal("sigma_a", 1.0)
        z = pm.Normal("z", 0.0, 1.0, shape=k)
        b = pm.Normal("b", 0.0, 10.0)
        sigma_y = pm.HalfNormal("sigma_y", 1.0)
        pm.Normal("y", mu_a + sigma_a * z[county] + b * floor, sigma_y, observed=y)
    return model


def eight_schools_centered() -> pm.Model:
    """Eight schools, centered: the funnel-shaped classic.

    Source: Rubin (1981); Gelman et al., BDA3 section 5.5; Stan case study "Diagnosing Biased
    Inference with Divergences" (Betancourt). Data typed in.
    """
    return samplers_models.eight_schools_centered()


def eight_schools_noncentered() -> pm.Model:
    """Eight schools, non-centered (``theta = mu + tau * theta_tilde``).

    Source: as :func:`eight_schools_centered`.
    """
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 5.0)
        tau = pm.HalfCauchy("tau", 5.0)
        theta_tilde = pm.Normal("theta_tilde", 0.0, 1.0, shape=8)
        pm.Normal("y", mu + tau * theta_tilde, EIGHT_SCHOOLS_SIGMA, observed=EIGHT_SCHOOLS_Y)
    return model


def eight_schools_uniform_tau() -> pm.Model:
    """Eight schools, non-centered, with a uniform prior on the group standard deviation.

    Source: Gelman (2006), "Prior distributions for variance parameters in hierarchical models",
    Bayesian Analysis 1(3), section 5 (uniform prior on tau for the eight schools).
    """
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 5.0)
        tau = pm.Uniform("tau", 0.0, 100.0)
        theta_tilde = pm.Normal("theta_tilde", 0.0, 1.0, shape=8)
        pm.Normal("y", mu + tau * theta_tilde, EIGHT_SCHOOLS_SIGMA, observed=EIGHT_SCHOOLS_Y)
    return model


def _logistic_groups() -> tuple[np.ndarray, np.ndarray, int]:
    # Simulated like the rat-tumour experiments of BDA3 section 5.3 (many small binomial groups
    # with logit-normal success rates): 30 groups of 10-50 trials.
    g = rng(71)
    k = 30
    trials = g.integers(10, 51, size=k)
    p = 1.0 / (1.0 + np.exp(-g.normal(-1.0, 0.6, size=k)))
    return g.binomial(trials, p), trials, k


def hierarchical_logistic_centered() -> pm.Model:
    """Hierarchical logistic (binomial) model with 30 groups, centered.

    Source: Gelman et al., BDA3 section 5.3 (rat tumours), written on the logit scale as in the
    Stan case study "Hierarchical Partial Pooling for Repeated Binary Trials" (Carpenter). Data
    simulated with a fixed seed following that structure.
    """
    successes, trials, k = _logistic_groups()
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 2.0)
        sigma = pm.HalfNormal("sigma", 1.0)
        alpha = pm.Normal("alpha", mu, sigma, shape=k)
        pm.Binomial("y", n=trials, logit_p=alpha, observed=successes)
    return model


def hierarchical_logistic_noncentered() -> pm.Model:
    """Hierarchical logistic model with 30 groups, non-centered.

    Source: as :func:`hierarchical_logistic_centered` (same simulated data).
    """
    successes, trials, k = _logistic_groups()
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 2.0)
        sigma = pm.HalfNormal("sigma", 1.0)
        z = pm.Normal("z", 0.0, 1.0, shape=k)
        pm.Binomial("y", n=trials, logit_p=mu + sigma * z, observed=successes)
    return model


def smoking_meta_analysis() -> pm.Model:
    """Random-effects meta-analysis of the smoking / lung-cancer odds ratio in eight Chinese cities.

    Source: Agresti, "Categorical Data Analysis" (2002), table 6.12; statsmodels'
    ``china_smoking`` dataset (installed). Binomial cases among smokers and non-smokers per city,
    a city-level baseline and a normally varying log odds ratio (BDA3 section 5.6 structure).
    """
    df = statsmodels_data("china_smoking")
    smokers = (df["smoking_yes_cancer_yes"] + df["smoking_yes_cancer_no"]).to_numpy()
    nonsmokers = (df["smoking_no_cancer_yes"] + df["smoking_no_cancer_no"]).to_numpy()
    k = len(df)
    with pm.Model() as model:
        baseline = pm.Normal("baseline", 0.0, 2.0, shape=k)
        d = pm.Normal("d", 0.0, 1.0)
        tau = pm.HalfNormal("tau", 0.5)
        delta_z = pm.Normal("delta_z", 0.0, 1.0, shape=k)
        log_or = d + tau * delta_z
        pm.Binomial(
            "cases_smokers",
            n=smokers,
            logit_p=baseline + log_or,
            observed=df["smoking_yes_cancer_yes"].to_numpy(),
        )
        pm.Binomial(
            "cases_nonsmokers",
            n=nonsmokers,
            logit_p=baseline,
            observed=df["smoking_no_cancer_yes"].to_numpy(),
        )
    return model


def neals_funnel() -> pm.Model:
    """Neal's funnel in 10 dimensions: a prior only (no observed variables).

    Source: Neal (2003), "Slice sampling", Annals of Statistics 31(3), section 8; Stan User's
    Guide, "Reparameterization".
    """
    with pm.Model() as model:
        v = pm.Normal("v", 0.0, 3.0)
        pm.Normal("x", 0.0, pm.math.exp(v / 2), shape=9)
    return model
