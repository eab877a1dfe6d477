"""The explicit blockwise integrator against the implicit generalized leapfrog, same kernel.

Usage (from the repository root)::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_blockwise.py            # 2 x 500 after 500
    PYTHONPATH=. .venv/bin/python benchmarks/bench_blockwise.py --draws 1000 --tune 1000

Both integrators run in the NumPy reference kernel (the blockwise one has no compiled twin
yet), with ``RMHMC``'s defaults (Fisher metric, target_accept 0.9, automatic integration time,
fixed trajectory), chains one after another in this process, so their times compare. The
model's two compiled functions are wrapped to count their calls after tuning:

- ``evaluate`` (log p, its gradient and the metric G, one call),
- ``contract`` (the metric-derivative reverse pass).

Each call's cost is measured at the start point against a plain ``(log p, ∇log p)`` function
compiled the same way (Numba): gradient-equivalents per step = Σ calls × cost / cost of a
gradient / leapfrog steps. ESS is min(bulk, tail) over every unconstrained scalar.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pymc as pm
import pytensor
from arviz_stats.base import array_stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pymc_fisher.compile import compile_function  # noqa: E402
from pymc_fisher.samplers.core.chain import chain_arrays  # noqa: E402
from pymc_fisher.samplers.drivers.step import RMHMC  # noqa: E402
from pymc_fisher.samplers.transitions.iteration import chain_step, record  # noqa: E402
from tests.models import eight_schools_centered, funnel  # noqa: E402

MODELS = {"funnel10": lambda: funnel(10), "eight_schools_centered": eight_schools_centered}


class Counted:
    """A compiled function that counts its calls while ``on``."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.calls = 0
        self.on = False

    def __call__(self, *args: Any) -> Any:
        if self.on:
            self.calls += 1
        return self.fn(*args)


def _cost(fn: Any, *args: Any, repeats: int = 2000) -> float:
    """Seconds per call (best of 5 batches)."""
    best = np.inf
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(repeats // 5):
            fn(*args)
        best = min(best, (time.perf_counter() - t) / (repeats // 5))
    return best


def _gradient_function(model: pm.Model) -> Any:
    """``θ -> (log p, ∇log p)`` compiled as the sampler's evaluate is."""
    from pymc_fisher.fisher.model_graph import substitute, theta_replacements

    theta = pytensor.tensor.vector("theta", dtype="float64")
    vars = [model.rvs_to_values[rv] for rv in model.free_RVs]
    point = model.initial_point()
    replace = theta_replacements(vars, [np.shape(point[v.name]) for v in vars], theta)
    [logp] = substitute(model, [model.logp(jacobian=True)], replace)
    with model:
        fn = compile_function(
            [theta], [logp, pytensor.grad(logp, theta)], name="grad", mode="NUMBA", sampling=True
        )
    fn.trust_input = True
    return fn


def _ess(draws: np.ndarray) -> float:
    """min(bulk, tail) ESS over the scalars of ``draws`` (chain, draw, d)."""
    bulk = array_stats.ess(draws, chain_axis=0, draw_axis=1, method="bulk")
    tail = array_stats.ess(draws, chain_axis=0, draw_axis=1, method="tail", prob=(0.05, 0.95))
    return float(min(np.min(bulk), np.min(tail)))


def run(name: str, integrator: str, chains: int, draws: int, tune: int, seed: int) -> dict:
    model = MODELS[name]()
    with model:
        step = RMHMC(integrator=integrator, compiled=False)  # type: ignore[arg-type]
    evaluate, contract = Counted(step._compiled.evaluate), Counted(step._compiled.contract)
    step._compiled.evaluate, step._compiled.contract = evaluate, contract  # type: ignore[assignment]
    step._kernel_cache = None  # built on the unwrapped functions by the start check
    kernel = step.kernel
    theta0 = step._start_theta
    grad_fn = _gradient_function(model)
    weights = np.eye(theta0.size)
    costs = {
        "grad": _cost(grad_fn, theta0),
        "evaluate": _cost(evaluate.fn, theta0),
        "contract": _cost(contract.fn, theta0, weights),
    }
    settings = step.chain_settings(tune, draws)
    rngs = np.random.default_rng(seed).spawn(chains)
    thetas, steps, divergences, seconds = [], 0, 0, 0.0
    for c in range(chains):
        rng = rngs[c]
        start = kernel.evaluate(theta0 + rng.uniform(-1, 1, theta0.size))
        assert not isinstance(start, str)
        state = step.chain_start(start)
        arrays = chain_arrays(tune + draws, theta0.size)
        for i in range(tune + draws):
            if i == tune:
                evaluate.on = contract.on = True
                began = time.perf_counter()
            state, draw = chain_step(kernel, state, settings, rng)
            record(arrays, i, state.position, draw)
            if i >= tune:
                steps += draw.info.n_steps
                divergences += draw.info.divergence not in ("none", "reversal")
        seconds += time.perf_counter() - began
        evaluate.on = contract.on = False
        thetas.append(arrays.theta[tune:])
    ess = _ess(np.stack(thetas))
    work = evaluate.calls * costs["evaluate"] + contract.calls * costs["contract"]
    grad_eq = work / costs["grad"]
    return {
        "model": name,
        "integrator": integrator,
        "ess": ess,
        "steps_per_draw": steps / (chains * draws),
        "calls_per_step": (evaluate.calls + contract.calls) / steps,
        "grad_eq_per_step": grad_eq / steps,
        "ess_per_grad_eq": ess / grad_eq,
        "ess_per_s": ess / seconds,
        "divergences": divergences,
        "costs_us": {k: round(v * 1e6, 1) for k, v in costs.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--models", default="funnel10,eight_schools_centered")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    print(
        f"{args.chains} chains x {args.draws} draws after {args.tune}, NumPy reference kernel, "
        "RMHMC defaults (fisher, target_accept 0.9, path_length auto, fixed trajectory)"
    )
    header = (
        "| model | integrator | min ESS | steps/draw | calls/step | grad-eq/step | "
        "ESS/grad-eq | ESS/s | divergences | µs per call (grad, evaluate, contract) |"
    )
    print(header)
    print("|---" * 10 + "|")
    for name in args.models.split(","):
        for integrator in ("implicit", "blockwise"):
            r = run(name, integrator, args.chains, args.draws, args.tune, args.seed)
            c = r["costs_us"]
            print(
                f"| {name} | {integrator} | {r['ess']:.0f} | {r['steps_per_draw']:.1f} | "
                f"{r['calls_per_step']:.2f} | {r['grad_eq_per_step']:.2f} | "
                f"{r['ess_per_grad_eq']:.2e} | {r['ess_per_s']:.1f} | {r['divergences']} | "
                f"{c['grad']}, {c['evaluate']}, {c['contract']} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
