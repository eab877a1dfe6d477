"""Fresh-process wall time: pymc_fisher.fit_laplace vs pymc_extras.fit_laplace(trust-ncg).

Each run is a new Python process (imports included), so the figures are what a user waits for.
"cold": a fresh, empty PyTensor compile cache per run (``PYTENSOR_FLAGS=base_compiledir=<tmp>``;
the Numba linker keeps its cache in ``<base_compiledir>/numba``, so ``compiledir`` alone would
leave it warm). "warm": the cache the first cold run filled.

Usage::

    .venv/bin/python benchmarks/bench_laplace.py --cold-repeats 1 --warm-repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()
MODELS = ("german_credit", "eight_schools")
IMPLS = ("pymc_fisher", "pymc_extras")


# the study registry's models, so this benchmark measures what the studies run
TARGETS = {"german_credit": "german_credit", "eight_schools": "eight_schools_noncentered"}


def worker(impl: str, name: str) -> None:
    import warnings

    warnings.simplefilter("ignore")
    from pymc_fisher.bench.targets import get_target  # imported before the clock starts

    build = get_target(TARGETS[name]).build
    start = time.perf_counter()
    model = build()
    if impl == "pymc_fisher":
        from pymc_fisher.laplace import fit_laplace

        dt = fit_laplace(model, draws=1000, random_seed=0)
    else:
        from pymc_extras.inference import fit_laplace

        dt = fit_laplace(
            optimize_method="trust-ncg",
            model=model,
            draws=1000,
            random_seed=0,
            progressbar=False,
        )
    fit_seconds = time.perf_counter() - start
    sd = np.sqrt(np.diag(dt.fit.covariance_matrix.values))
    print(json.dumps({"fit_seconds": fit_seconds, "sd": sd.tolist()}))


def run(impl: str, name: str, cache: str) -> dict:
    env = dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={cache}")
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, str(HERE), "--worker", impl, name],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - start
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = wall
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", nargs=2, metavar=("IMPL", "MODEL"))
    parser.add_argument("--cold-repeats", type=int, default=1)
    parser.add_argument("--warm-repeats", type=int, default=3)
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    # without pymc-extras installed, "--impls pymc_fisher" times ours alone (no ratio)
    parser.add_argument("--impls", nargs="*", default=list(IMPLS), choices=IMPLS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    rows = []
    with tempfile.TemporaryDirectory() as root:
        for name in args.models:
            for impl in args.impls:
                samples: dict[str, list[dict]] = {"cold": [], "warm": []}
                for r in range(args.cold_repeats):
                    cache = str(Path(root) / f"{impl}_{name}_{r}")
                    samples["cold"].append(run(impl, name, cache))
                # the first cold run's cache, now full, is the warm cache
                warm_cache = str(Path(root) / f"{impl}_{name}_0")
                for _ in range(args.warm_repeats):
                    samples["warm"].append(run(impl, name, warm_cache))
                sd = np.array(samples["cold"][0]["sd"])
                for mode, results in samples.items():
                    walls = [res["wall_seconds"] for res in results]
                    fits = [res["fit_seconds"] for res in results]
                    rows.append((name, impl, mode, np.median(walls), np.median(fits), sd))
                    print(
                        f"{name:14s} {impl:12s} {mode:5s} wall median {np.median(walls):7.2f} s "
                        f"(runs {', '.join(f'{w:.2f}' for w in walls)}); fit median "
                        f"{np.median(fits):7.2f} s",
                        flush=True,
                    )
    if set(args.impls) != set(IMPLS):
        return
    # The headline is the fit_laplace call in a fresh process (compilation included); the whole
    # process adds Python start-up and `import pymc` (~2.5 s), which neither library changes.
    print("\nratio pymc_fisher / pymc_extras, medians: fit_laplace call in a fresh process")
    print("(whole process, start-up and imports included, in ())")
    table = {(n, i, m): (w, f) for n, i, m, w, f, _ in rows}
    for name in args.models:
        for mode in ("cold", "warm"):
            ours, theirs = table[(name, "pymc_fisher", mode)], table[(name, "pymc_extras", mode)]
            print(f"{name:14s} {mode:5s} {ours[1] / theirs[1]:.2f}x  ({ours[0] / theirs[0]:.2f}x)")
    sds = {(n, i): s for n, i, _, _, _, s in rows}
    for name in args.models:
        ours, theirs = sds[(name, "pymc_fisher")], sds[(name, "pymc_extras")]
        print(f"{name}: max relative sd difference {np.max(np.abs(ours / theirs - 1)):.2e}")


if __name__ == "__main__":
    main()
