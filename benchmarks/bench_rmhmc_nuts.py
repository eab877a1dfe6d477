"""Riemannian NUTS against the fixed trajectory and nutpie, on the issue's protocol, in one run.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_rmhmc_nuts.py --full     # 4 chains x 1000 + 1000 tune
    .venv/bin/python benchmarks/bench_rmhmc_nuts.py --quick    # 2 chains x 300 + 300 tune
    .venv/bin/python benchmarks/bench_rmhmc_nuts.py --quick --models funnel --metrics fisher \
        --path-scales 0.5,1,2

For every model (Neal's funnel d = 10, eight schools centered, German credit) it runs nutpie,
RMHMC ``trajectory="fixed"`` at each path length ``scale x`` the step-method benchmark's one
(the best by ESS per gradient evaluation is the reference of the issue), and RMHMC
``trajectory="nuts"``; then prints the ratios NUTS / nutpie (ESS per second) and NUTS / best
fixed (ESS per gradient evaluation, ESS per second).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from bench_rmhmc import MODELS, _fmt, run_nutpie, run_rmhmc  # noqa: E402


def _ess_s(r: dict) -> float:
    return r["ess"] / r["sample_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="2 chains x 300 draws, 300 tune")
    mode.add_argument("--full", action="store_true", help="4 chains x 1000 draws, 1000 tune")
    parser.add_argument("--models", default="funnel,eight_schools,german_credit")
    parser.add_argument("--metrics", default="fisher,softabs")
    parser.add_argument("--path-scales", default="1", help="fixed path lengths, relative")
    parser.add_argument("--max-treedepth", type=int, default=10)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--options", default="{}", help="JSON RMHMC options for both")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    chains, draws, tune = (4, 1000, 1000) if args.full or not args.quick else (2, 300, 300)
    run = (chains, draws, tune, args.cores, args.seed)
    print(f"protocol: {chains} chains x {draws} draws after {tune} tuning, cores={args.cores}")
    extra = json.loads(args.options)
    scales = [float(s) for s in args.path_scales.split(",")]
    for name in args.models.split(","):
        build, key, options = MODELS[name]
        print(f"{name} (key: {key or 'min over parameters'})", flush=True)
        base = run_nutpie(build(), key, *run)
        print(_fmt("nutpie", base), flush=True)
        for metric in args.metrics.split(","):
            fixed = []
            for s in scales:
                opts = options | extra | {"path_length": s * options["path_length"]}
                r = run_rmhmc(build(), key, metric, opts, *run)
                print(_fmt(f"{metric}/fixed L={opts['path_length']:.3g}", r), flush=True)
                fixed.append(r)
            opts = extra | {"trajectory": "nuts", "max_treedepth": args.max_treedepth}
            nuts = run_rmhmc(build(), key, metric, opts, *run)
            print(_fmt(f"{metric}/nuts", nuts), flush=True)
            best = max(fixed, key=lambda r: r["ess_per_grad"])
            print(
                f"  {metric}: nuts/nutpie ESS/s = {_ess_s(nuts) / _ess_s(base):.2f}x; "
                f"nuts/best-fixed ESS/grad = {nuts['ess_per_grad'] / best['ess_per_grad']:.2f}x, "
                f"ESS/s = {_ess_s(nuts) / _ess_s(best):.2f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
