"""Run chains to their end or to a Ctrl-C, in threads, in processes or here, keeping every draw.

The compiled chain loop holds no GIL, so its chains run in a pool of threads writing into the
caller's arrays. The Python loop (the reference kernel, the No-U-Turn tree) runs each chain in a
worker process (the step method sent pickled, as ``pm.sample`` sends it) writing into shared
memory: its draws, statistics and progress row are the parent's to read at any time. Either way
a ``stop`` flag that every chain reads before each iteration ends the run: Ctrl-C (or any
exception while the parent waits) sets it, the chains stop at their next iteration, and what they
drew is returned. The workers ignore SIGINT, so a Ctrl-C in a terminal (sent to the whole process
group) reaches the parent alone, as one from Jupyter (sent to the kernel) does. A chain that
raises keeps the draws it made before.

The flag and the progress rows are plain memory read by nogil code: no lock is needed for one
writer and readers that only need to see the write eventually, and the loop's calls into the
model's functions keep the compiler from hoisting the flag's load out of it.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import tempfile
import threading
import time
import warnings
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial
from typing import Any, NamedTuple

import cloudpickle
import numpy as np
from threadpoolctl import threadpool_limits

from pymc_fisher.samplers.core.chain import ChainArrays, ChainSettings, ChainState
from pymc_fisher.samplers.core.kernel import KernelFallbackWarning
from pymc_fisher.samplers.transitions.iteration import run_chain

__all__ = ["ChainOutcome", "run_chains", "single_threaded_blas_in_worker"]

_POLL_SECONDS = 0.1


class ChainOutcome(NamedTuple):
    """What the chains did.

    Attributes
    ----------
    done
        Each chain's iterations done (its arrays hold that many rows).
    phases
        Each chain's (warm-up, sampling) wall seconds.
    main_thread_time
        CPU seconds the main thread spent meanwhile (polling, redrawing the bar).
    interrupted
        Whether a Ctrl-C ended the run.
    """

    done: list[int]
    phases: list[tuple[float, float]]
    main_thread_time: float
    interrupted: bool


def run_chains(
    step: Any,
    states: list[ChainState | None],
    settings: ChainSettings,
    rngs: list[np.random.Generator],
    arrays: list[ChainArrays],
    progress: np.ndarray,
    cores: int,
    failed: dict[int, str],
    show: bool,
    mp_ctx: Any = None,
) -> ChainOutcome:
    """Run every chain that could start (``states[c]`` not None); ``failed`` gains those that raise.

    Parameters
    ----------
    step
        The :class:`~.drivers.step.RMHMC` step method (its kernel, or itself pickled).
    states, settings, rngs, arrays
        Each chain's start, the chains' settings, generators and records.
    progress
        ``(chains, 3)``: each chain's ``[iterations done, divergences, step size]``.
    cores
        Chains run at once.
    failed
        Chain → reason; a chain that raises is added, with the draws it made kept.
    show
        Draw the progress bar.
    mp_ctx
        Multiprocessing context or start method of the process path (``pm.sample``'s
        ``mp_ctx``); default ``"forkserver"`` where the platform has it, else ``"spawn"``.
    """
    from pymc_fisher.samplers.drivers.progress import ChainProgress

    stop = np.zeros(1, dtype=np.int64)
    kernel = step.kernel
    threaded = kernel.name == "compiled" and not settings.nuts
    if not threaded and cores == 1:
        # the chain loop holds the GIL: with one core a pool of processes buys nothing
        return _run_here(
            _chain_loop(kernel, settings), states, settings, rngs, arrays, progress, stop, failed
        )
    done = [0] * len(states)
    phases = [(0.0, 0.0)] * len(states)
    bar = ChainProgress(len(states), settings.tune + settings.draws, settings.tune, enabled=show)
    shared = None if threaded else _Shared(arrays, progress, stop)
    live_progress, live_stop = (
        (progress, stop) if shared is None else (shared.progress, shared.stop)
    )
    interrupted = False
    main = time.thread_time()
    try:
        pool: Any
        if threaded:
            pool = ThreadPoolExecutor(max_workers=cores)
        else:
            blob = cloudpickle.dumps(step)
            pool = ProcessPoolExecutor(
                max_workers=cores, mp_context=_context(mp_ctx), initializer=_worker_init
            )
        futures: dict[int, Future] = {}
        with bar, pool, threadpool_limits(limits=1, user_api="blas"):
            try:
                for c, state in enumerate(states):
                    if state is None:
                        continue
                    if threaded:
                        futures[c] = pool.submit(
                            _phases, kernel.chain, state, settings, rngs[c], arrays[c],
                            progress[c], live_stop,
                        )  # fmt: skip
                    else:
                        futures[c] = pool.submit(
                            _process_chain, blob, state, settings, rngs[c],
                            shared.layout(c),  # type: ignore[union-attr]
                        )  # fmt: skip
                while not all(f.done() for f in futures.values()):
                    bar.update(live_progress, failed)
                    _wait()
            except KeyboardInterrupt:
                interrupted = True
            finally:
                live_stop[0] = 1  # every chain stops at its next iteration; what it drew is kept
            for c, f in futures.items():
                try:
                    done[c], phases[c] = f.result()
                except Exception as exc:  # the chain's draws so far are kept, and it is marked
                    failed[c] = f"{type(exc).__name__}: {exc}"
                    done[c] = int(live_progress[c, 0])
            bar.update(live_progress, failed)
    finally:
        if shared is not None:
            shared.release(arrays, progress)
    return ChainOutcome(done, phases, time.thread_time() - main, interrupted)


def _chain_loop(kernel: Any, settings: ChainSettings) -> Any:
    """The kernel's whole-chain loop, or the Python loop where the compiled one cannot go.

    The compiled loop runs fixed trajectories only; a No-U-Turn chain runs the Python loop over
    the kernel's (compiled) leapfrog steps.
    """
    return partial(run_chain, kernel) if settings.nuts else kernel.chain


def _run_here(
    chain: Any,
    states: list[ChainState | None],
    settings: ChainSettings,
    rngs: list[np.random.Generator],
    arrays: list[ChainArrays],
    progress: np.ndarray,
    stop: np.ndarray,
    failed: dict[int, str],
) -> ChainOutcome:
    """Every chain in this thread, one after the other (see :func:`run_chains`)."""
    done = [0] * len(states)
    phases = [(0.0, 0.0)] * len(states)
    main = time.thread_time()
    interrupted = False
    for c, state in enumerate(states):
        if state is None or interrupted:
            continue
        try:
            done[c], phases[c] = _phases(
                chain, state, settings, rngs[c], arrays[c], progress[c], stop
            )
        except KeyboardInterrupt:
            interrupted = True
            done[c] = int(progress[c, 0])
        except Exception as exc:
            failed[c] = f"{type(exc).__name__}: {exc}"
            done[c] = int(progress[c, 0])
    return ChainOutcome(done, phases, time.thread_time() - main, interrupted)


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


def _context(mp_ctx: Any) -> Any:
    if mp_ctx is None:
        methods = multiprocessing.get_all_start_methods()
        mp_ctx = "forkserver" if "forkserver" in methods else "spawn"
    return multiprocessing.get_context(mp_ctx) if isinstance(mp_ctx, str) else mp_ctx


# -- the process path --------------------------------------------------------------------------


class _Layout(NamedTuple):
    """Where a worker finds one chain's records and the run's flags (a file it maps)."""

    path: str
    theta: tuple[int, ...]
    floats: tuple[int, ...]
    ints: tuple[int, ...]
    chain: int
    chains: int


def _views(layout: _Layout) -> tuple[ChainArrays, np.ndarray, np.ndarray]:
    """The chain's arrays, the progress rows and the stop flag, mapped from the run's file."""
    offset = 0
    out = []
    for shape, dtype in ((layout.theta, np.float64), (layout.floats, np.float64),
                         (layout.ints, np.int64)):  # fmt: skip
        size = int(np.prod(shape)) * 8
        out.append(np.memmap(layout.path, dtype, "r+", offset + layout.chain * size, shape))
        offset += size * layout.chains
    progress = np.memmap(layout.path, np.float64, "r+", offset, (layout.chains, 3))
    stop = np.memmap(layout.path, np.int64, "r+", offset + 24 * layout.chains, (1,))
    return ChainArrays(*out), progress, stop


class _Shared:
    """Every chain's records, the progress rows and the stop flag in one memory-mapped file.

    A file in a temporary directory rather than ``/dev/shm``, whose size containers cap (64 MB
    by default in Docker: four chains of 2000 draws of 2000 coordinates need 128 MB); the page
    cache keeps it in memory all the same.
    """

    def __init__(self, arrays: list[ChainArrays], progress: np.ndarray, stop: np.ndarray) -> None:
        first = arrays[0]
        chains = len(arrays)
        per_chain = 8 * (first.theta.size + first.floats.size + first.ints.size)
        self._dir = tempfile.TemporaryDirectory(prefix="pmf-chains-", ignore_cleanup_errors=True)
        path = os.path.join(self._dir.name, "chains.bin")
        with open(path, "wb") as f:
            f.truncate(per_chain * chains + 24 * chains + 8)
        self._layouts = [
            _Layout(path, first.theta.shape, first.floats.shape, first.ints.shape, c, chains)
            for c in range(chains)
        ]
        for c, a in enumerate(arrays):
            mine, self.progress, self.stop = _views(self._layouts[c])
            for target, source in zip(mine, a, strict=True):
                target[...] = source
        self.progress[...] = progress
        self.stop[...] = stop

    def layout(self, chain: int) -> _Layout:
        return self._layouts[chain]

    def release(self, arrays: list[ChainArrays], progress: np.ndarray) -> None:
        """Copy the records back into the caller's arrays, then delete the file."""
        for c, a in enumerate(arrays):
            mine, _, _ = _views(self._layouts[c])
            for target, source in zip(a, mine, strict=True):
                target[...] = source
        progress[...] = self.progress
        self._dir.cleanup()


_BLAS_LIMITED = False


def single_threaded_blas_in_worker() -> None:
    """In a worker process, let BLAS use one thread (once per process; the main one is left).

    The process path's workers call it as they start, ``pm.sample``'s through the step method.

    The kernel makes many tiny BLAS calls. PyMC limits BLAS threads per worker only for the
    spawn/forkserver start methods (pymc#7354); with fork (Linux's default) every worker keeps
    a full thread pool and, measured on German credit with ``cores=2``, the pools' spinning made
    a transition 47x slower (255 ms against 5.5 ms). The main process is left alone.
    """
    global _BLAS_LIMITED
    if _BLAS_LIMITED or multiprocessing.parent_process() is None:
        return
    threadpool_limits(limits=1, user_api="blas")
    _BLAS_LIMITED = True


def _worker_init() -> None:
    """A worker leaves Ctrl-C to the parent, and lets BLAS use one thread."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    single_threaded_blas_in_worker()


def _process_chain(
    blob: bytes, state: ChainState, settings: ChainSettings, rng: np.random.Generator,
    layout: _Layout,
) -> tuple[int, tuple[float, float]]:  # fmt: skip
    """One chain in a worker process, writing into the shared block as it goes."""
    step = cloudpickle.loads(blob)
    arrays, progress, stop = _views(layout)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KernelFallbackWarning)  # said once, in the parent
        kernel = step.kernel
    chain = _chain_loop(kernel, settings)
    return _phases(chain, state, settings, rng, arrays, progress[layout.chain], stop)
