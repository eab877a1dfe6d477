"""Multivariate models of the corpus: GP regression, mixtures, Dirichlet-multinomial, LKJ."""

from __future__ import annotations

import numpy as np
import pymc as pm

from tests.corpus.data import rng


def gp_regression() -> pm.Model:
    """Gaussian-process regression with an ExpQuad kernel, marginal likelihood (n = 20).

    Source: PyMC example gallery "Marginal Likelihood Implementation" (``pm.gp.Marginal``); data:
    20 points simulated with a fixed seed from a GP with lengthscale 1, amplitude 1, noise 0.3.
    """
    g = rng(20)
    x = np.sort(g.uniform(0.0, 10.0, size=20))[:, None]
    d = x - x.T
    k = np.exp(-0.5 * d**2) + 1e-8 * np.eye(20)
    y = np.linalg.cholesky(k) @ g.normal(size=20) + 0.3 * g.normal(size=20)
    with pm.Model() as model:
        ell = pm.Gamma("ell", 2.0, 1.0)
        eta = pm.HalfNormal("eta", 2.0)
        sigma = pm.HalfNormal("sigma", 1.0)
        gp = pm.gp.Marginal(cov_func=eta**2 * pm.gp.cov.ExpQuad(1, ell))
        gp.marginal_likelihood("y", X=x, y=y, sigma=sigma)
    return model


def gaussian_mixture() -> pm.Model:
    """Two-component Gaussian mixture with Dirichlet weights and ordered means.

    Source: PyMC example gallery "Gaussian Mixture Model"; Stan User's Guide, "Finite mixtures"
    (ordered locations to break label switching). Data: 200 points simulated with a fixed seed
    from 0.35 N(-1.5, 0.7) + 0.65 N(2, 1).
    """
    g = rng(200)
    z = g.random(200) < 0.35
    y = np.where(z, g.normal(-1.5, 0.7, size=200), g.normal(2.0, 1.0, size=200))
    with pm.Model() as model:
        w = pm.Dirichlet("w", a=np.ones(2))
        mu = pm.Normal(
            "mu",
            mu=np.array([-1.0, 1.0]),
            sigma=3.0,
            transform=pm.distributions.transforms.ordered,
            initval=np.array([-1.0, 1.0]),
        )
        sigma = pm.HalfNormal("sigma", 2.0, shape=2)
        pm.NormalMixture("y", w=w, mu=mu, sigma=sigma, observed=y)
    return model


def dirichlet_multinomial() -> pm.Model:
    """Dirichlet-multinomial counts of tree species over forest plots.

    Source: PyMC example gallery "Dirichlet-multinomial distribution" (Harris); data simulated
    with a fixed seed following the example: 5 species, 10 plots of 100 trees, true fractions
    (0.4, 0.25, 0.15, 0.15, 0.05), concentration 10.
    """
    g = rng(5)
    frac = np.array([0.4, 0.25, 0.15, 0.15, 0.05])
    p = g.dirichlet(10.0 * frac, size=10)
    counts = np.array([g.multinomial(100, pi) for pi in p])
    with pm.Model() as model:
        fractions = pm.Dirichlet("fractions", a=np.ones(5))
        concentration = pm.LogNormal("concentration", 1.0, 1.0)
        pm.DirichletMultinomial("counts", n=100, a=fractions * concentration, shape=(10, 5),
                                observed=counts)  # fmt: skip
    return model


def lkj_mvnormal() -> pm.Model:
    """Multivariate normal with an LKJ prior on the Cholesky factor of its covariance.

    Source: PyMC example gallery "LKJ Cholesky Covariance Priors for Multivariate Normal Models";
    data: 100 draws from a 3-dimensional normal simulated with a fixed seed (correlations 0.5,
    -0.3, 0.2; scales 1, 2, 0.5), as in the example.
    """
    g = rng(3)
    sd = np.array([1.0, 2.0, 0.5])
    corr = np.array([[1.0, 0.5, -0.3], [0.5, 1.0, 0.2], [-0.3, 0.2, 1.0]])
    data = g.multivariate_normal(np.array([1.0, -1.0, 0.0]), corr * np.outer(sd, sd), size=100)
    with pm.Model() as model:
        chol, _, _ = pm.LKJCholeskyCov(
            "chol", n=3, eta=2.0, sd_dist=pm.Exponential.dist(1.0, shape=3), compute_corr=True
        )
        mu = pm.Normal("mu", 0.0, 5.0, shape=3)
        pm.MvNormal("obs", mu=mu, chol=chol, observed=data)
    return model
