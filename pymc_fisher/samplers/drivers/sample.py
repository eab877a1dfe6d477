"""``pmf.sample``: RMHMC chains in compiled threads, returned as ``pm.sample`` returns them.

``pm.sample(step=RMHMC())`` sends every draw through a pipe between a worker and the main
process (about 240 µs of CPU per draw, measured: more than a transition on small models).
Here each chain's whole loop — warm-up, transitions, recording — runs in the compiled kernel
(:mod:`.compiled.chain`) without the GIL, in a pool of ``cores`` threads; Python only starts the
chains, redraws the progress bar and assembles the ``DataTree`` (:mod:`.drivers.assembly`).

Where the compiled kernel cannot run the model (an op without a Numba implementation) or the
trajectory is the No-U-Turn one (whose tree is built in Python), each chain runs the Python
chain loop in a process of its own (``forkserver``: the step method is sent pickled, as
``pm.sample`` sends it) and returns its arrays once.

The random numbers are PyMC's: one generator per chain, spawned from ``random_seed`` as
``pm.sample`` spawns them, and the same initial points, so with the same settings a chain here
is the chain ``pm.sample(step=pmf.RMHMC())`` draws, whatever ``cores`` is.
"""

from __future__ import annotations

import inspect
import logging
import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pymc as pm
from pymc.blocking import DictToArrayBijection
from pymc.initial_point import make_initial_point_fns_per_chain
from pymc.util import get_random_generator

from pymc_fisher.errors import FisherError
from pymc_fisher.samplers.core.chain import ChainArrays, ChainState, chain_arrays
from pymc_fisher.samplers.core.types import PositionPoint
from pymc_fisher.samplers.drivers.assembly import RECORDED_KINDS, to_datatree
from pymc_fisher.samplers.drivers.runner import run_chains
from pymc_fisher.samplers.drivers.step import _DIVERGENCE_ADVICE, RMHMC

__all__ = ["ChainFailedError", "RMHMCSampler"]

_log = logging.getLogger("pymc")

#: The step method's options that apply to a whole-model run (the rest pick variables or a
#: start, which ``pmf.sample`` decides itself).
_NOT_HERE = frozenset({"vars", "model", "initial_point", "check_start", "blocked", "rng"})
STEP_OPTIONS = frozenset(inspect.signature(RMHMC.__init__).parameters) - _NOT_HERE - {"self"}

_POLL_SECONDS = 0.1


class ChainFailedError(FisherError, RuntimeError):
    """Every chain failed; the message says which chain failed and why."""


class RMHMCSampler:
    """RMHMC as a whole-chain sampler, with the run arguments of PyMC's proposed ``Sampler``.

    Parameters
    ----------
    **options
        :class:`~.drivers.step.RMHMC`'s options (metric, trajectory, path_length, target_accept,
        solver, adaptation, ...).

    Notes
    -----
    :meth:`sample_from_init` takes the run arguments of ``pymc.sampling.samplers.Sampler``
    (``sample_from_init``, proposed in pymc-devs/pymc#8353), so that this class plugs into
    ``pm.sample(sampler=...)`` if that interface is merged.
    """

    def __init__(self, **options: Any) -> None:
        wrong = sorted(set(options) - STEP_OPTIONS)
        if wrong:
            run = sorted(set(wrong) & _NOT_HERE)
            hint = (
                f" {run} belong to pm.sample(step=pmf.RMHMC(...)), which samples some variables "
                "with RMHMC and the rest with other steps; pmf.sample samples every variable."
                if run
                else ""
            )
            raise ValueError(
                f"Options {wrong} do not apply to RMHMC in pmf.sample (its options: "
                f"{sorted(STEP_OPTIONS)}).{hint}"
            )
        self.options = options

    def sample_from_init(
        self,
        *,
        model: pm.Model,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        cores: int | None = None,
        initvals: dict | Sequence[dict | None] | None = None,
        random_seed: Any = None,
        progressbar: bool = True,
        quiet: bool = False,
        discard_tuned_samples: bool = True,
        keep_warning_stat: bool = False,
        var_names: Sequence[str] | None = None,
        idata_kwargs: dict | None = None,
        compute_convergence_checks: bool = True,
        compile_kwargs: dict | None = None,
        jitter: bool = True,
        mp_ctx: Any = None,
    ) -> Any:
        """Sample ``chains`` chains of ``tune + draws`` iterations.

        What ``pmf.sample(method="rmhmc")`` runs; its docstring says what is returned.
        ``jitter`` starts each chain at its initial point jittered as ``pm.sample``'s NUTS and
        nutpie do (a uniform on (-1, 1) added to every unconstrained value; ``False``: the
        initial points ``pm.sample(step=pmf.RMHMC())`` starts from). ``mp_ctx`` is the
        multiprocessing context of the process path, as ``pm.sample``'s.
        """
        if compile_kwargs:
            raise ValueError(
                "RMHMC compiles the model in Numba mode itself; compile_kwargs are not used."
            )
        if random_seed == -1:
            raise ValueError("random_seed=-1 is not allowed; pass None for no seed (as pm.sample).")
        cores = min(4, os.cpu_count() or 1) if cores is None else int(cores)
        rngs = get_random_generator(random_seed).spawn(chains)
        seeds = [rng.integers(2**30) for rng in rngs]  # as pm.sample: advances each generator
        begin = time.perf_counter()
        plain_fns = _initial_point_fns(model, initvals, chains, jitter=False)
        jitter_fns = _initial_point_fns(model, initvals, chains, jitter=True) if jitter else None
        first = plain_fns[0](seeds[0])
        step = RMHMC(model=model, initial_point=first, check_start=False, **self.options)
        settings = step.chain_settings(tune, draws)
        failed: dict[int, str] = {}
        states: list[ChainState | None] = []
        for c in range(chains):
            fns = [plain_fns[c]] if jitter_fns is None else [jitter_fns[c], plain_fns[c]]
            _, position, why = _start(step, fns, c, seeds[c])
            if position is None:
                failed[c] = why
                states.append(None)
            else:
                states.append(step.chain_start(position))
        compile_time = time.perf_counter() - begin
        n = tune + draws
        arrays = [chain_arrays(n, step._compiled.size) for _ in range(chains)]
        progress = np.zeros((chains, 3))
        start = time.perf_counter()
        outcome = run_chains(
            step, states, settings, rngs, arrays, progress, cores, failed,
            progressbar and not quiet, mp_ctx,
        )  # fmt: skip
        sampling_time = time.perf_counter() - start
        candidates = [c for c in range(chains) if outcome.done[c] > 0]
        if not candidates:
            raise ChainFailedError(
                "Every chain failed: " + "; ".join(f"chain {c}: {why}" for c, why in failed.items())
            )
        for c, why in failed.items():
            _log.warning(f"RMHMC chain {c} failed: {why}")
        kept, n_done = _choose_chains(candidates, outcome.done)
        if n_done < n and not quiet:
            _log.warning(f"Sampling stopped after {n_done} of {n} iterations; they are returned.")
        _advise(arrays, kept, tune, n_done, quiet)
        point_map_info = DictToArrayBijection.map(
            {name: first[name] for name in step.var_names}
        ).point_map_info
        idata = to_datatree(
            model, [arrays[c] for c in kept], n_done, tune, point_map_info, first,
            var_names=var_names, discard_tuned_samples=discard_tuned_samples,
            compute_convergence_checks=compute_convergence_checks, idata_kwargs=idata_kwargs,
            sampling_time=sampling_time, quiet=quiet, chain_ids=kept,
        )  # fmt: skip
        if keep_warning_stat:
            _log.debug("pmf.sample records no per-draw warning objects (keep_warning_stat).")
        idata.attrs.update(
            compile_time=compile_time,
            warmup_time=float(np.sum([outcome.phases[c][0] for c in kept])),
            draws_time=float(np.sum([outcome.phases[c][1] for c in kept])),
            sampling_time=sampling_time,
            assembly_time=time.perf_counter() - start - sampling_time,
            main_thread_time=outcome.main_thread_time,
            interrupted=int(outcome.interrupted),
            jitter=int(jitter),
        )
        if failed:
            idata.attrs["failed_chains"] = "; ".join(
                f"chain {c}: {why}" for c, why in sorted(failed.items())
            )
        return idata


def _choose_chains(chains: list[int], done: list[int]) -> tuple[list[int], int]:
    """The chains and length that keep the most draws (``pm.sample``'s rule after an interrupt).

    Examples
    --------
    >>> _choose_chains([0, 1, 2], [100, 100, 3])
    ([0, 1], 100)
    >>> _choose_chains([0, 1], [50, 60])
    ([0, 1], 50)
    """
    best = max(
        sorted({done[c] for c in chains}), key=lambda n: n * sum(done[c] >= n for c in chains)
    )
    return [c for c in chains if done[c] >= best], best


def _advise(arrays: Sequence[ChainArrays], kept: list[int], tune: int, n: int, quiet: bool) -> None:
    """Log the advice for each kind of divergence after tuning, once (as the step method does)."""
    if quiet:
        return
    codes = np.unique(np.concatenate([arrays[c].ints[tune:n, 0] for c in kept]))
    for kind in RECORDED_KINDS[codes.astype(int)]:
        if kind != "none":
            _log.warning(_DIVERGENCE_ADVICE[str(kind)])


#: Jittered starts tried per chain before its plain initial point (``pm.sample``'s NUTS tries 10).
JITTER_ATTEMPTS = 10


def _initial_point_fns(model: pm.Model, initvals: Any, chains: int, *, jitter: bool) -> list:
    return make_initial_point_fns_per_chain(
        model=model, overrides=initvals, jitter_rvs=set(model.free_RVs) if jitter else set(),
        chains=chains,
    )  # fmt: skip


def _start(
    step: RMHMC, fns: Sequence[Any], chain: int, seed: int
) -> tuple[dict[str, np.ndarray], PositionPoint | None, str]:
    """Chain ``chain``'s start: a point where log p and the metric are usable.

    With jittered initial-point functions ``fns[0]``, up to :data:`JITTER_ATTEMPTS` jittered
    points (seeds ``seed, seed + 1, ...``), then the plain initial point ``fns[-1]``; the reason
    of the last failure when none is usable.
    """
    attempts = [(fns[0], seed + k) for k in range(JITTER_ATTEMPTS)] if len(fns) > 1 else []
    why = ""
    for fn, s in [*attempts, (fns[-1], seed)]:
        point = fn(s)
        theta = np.concatenate([np.ravel(point[name]) for name in step.var_names])
        try:
            position = step.evaluate_start(theta.astype(np.float64), f"chain {chain}'s start")
        except FisherError as exc:
            why = f"{type(exc).__name__}: {exc}"
            continue
        return point, position, ""
    return point, None, why
