"""Is RMHMC worth it on my model? A study of a model you wrote, against PyMC's NUTS.

    python examples/study_own_model.py

Any callable that returns a fresh ``pm.Model`` is a target. Here: a hierarchical model whose
group scale ``tau`` makes a funnel (eight schools, centered); RMHMC with the SoftAbs metric
against PyMC's NUTS. Set PYMC_FISHER_EXAMPLE_SMALL=1 for a quick run.
"""

import os

import numpy as np
import pymc as pm

from pymc_fisher.bench import InlineExecutor, run_study
from pymc_fisher.bench.report import format_table

SMALL = os.environ.get("PYMC_FISHER_EXAMPLE_SMALL") == "1"


def my_model() -> pm.Model:
    y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
    sigma = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 5.0)
        tau = pm.HalfCauchy("tau", 5.0)
        theta = pm.Normal("theta", mu, tau, shape=8)
        pm.Normal("y", theta, sigma, observed=y)
    return model


if __name__ == "__main__":
    samplers = ["nuts", "rmhmc-softabs"]
    table = run_study(
        [my_model],
        samplers,
        seeds=[0] if SMALL else [0, 1, 2],
        chains=2 if SMALL else 4,
        draws=50 if SMALL else 1000,
        tune=50 if SMALL else 1000,
        executor=InlineExecutor() if SMALL else None,  # smoke test: no worker start-up
    )
    print(format_table(table))
    best = table.groupby("sampler")["ess_per_second"].median().idxmax()
    print(f"\nhighest median ESS per second: {best} (check rhat_max and divergences too)")
