"""Laplace vs MCMC on the German credit logistic regression (Girolami & Calderhead 2011).

Fits the exact Laplace approximation, samples with NUTS, prints the summary table (posterior sd
beside the Laplace standard error and the Cramér–Rao bound), and saves two figures: the Laplace
Gaussian over the MCMC pair plot of three coefficients, and the posterior correlation heatmap.

    .venv/bin/python examples/laplace_vs_mcmc.py
"""

from __future__ import annotations

import matplotlib
import pymc as pm

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from pymc_fisher.bench.data import german_credit_data
from pymc_fisher.laplace import fit_laplace
from pymc_fisher.plots import correlation, plot_laplace_pair, plot_matrix_heatmap
from pymc_fisher.summary import summary


def main() -> None:
    # [1, standardised covariates] and labels in {0, 1}; the data ship with the package
    # ($PYMC_FISHER_DATA overrides them)
    x, t, names = german_credit_data()
    with pm.Model(coords={"coef": names}) as model:
        w = pm.Normal("w", 0.0, 10.0, dims="coef")
        pm.Bernoulli("y", logit_p=x @ w, observed=t)

    laplace = fit_laplace(model, random_seed=1)
    with model:
        mcmc = pm.sample(1000, tune=1000, chains=2, random_seed=1, progressbar=False)
    table = summary(model, laplace, mcmc=mcmc)
    print(
        table[
            [
                "estimate",
                "se_observed",
                "se_sandwich",
                "posterior_sd",
                "cramer_rao",
                "sd_over_laplace_se",
            ]
        ]
        .round(4)
        .to_string()
    )
    print("Pareto k:", float(laplace.diagnostics.pareto_k))

    pc = plot_laplace_pair(laplace, mcmc, model, coords={"coef": ["intercept", "A1", "A2"]})
    pc.savefig("laplace_vs_mcmc_pair.png")
    heatmap = plot_matrix_heatmap(correlation(laplace.fit.covariance_matrix))
    heatmap.savefig("laplace_correlation.png", bbox_inches="tight")
    plt.close("all")


if __name__ == "__main__":
    main()
