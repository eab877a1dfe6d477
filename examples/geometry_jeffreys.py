"""Jeffreys' prior as a model transformation, then sampled with pm.sample.

A binomial experiment (k successes in n trials) gets p ~ Beta(1/2, 1/2), so the posterior is
Beta(k + 1/2, n - k + 1/2); a normal sample gets p(mu, sigma) ∝ sigma^-2.

Run from the repository root::

    .venv/bin/python examples/geometry_jeffreys.py

With PYMC_FISHER_EXAMPLE_SMALL=1 it draws fewer samples.
"""

from __future__ import annotations

import os

import numpy as np
import pymc as pm
from scipy import stats

from pymc_fisher.geometry import jeffreys_prior  # exported as pmf.jeffreys_prior

SMALL = os.environ.get("PYMC_FISHER_EXAMPLE_SMALL") == "1"


def main() -> None:
    draws = 200 if SMALL else 2000
    k, n = 3, 12
    with pm.Model() as binomial:
        p = pm.Beta("p", 2.0, 2.0)  # replaced by Jeffreys' prior below
        pm.Binomial("y", n=n, p=p, observed=k)
    with jeffreys_prior(binomial):
        idata = pm.sample(
            draws=draws, tune=draws, chains=2, random_seed=1, progressbar=False,
            compute_convergence_checks=False,
        )  # fmt: skip
    target = stats.beta(k + 0.5, n - k + 0.5)
    print(
        f"Binomial, Jeffreys prior: posterior mean of p {float(idata.posterior['p'].mean()):.3f} "
        f"(exact Beta(k+1/2, n-k+1/2): {target.mean():.3f})"
    )

    y = np.array([4.9, 5.6, 4.1, 5.2, 6.0, 5.5])
    with pm.Model() as normal:
        mu = pm.Normal("mu", 0.0, 100.0)
        sigma = pm.HalfNormal("sigma", 10.0)
        pm.Normal("y", mu, sigma, observed=y)
    jeffreys = jeffreys_prior(normal)
    log_prior = jeffreys.compile_logp(vars=jeffreys.potentials, jacobian=False)
    for s in (0.5, 1.0, 2.0):
        value = float(log_prior({"mu": 5.0, "sigma_log__": np.log(s)}))
        print(f"Normal, Jeffreys log-prior at sigma={s}: {value:.4f}  (+2 log sigma: "
              f"{value + 2 * np.log(s):.4f}, constant)")  # fmt: skip


if __name__ == "__main__":
    main()
