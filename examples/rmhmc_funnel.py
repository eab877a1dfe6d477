"""Neal's funnel with Riemannian-manifold HMC (Fisher metric) next to PyMC's default NUTS.

Run from the repository root::

    .venv/bin/python examples/rmhmc_funnel.py
"""

from __future__ import annotations

import arviz_stats
import numpy as np
import pymc as pm

from pymc_fisher.samplers.step import RMHMC  # exported as pmf.RMHMC


def funnel(d: int = 10) -> pm.Model:
    with pm.Model() as model:
        v = pm.Normal("v", 0.0, 3.0)
        pm.Normal("x", 0.0, pm.math.exp(v / 2), shape=d - 1)
    return model


def main() -> None:
    model = funnel()
    with model:
        # The Fisher metric of the whole graph is diag(1/9 + (d-1)/2, e^{-v} I): it shrinks the
        # steps in x where the funnel narrows, so the sampler goes down the neck.
        step = RMHMC(metric="fisher", path_length=10.0)
        idata = pm.sample(step=step, chains=2, draws=500, tune=500, random_seed=1)
        nuts = pm.sample(chains=2, draws=500, tune=500, random_seed=1)
    for name, data in (("RMHMC (fisher)", idata), ("NUTS", nuts)):
        v = data.posterior["v"]
        ess = float(arviz_stats.ess(v, method="bulk"))
        div = int(data.sample_stats["diverging"].sum())
        print(
            f"{name:15s} v: mean {float(v.mean()):6.2f} sd {float(v.std()):5.2f} "
            f"min {float(v.min()):6.2f}  bulk ESS {ess:6.0f}  divergences {div}"
        )
    kinds, counts = np.unique(idata.sample_stats["divergence_kind"].values, return_counts=True)
    print("RMHMC divergence kinds:", dict(zip(kinds.tolist(), counts.tolist(), strict=True)))
    print("mean fixed-point iterations per transition:",
          float(idata.sample_stats["fixed_point_iterations"].mean()))  # fmt: skip


if __name__ == "__main__":
    main()
