"""Fisher first: ``pmf.sample(model)`` (the defaults) against nutpie's defaults, model by model.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_fisher_first.py                        # the whole corpus
    .venv/bin/python benchmarks/bench_fisher_first.py --models neals_funnel,radon_centered
    .venv/bin/python benchmarks/bench_fisher_first.py --seeds 3 --csv out.csv

Both sides as a PyMC user runs them: ``pmf.sample(model=model, chains=4, cores=2)`` and
``pm.sample(model=model, nuts_sampler="nutpie", chains=4, cores=2)``, each with its own default
warm-up, one run of each per seed, in the same process, the order alternating between seeds.
Before the first run a trivial model is compiled by nutpie: the first Numba compile of a process
costs several seconds of Numba's own start-up, which would otherwise fall on whichever side
runs first.

Per run: min over every scalar of every original free variable of min(bulk, tail) ESS; wall
time of the whole call (compile, reparametrisation, mode, sampling: every one-off cost) and of
the sampling alone; ESS per gradient (nutpie's ``n_steps``, warm-up included, for both: the
reparametrised model's gradient is one gradient of its graph, measured per second in the
sampling column); divergences; largest R-hat; largest |z| of the means against the stored long
nutpie reference (``tests/corpus/reference``). The ratio column is the median over seeds of
ESS per wall second, ours over nutpie's.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pymc as pm  # noqa: E402
from arviz_stats.base import array_stats  # noqa: E402

import pymc_fisher as pmf  # noqa: E402
from tests.corpus.models import CORPUS, NAMES  # noqa: E402
from tests.corpus.reference import has_reference, load_reference, mean_z_scores  # noqa: E402


def _funnel(d: int) -> pm.Model:
    with pm.Model() as model:
        v = pm.Normal("v", 0.0, 3.0)
        pm.Normal("x", 0.0, pm.math.exp(v / 2), shape=d - 1)
    return model


EXTRA = {"neals_funnel_50": lambda: _funnel(50)}


def min_ess(posterior, names: list[str]) -> tuple[float, float]:
    """min over scalars of min(bulk, tail) ESS, and the largest R-hat."""
    ess, rhat = np.inf, 0.0
    for name in names:
        x = np.asarray(posterior[name], dtype=float)
        x = x.reshape(x.shape[0], x.shape[1], -1)
        x = np.moveaxis(x, (0, 1), (-2, -1))
        bulk = np.asarray(array_stats.ess(x, method="bulk"))
        tail = np.asarray(array_stats.ess(x, method="tail", prob=0.05))
        ess = min(ess, float(np.min(np.minimum(bulk, tail))))
        rhat = max(rhat, float(np.max(np.asarray(array_stats.rhat(x)))))
    return ess, rhat


def run(name: str, side: str, seed: int, chains: int, draws: int) -> dict:
    model = EXTRA[name]() if name in EXTRA else CORPUS[name].build()
    names = [rv.name for rv in model.free_RVs]
    begin = time.perf_counter()
    try:
        if side == "pmf":
            tree = pmf.sample(
                draws, model=model, chains=chains, cores=2, random_seed=seed,
                progressbar=False, compute_convergence_checks=False,
            )  # fmt: skip
            sampling = float(tree.attrs["sampling_time"])
        else:
            tree = pm.sample(
                draws, model=model, nuts_sampler="nutpie", chains=chains, cores=2,
                random_seed=seed, progressbar=False, compute_convergence_checks=False,
            )  # fmt: skip
            sampling = float(tree.posterior.attrs["sampling_time"])
    except Exception as exc:  # a benchmark records failures; it does not stop
        return {"model": name, "side": side, "seed": seed, "error": f"{type(exc).__name__}: {exc}"}
    wall = time.perf_counter() - begin
    ess, rhat = min_ess(tree.posterior, names)
    stats = tree.sample_stats
    grads = float(stats["n_steps"].sum()) if "n_steps" in stats else np.nan
    if "warmup_sample_stats" in tree.children:
        grads += float(tree["warmup_sample_stats"]["n_steps"].sum())
    z = np.nan
    if name in CORPUS and has_reference(name):
        ref = load_reference(name)
        short = {v: np.asarray(tree.posterior[v]) for v in ref.draws if v in tree.posterior}
        z = max(float(np.nanmax(np.abs(s))) for s in mean_z_scores(short, ref).values())
    return {
        "model": name, "side": side, "seed": seed, "ess": ess, "wall": wall,
        "sampling": sampling, "ess_per_s": ess / wall, "ess_per_s_sampling": ess / sampling,
        "ess_per_grad": ess / grads if grads else np.nan,
        "divergences": int(stats["diverging"].sum()), "rhat": rhat, "max_abs_z": z,
        "method": tree.attrs.get("method", "nutpie"), "whitening": tree.attrs.get("whitening", ""),
        "noncentered": ",".join(tree.attrs.get("noncentered", [])), "error": "",
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join([*NAMES, *EXTRA]))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--csv", default=None)
    args = parser.parse_args()
    logging.getLogger("pymc").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    import nutpie

    with pm.Model() as tiny:
        pm.Normal("a")
    nutpie.compile_pymc_model(tiny)  # Numba's start-up, paid before any timed run

    rows = []
    for name in args.models.split(","):
        for seed in range(1, args.seeds + 1):
            sides = ("pmf", "nutpie") if seed % 2 else ("nutpie", "pmf")
            for side in sides:
                row = run(name, side, seed, args.chains, args.draws)
                rows.append(row)
                print(row, flush=True)
        table = pd.DataFrame(rows)
        if args.csv:
            table.to_csv(args.csv, index=False)
    table = pd.DataFrame(rows)
    ok = table[table["error"] == ""]
    med = ok.groupby(["model", "side"]).median(numeric_only=True).unstack("side")
    summary = pd.DataFrame(
        {
            "ratio": med["ess_per_s"]["pmf"] / med["ess_per_s"]["nutpie"],
            "ratio_sampling": med["ess_per_s_sampling"]["pmf"]
            / med["ess_per_s_sampling"]["nutpie"],
            "ratio_per_grad": med["ess_per_grad"]["pmf"] / med["ess_per_grad"]["nutpie"],
            "ess_pmf": med["ess"]["pmf"],
            "ess_nutpie": med["ess"]["nutpie"],
            "wall_pmf": med["wall"]["pmf"],
            "wall_nutpie": med["wall"]["nutpie"],
            "div_pmf": med["divergences"]["pmf"],
            "rhat_pmf": med["rhat"]["pmf"],
            "z_pmf": med["max_abs_z"]["pmf"],
        }
    )
    pd.set_option("display.width", 200)
    print(summary.round(3).to_string())
    print(
        f"median ratio (ESS per wall second, every one-off cost): {summary['ratio'].median():.2f}"
    )
    print(f"models below 0.8x: {int((summary['ratio'] < 0.8).sum())} of {len(summary)}")
    errors = table[table["error"] != ""]
    if len(errors):
        print(errors[["model", "side", "seed", "error"]].to_string())


if __name__ == "__main__":
    main()
