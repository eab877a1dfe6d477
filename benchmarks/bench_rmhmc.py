"""RMHMC against PyMC's default NUTS (nutpie) on the issue's protocol, in one run.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_rmhmc.py --full                 # 4 chains x 1000 + 1000 tune
    .venv/bin/python benchmarks/bench_rmhmc.py --quick                # 2 chains x 300 + 300 tune
    .venv/bin/python benchmarks/bench_rmhmc.py --quick --models funnel --metrics fisher
    .venv/bin/python benchmarks/bench_rmhmc.py --profile funnel:fisher  # where the time goes
    .venv/bin/python benchmarks/bench_rmhmc.py --full --repeats 5 --hand-tuned  # medians
    .venv/bin/python benchmarks/bench_rmhmc.py --overhead eight_schools:fisher  # pm.sample's share
    .venv/bin/python benchmarks/bench_rmhmc.py --full --doors sample,step --repeats 5

Two doors: ``sample`` is ``pmf.sample`` (each chain compiled, in a thread), ``step`` is
``pm.sample(step=pmf.RMHMC())`` (a draw per pipe round trip); ``pmf.sample`` also reports its
split of time (compile, warm-up, sampling, assembly) and the main thread's CPU per draw.

RMHMC runs with its defaults; ``--hand-tuned`` adds a separate, labelled row with the best fixed
path length of the sweeps. Reports per model and sampler: min(bulk, tail) ESS of the model's key
quantity (and of its square for the funnel's symmetric v; the min over parameters for the
regressions), R-hat, divergences, ESS per second with and without compile time, gradient
evaluations per draw, ESS per gradient evaluation, mean fixed-point iterations; then the ratios
RMHMC / nutpie. German credit data come with the package (``pymc_fisher.bench.data``).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import arviz_stats  # noqa: E402
import pymc as pm  # noqa: E402

import pymc_fisher as pmf  # noqa: E402
from pymc_fisher.samplers.drivers.step import RMHMC  # noqa: E402
from tests.samplers import models  # noqa: E402

# name -> (model builder, key quantity or None for the min over all, symmetric key?). Every
# RMHMC run uses the defaults; HAND_TUNED is the separate, labelled "best hand-tuned fixed path"
# row (``--hand-tuned``), from the sweeps scored by min(bulk, tail) ESS per gradient
# (../shared/notes/funnel_measurements.md; README).
MODELS = {
    "funnel": (lambda: models.funnel(10), "v", True),
    "funnel50": (lambda: models.funnel(50), "v", True),
    "eight_schools": (models.eight_schools_centered, "tau", False),
    "eight_schools_nc": (models.eight_schools_noncentered, "tau", False),
    "german_credit": (models.german_credit, None, False),
    "quickstart": (models.quickstart_logistic, None, False),
    "hier_logistic": (lambda: models.hierarchical_logistic(True), "sigma", False),
    "hier_logistic_nc": (lambda: models.hierarchical_logistic(False), "sigma", False),
}
HAND_TUNED = {
    "funnel": {"path_length": 14.0, "target_accept": 0.9},
    "funnel50": {"path_length": 20.0, "target_accept": 0.9},
    "eight_schools": {"path_length": 16.0, "target_accept": 0.9},
    "german_credit": {"path_length": 2.0, "target_accept": 0.9},
}


def min_ess(idata, key: str | None, symmetric: bool = False) -> float:
    """min(bulk, tail) ESS of ``key`` (and bulk ESS of ``key²`` when symmetric in it).

    ``key=None``: the minimum over every parameter. An antithetic chain's bulk ESS exceeds its
    draws while its tail ESS and the ESS of the square collapse; this is the honest figure.
    """
    post = idata.posterior.to_dataset()
    names = [key] if key is not None else list(post.data_vars)
    out = np.inf
    for name in names:
        for method in ("bulk", "tail"):
            out = min(out, float(arviz_stats.ess(post[[name]], method=method)[name].min()))
        if symmetric:
            sq = (post[[name]] ** 2).rename({name: f"{name}2"})
            out = min(out, float(arviz_stats.ess(sq, method="bulk")[f"{name}2"].min()))
    return out


def _summary(idata, key: str | None, symmetric: bool = False) -> dict:
    e = min_ess(idata, key, symmetric)
    rhat = arviz_stats.rhat(idata.posterior.to_dataset())
    r = float(rhat[key].max()) if key else max(float(rhat[v].max()) for v in rhat.data_vars)
    ss = idata.sample_stats
    n_draws = ss.sizes["chain"] * ss.sizes["draw"]
    out = {"ess": e, "rhat": r, "div_pct": 100.0 * float(ss["diverging"].sum()) / n_draws}
    if key == "v":
        out["min_v"] = float(idata.posterior["v"].min())
    if key == "tau":
        out["mean_tau"] = float(idata.posterior["tau"].mean())
    if "gradient_evaluations" in ss:
        grads = float(ss["gradient_evaluations"].mean())
        out["fp_iter"] = float(ss["fixed_point_iterations"].mean())
        out["fp_iter_per_solve"] = out["fp_iter"] / (2.0 * float(ss["n_steps"].mean()))
        out["n_steps"] = float(ss["n_steps"].mean())
        kinds, counts = np.unique(ss["divergence_kind"].values, return_counts=True)
        out["kinds"] = dict(zip(kinds.tolist(), counts.tolist(), strict=True))
    else:
        grads = float(ss["n_steps"].mean())
    out["grads_per_draw"] = grads
    out["ess_per_grad"] = e / (grads * n_draws)
    return out


def run_nutpie(model, key, symmetric, chains, draws, tune, cores, seed) -> dict:
    import nutpie

    t0 = time.perf_counter()
    compiled = nutpie.compile_pymc_model(model)
    # nutpie's first sample in a process pays a one-off start (measured 0.35 s against 0.07 s
    # for the next on eight schools): counted as compile time, to nutpie's advantage
    nutpie.sample(compiled, chains=1, draws=1, tune=1, cores=1, progress_bar=False)
    t1 = time.perf_counter()
    idata = nutpie.sample(
        compiled, chains=chains, draws=draws, tune=tune, cores=cores, seed=seed,
        progress_bar=False,
    )  # fmt: skip
    t2 = time.perf_counter()
    out = _summary(idata, key, symmetric)
    out.update(compile_s=t1 - t0, sample_s=t2 - t1)
    return out


def run_rmhmc(model, key, symmetric, metric, options, chains, draws, tune, cores, seed) -> dict:
    t0 = time.perf_counter()
    with model:
        step = RMHMC(metric=metric, **options)
    t1 = time.perf_counter()
    with model:
        idata = pm.sample(
            draws=draws, tune=tune, chains=chains, cores=cores, step=step, random_seed=seed,
            progressbar=False, compute_convergence_checks=False,
        )  # fmt: skip
    t2 = time.perf_counter()
    out = _summary(idata, key, symmetric)
    out.update(compile_s=t1 - t0, sample_s=t2 - t1)
    return out


def run_pmf_sample(
    model, key, symmetric, metric, options, chains, draws, tune, cores, seed
) -> dict:
    t0 = time.perf_counter()
    idata = pmf.sample(
        draws, tune=tune, chains=chains, cores=cores, model=model, random_seed=seed,
        progressbar=False, compute_convergence_checks=False, metric=metric, method="rmhmc",
        **options,
    )  # fmt: skip
    total = time.perf_counter() - t0
    out = _summary(idata, key, symmetric)
    a = idata.attrs
    out.update(compile_s=total - a["sampling_time"], sample_s=a["sampling_time"])
    n = chains * (draws + tune)
    out["split"] = (
        f"compile {a['compile_time']:.1f}s warm-up {a['warmup_time']:.1f}s "
        f"draws {a['draws_time']:.1f}s (chain-seconds) assembly {a['assembly_time']:.2f}s "
        f"main-thread CPU {1e6 * a['main_thread_time'] / n:.1f} us/draw"
    )
    return out


def _fmt(name: str, r: dict) -> str:
    ess_s = r["ess"] / r["sample_s"]
    ess_s_c = r["ess"] / (r["sample_s"] + r["compile_s"])
    extra = "".join(
        f" {k}={r[k]:.3g}" for k in ("min_v", "mean_tau", "fp_iter_per_solve", "n_steps") if k in r
    )
    kinds = f" kinds={r['kinds']}" if "kinds" in r else ""
    kinds += f"\n      {r['split']}" if "split" in r else ""
    return (
        f"  {name:16s} ESS={r['ess']:7.1f} Rhat={r['rhat']:.3f} div={r['div_pct']:.2f}% "
        f"ESS/s={ess_s:8.2f} (with compile {ess_s_c:8.2f}) compile={r['compile_s']:.1f}s "
        f"sample={r['sample_s']:.1f}s grads/draw={r['grads_per_draw']:.1f} "
        f"ESS/grad={r['ess_per_grad']:.2e}{extra}{kinds}"
    )


def profile(model_name: str, metric: str, n: int = 200) -> None:
    """Profile single-chain transitions (after a short tuning) and print where time goes."""
    from pymc.blocking import DictToArrayBijection

    build, _, _ = MODELS[model_name]
    model = build()
    with model:
        step = RMHMC(metric=metric)
    step.setup_chain(np.random.default_rng(0), 100, n)
    ip = model.initial_point()
    q = DictToArrayBijection.map({k: ip[k] for k in step.var_names})
    for _ in range(100):
        q, _stats = step.astep(q)
    step.tune = False
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for _ in range(n):
        q, _stats = step.astep(q)
    prof.disable()
    total = time.perf_counter() - t0
    stats = pstats.Stats(prof)
    compiled = sum(
        v[3] for k, v in stats.stats.items() if k[2] == "__call__" and "executor" in k[0]
    )
    print(f"profile {model_name}:{metric}: {1e3 * total / n:.2f} ms per transition")
    print(f"  inside compiled PyTensor functions: {100 * compiled / total:.0f}% of the time")
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(15)
    print(buf.getvalue())


def overhead(model_name: str, metric: str, cores: int = 2) -> None:
    """Split a ``pm.sample`` run on the protocol into the step method's time and PyMC's own.

    Runs the defaults and a one-step transition (``path_length`` = 1e-3), and
    prints the wall time, the CPU time of the main process and of the workers, and the summed
    wall time of the step method's transitions (``perf_counter_diff``). What the one-step run
    spends outside its transitions is ``pm.sample``'s per-draw cost (the draw's round trip
    through a pipe and the main process's recording), paid whatever the step method does.
    """
    import resource

    build, _, _ = MODELS[model_name]
    options: dict = {}
    model = build()

    def cpu(who: int) -> float:
        r = resource.getrusage(who)
        return r.ru_utime + r.ru_stime

    for label, opts in (("defaults", options), ("one step", options | {"path_length": 1e-3})):
        with model:
            step = RMHMC(metric=metric, **opts)
            main0, workers0 = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            idata = pm.sample(
                draws=1000, tune=1000, chains=4, cores=cores, step=step, random_seed=1,
                progressbar=False, compute_convergence_checks=False, discard_tuned_samples=False,
            )  # fmt: skip
            wall = time.perf_counter() - t0
            main1, workers1 = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)
        stats = [idata[g] for g in ("sample_stats", "warmup_sample_stats")]
        transitions = float(sum(s["perf_counter_diff"].sum() for s in stats))
        steps = float(np.mean([s["n_steps"].mean() for s in stats]))
        print(
            f"{model_name}:{metric} {label:15s} wall {wall:5.2f} s  main CPU {main1 - main0:5.2f} s"
            f"  workers CPU {workers1 - workers0:5.2f} s  transitions {transitions:5.2f} s"
            f" (summed wall, {steps:.1f} steps each)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="2 chains x 300 draws, 300 tune")
    mode.add_argument("--full", action="store_true", help="4 chains x 1000 draws, 1000 tune")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--metrics", default="fisher")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--profile", default=None, help="model:metric, e.g. funnel:fisher")
    parser.add_argument(
        "--overhead", default=None, help="model:metric: the step method's and pm.sample's time"
    )
    parser.add_argument(
        "--options",
        default="{}",
        help="JSON RMHMC options overriding the defaults, e.g. '{\"target_accept\": 0.9}'",
    )
    parser.add_argument("--no-nutpie", action="store_true", help="skip the nutpie baseline")
    parser.add_argument(
        "--doors", default="sample,step", help="sample (pmf.sample), step (pm.sample(step=...))"
    )
    parser.add_argument(
        "--hand-tuned", action="store_true", help="also the best hand-tuned fixed path (labelled)"
    )
    parser.add_argument(
        "--repeats", type=int, default=1, help="runs of each side (seeds seed, seed+1, ...)"
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if args.profile:
        profile(*args.profile.split(":"))
        return
    if args.overhead:
        overhead(*args.overhead.split(":"), cores=args.cores)
        return
    chains, draws, tune = (4, 1000, 1000) if args.full or not args.quick else (2, 300, 300)
    print(f"protocol: {chains} chains x {draws} draws after {tune} tuning, cores={args.cores}")
    seeds = [args.seed + i for i in range(args.repeats)]
    for name in args.models.split(","):
        build, key, symmetric = MODELS[name]
        options = json.loads(args.options)
        label = "defaults" if not options else f"options {options} (not the defaults)"
        print(f"{name} (key: {key or 'min over parameters'}; min(bulk, tail) ESS; RMHMC {label})")
        base: list[dict] = []
        if not args.no_nutpie:
            for seed in seeds:
                base.append(
                    run_nutpie(build(), key, symmetric, chains, draws, tune, args.cores, seed)
                )
                print(_fmt("nutpie", base[-1]))
        columns = [("", options)]
        if args.hand_tuned and name in HAND_TUNED:
            columns.append(("-hand-tuned", HAND_TUNED[name] | options))
        doors = {"sample": run_pmf_sample, "step": run_rmhmc}
        for metric in args.metrics.split(","):
            defaults: dict[str, list[dict]] = {}
            for suffix, opts in columns:
                by_door = {}
                for door in args.doors.split(","):
                    runs = []
                    for seed in seeds:
                        runs.append(
                            doors[door](
                                build(), key, symmetric, metric, opts, chains, draws, tune,
                                args.cores, seed,
                            )
                        )  # fmt: skip
                        print(_fmt(f"{door}-{metric}{suffix}", runs[-1]))
                    if suffix:
                        print(f"    (hand-tuned: {opts})")
                    if base:
                        _ratios(runs, base)
                    if suffix and door in defaults:  # the defaults against this labelled row
                        _ratios(
                            defaults[door],
                            runs,
                            f"the hand-tuned row ({door}: defaults / hand-tuned)",
                        )
                    by_door[door] = runs
                    sys.stdout.flush()
                if not suffix:
                    defaults = by_door
                if {"sample", "step"} <= set(by_door):
                    _ratios(by_door["sample"], by_door["step"], "pm.sample(step=RMHMC())")


def _median(runs: list[dict], f) -> float:
    return float(np.median([f(r) for r in runs]))


def _ratios(runs: list[dict], base: list[dict], against: str = "nutpie") -> None:
    """Ratios of the medians over the repeats (one run each of both sides per seed)."""
    ess_s = _median(runs, lambda r: r["ess"] / r["sample_s"])
    ess_s_c = _median(runs, lambda r: r["ess"] / (r["sample_s"] + r["compile_s"]))
    base_s = _median(base, lambda r: r["ess"] / r["sample_s"])
    base_s_c = _median(base, lambda r: r["ess"] / (r["sample_s"] + r["compile_s"]))
    grad = _median(runs, lambda r: r["ess_per_grad"]) / _median(base, lambda r: r["ess_per_grad"])
    print(
        f"    ratio vs {against} (medians of {len(runs)}): ESS/s x{ess_s / base_s:.2f} "
        f"(with compile x{ess_s_c / base_s_c:.2f}), ESS/grad x{grad:.2f}"
    )


if __name__ == "__main__":
    main()
