"""Fisher information of a logistic regression against the numpy floor.

The floor is numpy's ``X.T @ (w[:, None] * X)`` with ``w = p(1 − p)``: what any implementation
must at least do. We time, after compilation, the analytic expected information and the observed
information (both compiled from the model graph), and report their ratios to the floor from the
same run, plus compile times with a cold and a warm PyTensor cache (fresh processes).

    .venv/bin/python benchmarks/bench_fisher.py            # n=100,000 d=50 and n=1,000 d=25
    .venv/bin/python benchmarks/bench_fisher.py --repeats 61
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

SIZES = [(100_000, 50), (1_000, 25)]


def make_data(n: int, d: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) / np.sqrt(d)
    w = rng.normal(size=d)
    y = rng.random(n) < 1 / (1 + np.exp(-X @ w))
    return X, y, w


def build(n: int, d: int):
    import pymc as pm

    import pymc_fisher as pmf

    X, y, w = make_data(n, d)
    with pm.Model() as model:
        b = pm.Normal("b", 0, 10, shape=d)
        pm.Bernoulli("y", logit_p=X @ b, observed=y)
    compile_seconds = {}
    fns = {}
    for kind in ("expected", "observed"):
        start = time.perf_counter()
        theta, matrix, _ = pmf.fisher_information_graph(model, kind=kind)
        import pytensor

        fns[kind] = pytensor.function([theta], matrix, trust_input=True)
        compile_seconds[kind] = time.perf_counter() - start
    return X, w, fns, compile_seconds


def _seconds(fn, arg) -> float:
    start = time.perf_counter()
    fn(arg)
    return time.perf_counter() - start


def interleaved_ratios(fns: dict, baseline: str, arg, repeats: int) -> dict[str, float]:
    """Median over rounds of each function's time over the baseline's in the same round.

    Each round times every function once, back to back, so a shared machine's load hits the
    numerator and denominator of a ratio alike; blocks of repeats per function would not.
    """
    for fn in fns.values():  # JIT-compiling linkers compile on the first call
        fn(arg)
    rounds = [{name: _seconds(fn, arg) for name, fn in fns.items()} for _ in range(repeats)]
    ratios = {
        name: float(np.median([r[name] / r[baseline] for r in rounds]))
        for name in fns
        if name != baseline
    }
    ratios[f"{baseline}_seconds"] = float(np.median([r[baseline] for r in rounds]))
    return ratios


def run_size(n: int, d: int, repeats: int) -> dict:
    X, w, fns, compile_seconds = build(n, d)

    def floor(theta):
        p = 1 / (1 + np.exp(-X @ theta))
        return X.T @ ((p * (1 - p))[:, None] * X)

    reference = floor(w)
    for fn in fns.values():  # the timed functions must compute the right thing
        np.testing.assert_allclose(fn(w), reference, rtol=1e-9)
    ratios = interleaved_ratios({"floor": floor, **fns}, "floor", w, repeats)
    return {
        "n": n,
        "d": d,
        "floor_seconds": ratios["floor_seconds"],
        "expected_ratio": ratios["expected"],
        "observed_ratio": ratios["observed"],
        "compile_seconds": compile_seconds,
    }


def compile_times(n: int, d: int) -> dict:
    """Compile seconds in fresh processes: a cold cache (new compiledir), then warm (same dir)."""
    out = {}
    with tempfile.TemporaryDirectory() as compiledir:
        env = dict(os.environ, PYTENSOR_FLAGS=f"compiledir={compiledir}")
        for label in ("cold", "warm"):
            result = subprocess.run(
                [sys.executable, __file__, "--compile-only", str(n), str(d)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            out[label] = json.loads(result.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=31)
    parser.add_argument("--compile-only", nargs=2, type=int, metavar=("N", "D"))
    args = parser.parse_args()
    if args.compile_only:
        _, _, _, seconds = build(*args.compile_only)
        print(json.dumps(seconds))
        return
    print("Fisher information of a logistic regression, ratio to numpy's X.T @ (w[:, None] * X)")
    header = f"{'n':>8} {'d':>4} {'floor s':>9} {'expected':>9} {'observed':>9}"
    print(f"{header}   compile s (cold / warm)")
    for n, d in SIZES:
        r = run_size(n, d, args.repeats)
        c = compile_times(n, d)
        print(
            f"{n:>8} {d:>4} {r['floor_seconds']:>9.4f} {r['expected_ratio']:>8.2f}x "
            f"{r['observed_ratio']:>8.2f}x   expected {c['cold']['expected']:.1f} / "
            f"{c['warm']['expected']:.1f}, observed {c['cold']['observed']:.1f} / "
            f"{c['warm']['observed']:.1f}"
        )
    print("targets (n=100,000, d=50): expected <= 1.3x, observed <= 2x")


if __name__ == "__main__":
    main()
