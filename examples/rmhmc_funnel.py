"""Neal's funnel with Riemannian-manifold HMC (Fisher metric, the defaults) next to PyMC's NUTS.

Run from the repository root::

    .venv/bin/python examples/rmhmc_funnel.py

``pmf.sample`` runs each chain in compiled code (``pm.sample(step=pmf.RMHMC())`` is the same
sampler through PyMC's step-method door, for compound models). ``PYMC_FISHER_EXAMPLE_SMALL=1``
shrinks the run.
"""

from __future__ import annotations

import os

import arviz_stats
import numpy as np
import pymc as pm

import pymc_fisher as pmf

SMALL = os.environ.get("PYMC_FISHER_EXAMPLE_SMALL") == "1"


def funnel(d: int = 10) -> pm.Model:
    with pm.Model() as model:
        v = pm.Normal("v", 0.0, 3.0)
        pm.Normal("x", 0.0, pm.math.exp(v / 2), shape=d - 1)
    return model


def main() -> None:
    model = funnel()
    n = 200 if SMALL else 1000
    # The Fisher metric of the whole graph is diag(1/9 + (d-1)/2, e^{-v} I): it shrinks the
    # steps in x where the funnel narrows, so the sampler goes down the neck; warm-up learns
    # the integration time that v, six times slower than the x's, needs.
    idata = pmf.sample(n, tune=n, chains=2, model=model, random_seed=1, method="rmhmc")
    with model:
        nuts = pm.sample(n, tune=n, chains=2, random_seed=1)
    for name, data in (("RMHMC (fisher)", idata), ("NUTS", nuts)):
        v = data.posterior["v"]
        ess = min(float(arviz_stats.ess(v, method=m)) for m in ("bulk", "tail"))
        div = int(data.sample_stats["diverging"].sum())
        print(
            f"{name:15s} v: mean {float(v.mean()):6.2f} sd {float(v.std()):5.2f} "
            f"min {float(v.min()):6.2f}  min(bulk, tail) ESS {ess:6.0f}  divergences {div}"
        )
    kinds, counts = np.unique(idata.sample_stats["divergence_kind"].values, return_counts=True)
    print("RMHMC divergence kinds:", dict(zip(kinds.tolist(), counts.tolist(), strict=True)))
    print("learned integration time:", float(idata.sample_stats["path_length"].mean()))
    grads = float(idata.sample_stats["gradient_evaluations"].mean())
    print("gradient evaluations per draw:", grads)


if __name__ == "__main__":
    main()
