"""What works on the corpus of real models, and RMHMC's ESS per second against nutpie's.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_corpus.py                          # every model
    .venv/bin/python benchmarks/bench_corpus.py --models garch11,radon_centered
    .venv/bin/python benchmarks/bench_corpus.py --no-sampling            # the shares only
    .venv/bin/python benchmarks/bench_corpus.py --sampling-only          # ESS per second only
    .venv/bin/python benchmarks/bench_corpus.py --chains 4 --draws 1000 --tune 1000 --csv out.csv

Per model (``tests/corpus``):

- ``information``: every kind of ``fisher_information`` the model allows (expected with
  ``method="analytic"``, observed, empirical; likelihood and, with ``include_prior=True``, the
  whole graph) returns a finite matrix;
- ``laplace``: ``fit_laplace`` returns a fit (``fit``) or a typed ``pymc_fisher`` error
  (``typed: ...``), ``ModeNotFoundError`` on a model without a mode (else ``wrong: ...``);
  any other exception is a crash (``crash: ...``);
- ``rmhmc``: ``pmf.RMHMC()`` (default options) constructs;
- one run of ``pmf.sample`` (RMHMC's defaults, chains in compiled threads) and one of nutpie
  with the same chains, draws, tuning and ``cores=1``: min over every scalar of every free
  variable of min(bulk, tail) ESS, per second of sampling (warm-up and draws), and per second
  including compile time (RMHMC: ``pmf.sample``'s ``compile_time``; nutpie:
  ``compile_pymc_model``); RMHMC's divergences, largest R-hat, and the largest |z| of its
  means against the stored long nutpie reference (``tests/corpus/reference``:
  ``z = (mean − mean_ref) / sqrt(mcse² + mcse_ref²)``, as the corpus's slow tier).

Then the share of models on which each door works (goal: 100 %). One run per side: ESS per
second of a single run is noisy (a factor of 2 between seeds is common on small models).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pymc as pm  # noqa: E402

import pymc_fisher as pmf  # noqa: E402
from pymc_fisher.errors import FisherError  # noqa: E402
from pymc_fisher.laplace import ModeNotFoundError  # noqa: E402
from tests.corpus.models import CORPUS, NAMES  # noqa: E402
from tests.corpus.reference import load_reference, mean_z_scores, summary_stats  # noqa: E402


def information_works(model: pm.Model, name: str) -> str:
    for kind, prior in CORPUS[name].information_kinds:
        method = "analytic" if kind == "expected" else "auto"
        try:
            m = pmf.fisher_information(model, kind=kind, include_prior=prior, method=method)
        except Exception as exc:  # a benchmark records failures; it does not stop
            return f"{kind}{'+prior' if prior else ''}: {type(exc).__name__}"
        if not np.all(np.isfinite(np.asarray(m))):
            return f"{kind}{'+prior' if prior else ''}: not finite"
    return "yes"


def laplace_works(model: pm.Model, name: str) -> str:
    no_mode = "no_mode" in CORPUS[name].tags
    try:
        pmf.fit_laplace(model, draws=200, random_seed=0)
    except FisherError as exc:  # a typed error is an answer; on a model without a mode, the one
        if no_mode and not isinstance(exc, ModeNotFoundError):
            return f"wrong: {type(exc).__name__}"
        return f"typed: {type(exc).__name__}"
    except Exception as exc:
        return f"crash: {type(exc).__name__}"
    return "wrong: fit without a mode" if no_mode else "fit"


def min_ess(draws: dict[str, np.ndarray]) -> float:
    stats = [summary_stats(x) for x in draws.values()]
    return min(float(np.min(np.minimum(s["ess_bulk"], s["ess_tail"]))) for s in stats)


def run_rmhmc(model: pm.Model, name: str, args: argparse.Namespace) -> dict:
    free = [rv.name for rv in model.free_RVs]
    idata = pmf.sample(
        draws=args.draws, tune=args.tune, chains=args.chains, cores=1, model=model,
        random_seed=args.seed, progressbar=False, compute_convergence_checks=False,
        method="rmhmc",
    )  # fmt: skip
    draws = {v: idata.posterior[v].to_numpy() for v in free}
    ess = min_ess(draws)
    sample_s, compile_s = idata.attrs["sampling_time"], idata.attrs["compile_time"]
    z = mean_z_scores(draws, load_reference(name))
    return {
        "ess": ess, "ess_s": ess / sample_s, "ess_s_compile": ess / (sample_s + compile_s),
        "divergences": int(idata.sample_stats["diverging"].sum()),
        "rhat": max(float(np.max(summary_stats(x)["rhat"])) for x in draws.values()),
        "max_z": max(float(np.max(np.abs(zv))) for zv in z.values()),
    }  # fmt: skip


def run_nutpie(model: pm.Model, name: str, args: argparse.Namespace) -> dict:
    import nutpie

    free = [rv.name for rv in model.free_RVs]
    t0 = time.perf_counter()
    compiled = nutpie.compile_pymc_model(model)
    # nutpie's first sample in a process pays a one-off start (measured 0.35 s against 0.07 s
    # for the next on eight schools): counted as compile time, to nutpie's advantage
    nutpie.sample(compiled, chains=1, draws=1, tune=1, cores=1, progress_bar=False)
    t1 = time.perf_counter()
    idata = nutpie.sample(compiled, chains=args.chains, draws=args.draws, tune=args.tune,
                          seed=args.seed, cores=1, progress_bar=False)  # fmt: skip
    t2 = time.perf_counter()
    ess = min_ess({v: idata.posterior[v].to_numpy() for v in free})
    return {"ess": ess, "ess_s": ess / (t2 - t1), "ess_s_compile": ess / (t2 - t0)}


def bench_model(name: str, args: argparse.Namespace) -> dict:
    row: dict = {"model": name}
    model = CORPUS[name].build()
    if not args.sampling_only:
        row["information"] = information_works(model, name)
        row["laplace"] = laplace_works(model, name)
    try:
        with model:
            pmf.RMHMC()
        row["rmhmc"] = "yes"
    except Exception as exc:
        row["rmhmc"] = type(exc).__name__
    if args.no_sampling:
        return row
    sides = [("nutpie", run_nutpie)] + ([("rmhmc", run_rmhmc)] if row["rmhmc"] == "yes" else [])
    for side, run in sides:
        try:
            result = run(CORPUS[name].build(), name, args)
        except Exception as exc:
            print(f"  {name} {side}: {type(exc).__name__}: {exc}", file=sys.stderr)
            row[f"{side}_ess"] = f"{type(exc).__name__}"
            continue
        row |= {f"{side}_{key}": value for key, value in result.items()}
    if isinstance(row.get("rmhmc_ess_s"), float) and isinstance(row.get("nutpie_ess_s"), float):
        row["ratio"] = row["rmhmc_ess_s"] / row["nutpie_ess_s"]
        row["ratio_compile"] = row["rmhmc_ess_s_compile"] / row["nutpie_ess_s_compile"]
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="", help="comma-separated names (default: all)")
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-sampling", action="store_true", help="the shares only")
    parser.add_argument("--sampling-only", action="store_true", help="skip the shares")
    parser.add_argument("--csv", default=None, help="also write the table here")
    args = parser.parse_args()
    names = [n for n in args.models.split(",") if n] or NAMES
    warnings.simplefilter("ignore")
    rows = []
    for name in names:
        t0 = time.perf_counter()
        rows.append(bench_model(name, args))
        print(f"{name}: {time.perf_counter() - t0:.0f} s {rows[-1]}", file=sys.stderr, flush=True)
    table = pd.DataFrame(rows).set_index("model")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.round(3).to_string())
    n = len(table)
    if args.sampling_only:
        shares = {"RMHMC()": (table["rmhmc"] == "yes").sum()}
    else:
        shares = {
            "fisher_information": (table["information"] == "yes").sum(),
            "fit_laplace": table["laplace"].str.match("fit|typed").sum(),
            "RMHMC()": (table["rmhmc"] == "yes").sum(),
        }
    print()
    for door, k in shares.items():
        print(f"{door:>20}: {k}/{n} models ({100 * k / n:.0f} %)")
    if "rmhmc_max_z" in table:
        z, rhat = table["rmhmc_max_z"].astype(float), table["rmhmc_rhat"].astype(float)
        ok = ((z <= 4.0) & (rhat <= 1.01)).sum()
        print(f"{'matches reference':>20}: {ok}/{z.notna().sum()} sampled models "
              f"(|z| <= 4 of every mean against the nutpie reference, R-hat <= 1.01); "
              f"divergent draws {int(table['rmhmc_divergences'].sum())} in all")  # fmt: skip
    if "ratio" in table:
        ratio = table["ratio"].dropna()
        with_compile = table["ratio_compile"].median()
        print(f"RMHMC / nutpie ESS per second, median over {len(ratio)} models: "
              f"{ratio.median():.3g} (with compile time {with_compile:.3g})")  # fmt: skip
    if args.csv:
        table.to_csv(args.csv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
