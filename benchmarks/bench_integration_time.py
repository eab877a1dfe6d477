"""Automatic integration time: the factor c of ``T = c √max r`` against ESS per gradient.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_integration_time.py                       # all targets
    .venv/bin/python benchmarks/bench_integration_time.py --factors 1.5,2,2.5 --models funnel

Runs ``pm.sample(step=RMHMC())`` with the defaults (``path_length="auto"``), 4 chains x 1000
after 1000 tuning, ``cores=2``, for each factor and target, and prints min(bulk, tail) ESS of the
key quantity (of its square too where the target is symmetric in it), that ESS per gradient
evaluation (every gradient of the implicit solves counted), the learned integration time, the
steps per draw and the divergences. The factor is
``AdaptationOptions(integration_time_factor=c)`` (default π/2, ``INTEGRATION_TIME_FACTOR``).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import arviz_stats  # noqa: E402
import pymc as pm  # noqa: E402

from pymc_fisher.samplers.core.options import AdaptationOptions, SolverOptions  # noqa: E402
from pymc_fisher.samplers.drivers.step import RMHMC  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_rmhmc import MODELS, min_ess  # noqa: E402

TARGETS = MODELS  # name -> (builder, key quantity, symmetric key?), shared with bench_rmhmc


def run(
    target: str, factor: float | None, path_length, seed: int, draws: int, options: dict
) -> dict:
    build, key, symmetric = TARGETS[target]
    model = build()
    if factor is not None:
        options = options | {"adaptation": AdaptationOptions(integration_time_factor=factor)}
    with model, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        idata = pm.sample(
            draws=draws, tune=draws, chains=4, cores=2, random_seed=seed, progressbar=False,
            step=RMHMC(path_length=path_length, **options), compute_convergence_checks=False,
            mp_ctx="fork",
        )  # fmt: skip
        wall = time.perf_counter() - start
    ss = idata.sample_stats
    n = ss.sizes["chain"] * ss.sizes["draw"]
    ess = min_ess(idata, key, symmetric)
    grads = float(ss["gradient_evaluations"].sum())
    rhat = arviz_stats.rhat(idata.posterior.to_dataset())
    r = max(float(rhat[v].max()) for v in rhat.data_vars)
    kinds = ss["divergence_kind"].values.ravel()
    return {
        "ess": ess,
        "per_grad": ess / grads,
        "rhat": r,
        "T": float(ss["path_length"].values[:, -1].mean()),
        "steps": float(ss["n_steps"].mean()),
        "grads_per_draw": grads / n,
        "div_solver": int((kinds == "solver").sum()),
        "div_other": int(((kinds != "none") & (kinds != "solver")).sum()),
        "eps": float(ss["step_size"].mean()),
        "wall": wall,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models", default=",".join(TARGETS))
    ap.add_argument("--factors", default="", help="factors c to try (default: the module's)")
    ap.add_argument("--fixed", default="", help="also run fixed path lengths, e.g. 14,20")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument(
        "--set",
        default="",
        help="RMHMC options for every run (a labelled, non-default column)"
        ", e.g. target_accept=0.9,max_iterations=50 (SolverOptions fields go to solver=)",
    )
    args = ap.parse_args()
    options: dict = {k: float(v) for k, v in (kv.split("=") for kv in args.set.split(",") if kv)}
    options = {k: int(v) if k.startswith("max_") else v for k, v in options.items()}
    solver = {k: options.pop(k) for k in list(options) if k in SolverOptions._fields}
    if solver:
        options["solver"] = SolverOptions(**solver)
    if options:
        print(f"options (not the defaults): {options}")
    print(
        f"{'target':17s} {'setting':>10s} {'minESS':>7s} {'per grad':>9s} {'R-hat':>6s} "
        f"{'T':>6s} {'eps':>5s} {'steps':>6s} {'grad/draw':>9s} {'div s/o':>8s} {'wall':>6s}"
    )
    for target in args.models.split(","):
        settings: list[tuple[str, float | None, object]] = [
            (f"c={f}", float(f), "auto") for f in args.factors.split(",") if f
        ] or [("default", None, "auto")]
        settings += [(f"T={p}", None, float(p)) for p in args.fixed.split(",") if p]
        for label, factor, path in settings:
            r = run(target, factor, path, args.seed, args.draws, options)
            print(
                f"{target:17s} {label:>10s} {r['ess']:7.0f} {r['per_grad']:9.2e} "
                f"{r['rhat']:6.3f} {r['T']:6.2f} {r['eps']:5.2f} {r['steps']:6.1f} "
                f"{r['grads_per_draw']:9.1f} {r['div_solver']:>3d}/{r['div_other']:<4d} "
                f"{r['wall']:6.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
