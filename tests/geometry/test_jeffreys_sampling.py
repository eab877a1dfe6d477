"""pm.sample on a Jeffreys-prior model (slow tier).

The posterior mean and sd of p under Jeffreys' prior for k successes in n Bernoulli trials are
those of Beta(k + ½, n − k + ½). Each check allows ``z · MCSE`` (ArviZ, bulk-ESS based) with
``z`` Bonferroni-corrected so the test raises a false alarm with probability 0.001 when NUTS
samples the exact posterior (and requires a bulk ESS of 100 so the MCSE estimate is sound).
"""

import numpy as np
import pymc as pm
import pytest
from scipy import stats

from pymc_fisher.geometry import jeffreys_prior

pytestmark = pytest.mark.slow

FALSE_ALARM = 0.001


def test_nuts_samples_beta_half_posterior():
    import arviz_stats

    k, n = 2, 9
    with pm.Model() as model:
        p = pm.Uniform("p", 0.0, 1.0)
        pm.Bernoulli("y", p=p, observed=np.r_[np.ones(k), np.zeros(n - k)])
    with jeffreys_prior(model):
        idata = pm.sample(
            draws=1000, tune=1000, chains=2, cores=1, random_seed=5,
            progressbar=False, compute_convergence_checks=False,
        )  # fmt: skip
    draws = idata.posterior["p"]
    target = stats.beta(k + 0.5, n - k + 0.5)
    z = stats.norm.ppf(1 - FALSE_ALARM / (2 * 2))
    assert float(arviz_stats.ess(draws, method="bulk")) >= 100
    mean_tol = z * float(arviz_stats.mcse(draws, method="mean"))
    sd_tol = z * float(arviz_stats.mcse(draws, method="sd"))
    assert abs(float(draws.mean()) - target.mean()) < mean_tol
    assert abs(float(draws.std()) - target.std()) < sd_tol
