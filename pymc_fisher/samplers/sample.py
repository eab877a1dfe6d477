"""``pmf.sample``: RMHMC chains in compiled threads, returned as ``pm.sample`` returns them.

``pm.sample(step=RMHMC())`` sends every draw through a pipe between a worker and the main
process (about 240 µs of CPU per draw, measured: more than a transition on small models).
Here each chain's whole loop — warm-up, transitions, recording — runs in the compiled kernel
(:mod:`.numba_chain`) without the GIL, in a pool of ``cores`` threads; Python only starts the
chains, redraws the progress bar and assembles the ``DataTree`` (:mod:`.assembly`).

Where the compiled kernel cannot run the model (an op without a Numba implementation) or the
trajectory is the No-U-Turn one (whose tree is built in Python), each chain runs the Python
chain loop in a process of its own (``forkserver``: the step method is sent pickled, as
``pm.sample`` sends it) and returns its arrays once.

The random numbers are PyMC's: one generator per chain, spawned from ``random_seed`` as
``pm.sample`` spawns them, and the same initial points, so with the same settings a chain here
is the chain ``pm.sample(step=pmf.RMHMC())`` draws, whatever ``cores`` is.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import cloudpickle
import numpy as np
import pymc as pm
from pymc.blocking import DictToArrayBijection
from pymc.initial_point import make_initial_point_fns_per_chain
from pymc.util import get_random_generator
from threadpoolctl import threadpool_limits

from pymc_fisher.errors import FisherError
from pymc_fisher.samplers.assembly import RECORDED_KINDS, to_datatree
from pymc_fisher.samplers.chain import ChainArrays, ChainSettings, ChainState, chain_arrays
from pymc_fisher.samplers.kernel import KernelFallbackWarning
from pymc_fisher.samplers.step import _DIVERGENCE_ADVICE, RMHMC

__all__ = ["ChainFailedError", "RMHMCSampler"]

_log = logging.getLogger("pymc")

_POLL_SECONDS = 0.1


class ChainFailedError(FisherError, RuntimeError):
    """Every chain failed; the message says which chain failed and why."""


class RMHMCSampler:
    """RMHMC as a whole-chain sampler, with the run arguments of PyMC's proposed ``Sampler``.

    Parameters
    ----------
    **options
        :class:`~.step.RMHMC`'s options (metric, trajectory, path_length, target_accept,
        solver, adaptation, ...).

    Notes
    -----
    :meth:`sample_from_init` takes the run arguments of ``pymc.sampling.samplers.Sampler``
    (``sample_from_init``, proposed in pymc-devs/pymc#8353), so that this class plugs into
    ``pm.sample(sampler=...)`` if that interface is merged.
    """

    def __init__(self, **options: Any) -> None:
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
    ) -> Any:
        """Sample ``chains`` chains of ``tune + draws`` iterations.

        What ``pmf.sample(method="rmhmc")`` runs; its docstring says what is returned.
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
        ipfns = make_initial_point_fns_per_chain(
            model=model, overrides=initvals, jitter_rvs=set(), chains=chains
        )
        points = [ipfn(seed) for ipfn, seed in zip(ipfns, seeds, strict=True)]
        begin = time.perf_counter()
        step = RMHMC(model=model, initial_point=points[0], check_start=False, **self.options)
        settings = step.chain_settings(tune, draws)
        failed: dict[int, str] = {}
        states: list[ChainState | None] = []
        for c, point in enumerate(points):
            theta = np.concatenate([np.ravel(point[name]) for name in step.var_names])
            try:
                position = step.evaluate_start(theta.astype(np.float64), f"chain {c}'s start")
            except FisherError as exc:
                failed[c] = f"{type(exc).__name__}: {exc}"
                states.append(None)
                continue
            states.append(step.chain_start(position))
        compile_time = time.perf_counter() - begin
        n = tune + draws
        arrays = [chain_arrays(n, step._compiled.size) for _ in range(chains)]
        progress = np.zeros((chains, 3))
        stop = np.zeros(1, dtype=np.int64)
        start = time.perf_counter()
        done, phases, main_thread_time = _run(
            step, states, settings, rngs, arrays, progress, stop, cores, failed,
            progressbar and not quiet,
        )  # fmt: skip
        sampling_time = time.perf_counter() - start
        if len(failed) == chains:
            raise ChainFailedError(
                "Every chain failed: " + "; ".join(f"chain {c}: {why}" for c, why in failed.items())
            )
        for c, why in failed.items():
            _log.warning(f"RMHMC chain {c} failed and is left out of the result: {why}")
        kept, n_done = _choose_chains([c for c in range(chains) if c not in failed], done)
        if n_done < n and not quiet:
            _log.warning(f"Sampling stopped after {n_done} of {n} iterations; they are returned.")
        _advise(arrays, kept, tune, n_done, quiet)
        point_map_info = DictToArrayBijection.map(
            {name: points[0][name] for name in step.var_names}
        ).point_map_info
        idata = to_datatree(
            model, [arrays[c] for c in kept], n_done, tune, point_map_info, points[0],
            var_names=var_names, discard_tuned_samples=discard_tuned_samples,
            compute_convergence_checks=compute_convergence_checks, idata_kwargs=idata_kwargs,
            sampling_time=sampling_time, quiet=quiet,
        )  # fmt: skip
        if keep_warning_stat:
            _log.debug("pmf.sample records no per-draw warning objects (keep_warning_stat).")
        idata.attrs.update(
            compile_time=compile_time,
            warmup_time=float(np.sum([phases[c][0] for c in kept])),
            draws_time=float(np.sum([phases[c][1] for c in kept])),
            sampling_time=sampling_time,
            assembly_time=time.perf_counter() - start - sampling_time,
            main_thread_time=main_thread_time,
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


def _run(
    step: RMHMC,
    states: list[ChainState | None],
    settings: ChainSettings,
    rngs: list[np.random.Generator],
    arrays: list[ChainArrays],
    progress: np.ndarray,
    stop: np.ndarray,
    cores: int,
    failed: dict[int, str],
    show: bool,
) -> tuple[list[int], list[tuple[float, float]], float]:
    """Run every chain that could start; ``failed`` gains the ones that fail.

    Returns each chain's iterations done, its (warm-up, sampling) seconds, and the CPU seconds
    the main thread spent meanwhile (polling and redrawing the bar: Python's share of the loop).
    """
    from pymc_fisher.samplers.progress import ChainProgress

    kernel = step.kernel
    threaded = kernel.name == "compiled" and not settings.nuts
    if not threaded and cores == 1:
        # the chain loop holds the GIL (NUTS's tree, the reference kernel): with one core a pool
        # of processes buys nothing, so the chains run here, one after the other
        return _run_here(kernel, states, settings, rngs, arrays, progress, stop, failed)
    done = [0] * len(states)
    phases = [(0.0, 0.0)] * len(states)
    bar = ChainProgress(len(states), settings.tune + settings.draws, settings.tune, enabled=show)
    pool: Any
    if threaded:
        pool = ThreadPoolExecutor(max_workers=cores)
    else:
        blob = cloudpickle.dumps(step)
        context = multiprocessing.get_context("forkserver")
        pool = ProcessPoolExecutor(max_workers=cores, mp_context=context)
    futures: dict[int, Future] = {}
    with bar, pool, threadpool_limits(limits=1, user_api="blas"):
        for c, state in enumerate(states):
            if state is None:
                continue
            if threaded:
                futures[c] = pool.submit(
                    _phases, kernel.chain, state, settings, rngs[c], arrays[c], progress[c], stop
                )
            else:
                futures[c] = pool.submit(_process_chain, blob, state, settings, rngs[c], arrays[c])
        main = time.thread_time()
        try:
            while not all(f.done() for f in futures.values()):
                bar.update(progress, failed)
                _wait()
        except KeyboardInterrupt:
            stop[0] = 1  # the chains stop at their next iteration; what they drew is kept
            if not threaded:
                for f in futures.values():
                    f.cancel()
        for c, f in futures.items():
            try:
                if threaded:
                    done[c], phases[c] = f.result()
                else:
                    done[c], phases[c], arrays[c] = f.result()
                    progress[c, 0] = done[c]
            except Exception as exc:  # a chain that fails is reported; the others are kept
                failed[c] = f"{type(exc).__name__}: {exc}"
        bar.update(progress, failed)
    return done, phases, time.thread_time() - main


def _run_here(
    kernel: Any,
    states: list[ChainState | None],
    settings: ChainSettings,
    rngs: list[np.random.Generator],
    arrays: list[ChainArrays],
    progress: np.ndarray,
    stop: np.ndarray,
    failed: dict[int, str],
) -> tuple[list[int], list[tuple[float, float]], float]:
    """Every chain in this thread (see :func:`_run`); Ctrl-C keeps what was drawn."""
    done = [0] * len(states)
    phases = [(0.0, 0.0)] * len(states)
    main = time.thread_time()
    for c, state in enumerate(states):
        if state is None or stop[0]:
            continue
        try:
            done[c], phases[c] = _phases(
                kernel.chain, state, settings, rngs[c], arrays[c], progress[c], stop
            )
        except KeyboardInterrupt:
            stop[0] = 1
            done[c] = int(progress[c, 0])
        except Exception as exc:  # a chain that fails is reported; the others are kept
            failed[c] = f"{type(exc).__name__}: {exc}"
    return done, phases, time.thread_time() - main


def _phases(
    chain: Any,
    state: ChainState,
    settings: ChainSettings,
    rng: np.random.Generator,
    arrays: ChainArrays,
    progress: np.ndarray,
    stop: np.ndarray,
) -> tuple[int, tuple[float, float]]:
    """Warm-up, then sampling from where it ended: iterations done and each phase's seconds."""
    t0 = time.perf_counter()
    done, state = chain(state, settings._replace(draws=0), rng, arrays, progress, stop)
    t1 = time.perf_counter()
    if done == settings.tune:
        done, state = chain(state, settings, rng, arrays, progress, stop)
    return done, (t1 - t0, time.perf_counter() - t1)


def _wait() -> None:
    """Between redraws of the progress bar (where a KeyboardInterrupt lands)."""
    threading.Event().wait(_POLL_SECONDS)


def _process_chain(
    blob: bytes,
    state: ChainState,
    settings: ChainSettings,
    rng: np.random.Generator,
    arrays: ChainArrays,
) -> tuple[int, tuple[float, float], ChainArrays]:
    """One chain in a worker process (the step method unpickled there), its arrays returned."""
    step = cloudpickle.loads(blob)
    progress, stop = np.zeros(3), np.zeros(1, dtype=np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KernelFallbackWarning)  # said once, in the parent
        kernel = step.kernel
    done, phases = _phases(kernel.chain, state, settings, rng, arrays, progress, stop)
    return done, phases, arrays
