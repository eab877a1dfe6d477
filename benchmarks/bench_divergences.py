"""Divergences and gradients per draw of RMHMC's defaults on easy posteriors (issue 16).

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_divergences.py                  # every target
    .venv/bin/python benchmarks/bench_divergences.py --models quickstart,german_credit

Runs ``pm.sample(step=pmf.RMHMC())`` with its defaults, 4 chains x 1000 after 1000 tuning,
``cores=2`` (the chains are those of ``pmf.sample`` with the same seed), on the README's
quickstart logistic regression, German credit, the corpus' generalised linear models,
non-centered eight schools and Neal's funnel, and prints per target: divergences after tuning by
kind, gradient evaluations per draw (every gradient of the implicit solves counted), mean
fixed-point evaluations per solve, min(bulk, tail) ESS over every parameter and that ESS per
gradient. ``--options '{"target_accept": 0.8}'`` measures other settings (a labelled run, not
the defaults; ``"solver"`` is a dict of ``pmf.SolverOptions`` fields). It uses nothing but
``RMHMC()`` and ``pm.sample``, so the same script measures an older checkout of the package (to
compare gradients per draw with the code an issue was filed against).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import arviz_stats  # noqa: E402
import pymc as pm  # noqa: E402

import pymc_fisher as pmf  # noqa: E402
from tests.corpus.models import CORPUS  # noqa: E402
from tests.models import quickstart_logistic  # noqa: E402

TARGETS = {
    "quickstart": quickstart_logistic,
    **{
        name: CORPUS[name].build
        for name in (
            "german_credit", "logistic_regression_spector", "poisson_glm",
            "negative_binomial_counts", "beta_regression", "robust_regression",
            "eight_schools_noncentered", "neals_funnel",
        )
    },
}  # fmt: skip


def _rmhmc_options(options: dict) -> dict:
    if "solver" in options:
        return {**options, "solver": pmf.SolverOptions(**options["solver"])}
    return options


def run(name: str, seed: int, options: dict) -> dict:
    model = TARGETS[name]()
    with model, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata = pm.sample(
            draws=1000, tune=1000, chains=4, cores=2, random_seed=seed, progressbar=False,
            step=pmf.RMHMC(**_rmhmc_options(options)), compute_convergence_checks=False,
        )  # fmt: skip
    ss = idata.sample_stats
    post = idata.posterior.to_dataset()
    ess = min(
        float(arviz_stats.ess(post, method=m)[v].min()) for m in ("bulk", "tail") for v in post
    )
    kinds, counts = np.unique(ss["divergence_kind"].values, return_counts=True)
    grads = float(ss["gradient_evaluations"].sum())
    steps = float(ss["n_steps"].sum())
    return {
        "divergences": {k: int(c) for k, c in zip(kinds, counts, strict=True) if k != "none"},
        "grads_per_draw": grads / ss["diverging"].size,
        "evals_per_solve": float(ss["fixed_point_iterations"].sum()) / (2.0 * steps),
        "steps": steps / ss["diverging"].size,
        "step_size": float(ss["step_size_bar"].values[:, -1].mean()),
        "ess": ess,
        "ess_per_grad": ess / grads,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models", default=",".join(TARGETS))
    ap.add_argument("--seed", type=int, default=20261201)
    ap.add_argument("--options", default="{}", help="JSON RMHMC options (not the defaults)")
    args = ap.parse_args()
    options = json.loads(args.options)
    print(f"pymc_fisher from {Path(pmf.__file__).parent}; RMHMC options {options or 'defaults'}")
    print(
        f"{'target':28s} {'divergences':>22s} {'grads/draw':>10s} {'evals/solve':>11s} "
        f"{'steps':>6s} {'eps':>6s} {'min ESS':>8s} {'ESS/grad':>9s}"
    )
    for name in args.models.split(","):
        r = run(name, args.seed, options)
        print(
            f"{name:28s} {r['divergences'] or 0!s:>22s} {r['grads_per_draw']:10.1f} "
            f"{r['evals_per_solve']:11.2f} {r['steps']:6.2f} {r['step_size']:6.3f} "
            f"{r['ess']:8.0f} {r['ess_per_grad']:9.2e}"
        )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
