"""Time of the kernel Stein discrepancy, n = 4000 draws, d = 25 (issue 24's target: < 2 s on
two cores), and the ratio against the ``stein-thinning`` package on the same input.

Three timings, each the best of ``--repeats`` warm calls (after a first call that compiles):

- ``kernel``: the O(n² d) double sum alone (``pymc_fisher.stein.kernel.kernel_sums``) on
  whitened Gaussian draws;
- ``stein_discrepancy``: the whole public call on German credit (d = 25, 1000 observations),
  4 × 1000 Laplace draws: reading, transforming and scoring the draws, the information at the
  mode, whitening and the double sum;
- ``stein-thinning``: its cumulative KSD (``stein_thinning.stein.ksd`` with the IMQ kernel,
  identity metric) on the same whitened input as ``kernel``, if installed; its last value must
  equal ours.

Measured 2026-12-08 on the shared 2-core machine (load 4, two other engineers' runs): kernel
0.30 s (0.21 s with the cores free); the whole call 0.84-1.24 s; stein-thinning 35.7 s, 117x
slower, agreeing to 4e-16.

Usage::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_stein.py [--repeats 3] [--n 4000] [--d 25]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np

import pymc_fisher as pmf
from pymc_fisher.bench.targets import german_credit
from pymc_fisher.stein.kernel import kernel_sums


def best_of(repeats: int, fn) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--d", type=int, default=25)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, numba threads: {__import__('numba').get_num_threads()}")

    rng = np.random.default_rng(0)
    z = rng.normal(size=(args.n, args.d))
    s = -z
    kernel_sums(z[:10], s[:10])  # compile (or load Numba's cache)
    t_kernel, sums = best_of(args.repeats, lambda: kernel_sums(z, s))
    ksd = np.sqrt(sums.v_statistic)
    print(f"kernel n={args.n} d={args.d}: {t_kernel:.3f} s  (KSD = {ksd:.6g})")

    model = german_credit()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata = pmf.fit_laplace(model, draws=1000, chains=4, random_seed=1)
    pmf.stein_discrepancy(model, idata)
    t_call, ksd = best_of(args.repeats, lambda: pmf.stein_discrepancy(model, idata))
    print(
        f"stein_discrepancy on German credit, {ksd.attrs['n_draws']} draws, "
        f"d={ksd.attrs['dimension']}: {t_call:.3f} s  (KSD = {float(ksd):.6g}, "
        f"ratio to the floor {ksd.attrs['ratio']:.3f})"
    )

    try:
        from stein_thinning.kernel import vfk0_imq
        from stein_thinning.stein import ksd as st_ksd
    except ImportError:
        print("stein-thinning is not installed: no comparison")
        return
    eye = np.eye(args.d)
    start = time.perf_counter()
    path = st_ksd(lambda a, b: vfk0_imq(z[a], z[b], s[a], s[b], eye), args.n)
    t_st = time.perf_counter() - start
    agreement = abs(path[-1] / np.sqrt(sums.v_statistic) - 1)
    print(
        f"stein-thinning on the same input: {t_st:.3f} s; ours is {t_st / t_kernel:.1f}x faster; "
        f"KSD relative difference {agreement:.1e}"
    )


if __name__ == "__main__":
    main()
