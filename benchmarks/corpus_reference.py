"""Long nutpie reference runs of the corpus (``tests/corpus``), stored in the repository.

Usage (from the repository root)::

    .venv/bin/python benchmarks/corpus_reference.py                   # every model without a file
    .venv/bin/python benchmarks/corpus_reference.py --only garch11 --force
    .venv/bin/python benchmarks/corpus_reference.py --draws 20000     # a longer run

Per model: nutpie, 4 chains x 5000 draws after 2000 tuning steps (defaults). Every free variable
(constrained) is stored thinned (every 20th draw, float32) with the full run's mean, sd, bulk and
tail ESS, MCSE of the mean and R-hat (``tests/corpus/reference.py``). A run with R-hat above 1.01
or any divergence is reported. Models with known answers or a non-centered twin take their
reference from there instead (``TWINS``, ``EXACT``): nutpie is biased on funnels.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.corpus.models import CORPUS, NAMES  # noqa: E402
from tests.corpus.reference import (  # noqa: E402
    has_reference,
    iid_stats,
    save_reference,
    summary_stats,
)

RHAT_MAX = 1.01


def _from_eight_schools(d: dict) -> dict:
    theta = d["mu"][..., None] + d["tau"][..., None] * d["theta_tilde"]
    return {"mu": d["mu"], "tau": d["tau"], "theta": theta}


def _from_radon(d: dict) -> dict:
    a = d["mu_a"][..., None] + d["sigma_a"][..., None] * d["z"]
    return {"mu_a": d["mu_a"], "sigma_a": d["sigma_a"], "a": a, "b": d["b"],
            "sigma_y": d["sigma_y"]}  # fmt: skip


def _from_logistic(d: dict) -> dict:
    alpha = d["mu"][..., None] + d["sigma"][..., None] * d["z"]
    return {"mu": d["mu"], "sigma": d["sigma"], "alpha": alpha}


def _from_stochastic_volatility(d: dict) -> dict:
    steps = d["step_size"][..., None] * d["innovations"]
    init = d["init"][..., None]
    volatility = np.concatenate([init, init + np.cumsum(steps, axis=-1)], axis=-1)
    return {"step_size": d["step_size"], "volatility": volatility, "nu": d["nu"]}


# centered model -> (its non-centered twin, the map from the twin's draws to the model's variables)
TWINS = {
    "eight_schools_centered": ("eight_schools_noncentered", _from_eight_schools),
    "radon_centered": ("radon_noncentered", _from_radon),
    "hierarchical_logistic_centered": ("hierarchical_logistic_noncentered", _from_logistic),
    "stochastic_volatility": ("stochastic_volatility_noncentered", _from_stochastic_volatility),
}

# nutpie's target acceptance where its default 0.8 gave divergences (a smaller step removes them)
TARGET_ACCEPT = dict.fromkeys(
    ["eight_schools_noncentered", "bayesian_lasso", "smoking_meta_analysis", "measurement_error",
     "eight_schools_centered", "radon_centered", "stochastic_volatility_noncentered"], 0.99
)  # fmt: skip


def _funnel_exact(chains: int, draws: int, seed: int) -> dict:
    g = np.random.default_rng(seed)
    v = g.normal(0.0, 3.0, size=(chains, draws))
    x = g.normal(size=(chains, draws, 9)) * np.exp(v / 2)[..., None]
    return {"v": v, "x": x}


EXACT = {"neals_funnel": _funnel_exact}


def run_nutpie(name: str, chains: int, draws: int, tune: int, seed: int) -> tuple[dict, dict]:
    """Draws of every free variable (constrained) and the run's facts."""
    import nutpie

    model = CORPUS[name].build()
    free = [rv.name for rv in model.free_RVs]
    t0 = time.perf_counter()
    compiled = nutpie.compile_pymc_model(model)
    t1 = time.perf_counter()
    target_accept = TARGET_ACCEPT.get(name, 0.8)
    idata = nutpie.sample(compiled, chains=chains, draws=draws, tune=tune, seed=seed,
                          target_accept=target_accept, progress_bar=False)  # fmt: skip
    t2 = time.perf_counter()
    draws_ = {v: idata.posterior[v].to_numpy() for v in free}
    divergences = int(idata.sample_stats["diverging"].sum())
    facts = {"sampler": f"nutpie {nutpie.__version__}", "chains": chains, "draws": draws,
             "tune": tune, "seed": seed, "target_accept": target_accept, "divergences": divergences,
             "compile_s": round(t1 - t0, 2), "sample_s": round(t2 - t1, 2)}  # fmt: skip
    return draws_, facts


def reference_for(name: str, args: argparse.Namespace) -> tuple[dict, dict, dict]:
    """Draws, statistics and metadata of one model's reference."""
    if name in EXACT:
        draws = EXACT[name](args.chains, args.draws, args.seed)
        meta = {"sampler": "exact (independent draws)", "chains": args.chains,
                "draws": args.draws, "seed": args.seed}  # fmt: skip
        return draws, {v: iid_stats(x) for v, x in draws.items()}, meta
    draws, meta = run_nutpie(name, args.chains, args.draws, args.tune, args.seed)
    stats = {v: summary_stats(x) for v, x in draws.items()}
    rhat = max(float(np.max(s["rhat"])) for s in stats.values())
    if name in TWINS and (rhat > RHAT_MAX or meta["divergences"] > 0):
        twin, transform = TWINS[name]
        note = (f"own run: R-hat {rhat:.3f}, {meta['divergences']} divergences; "
                f"draws are those of {twin} mapped to this model's variables")  # fmt: skip
        twin_draws, meta = run_nutpie(twin, args.chains, args.draws, args.tune, args.seed)
        draws = transform(twin_draws)
        stats = {v: summary_stats(x) for v, x in draws.items()}
        meta["note"] = note
        print(f"  {name}: {note}")
    return draws, stats, meta


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated model names (default: all)")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--draws", type=int, default=5000)
    parser.add_argument("--tune", type=int, default=2000)
    parser.add_argument("--thin", type=int, default=20)
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--force", action="store_true", help="rerun models that have a file")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n] or NAMES
    warnings.simplefilter("ignore")
    failures = []
    for name in names:
        if has_reference(name) and not args.force:
            print(f"{name}: stored, skipped (use --force)")
            continue
        t0 = time.perf_counter()
        try:
            draws, stats, meta = reference_for(name, args)
        except Exception as exc:  # report and go on: one model must not stop the others
            failures.append(name)
            print(f"{name}: FAILED {type(exc).__name__}: {exc}")
            continue
        rhat = max(float(np.max(s["rhat"])) for s in stats.values())
        ess = min(float(np.min(np.minimum(s["ess_bulk"], s["ess_tail"]))) for s in stats.values())
        meta.update(max_rhat=round(rhat, 4), min_ess=round(ess, 1), thin=args.thin,
                    converged=bool(rhat <= RHAT_MAX))  # fmt: skip
        path = save_reference(name, draws, stats, meta, args.thin)
        flag = "" if rhat <= RHAT_MAX else f"  NOT CONVERGED (R-hat > {RHAT_MAX})"
        print(f"{name}: max R-hat {rhat:.4f}, min ESS {ess:.0f}, "
              f"divergences {meta.get('divergences', 0)}, {time.perf_counter() - t0:.0f} s, "
              f"{path.stat().st_size / 1e3:.0f} kB{flag}", flush=True)  # fmt: skip
    print(json.dumps({"failed": failures}))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
