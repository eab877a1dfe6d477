"""Executors for studies: the default local process pool and an in-process one.

Any ``concurrent.futures.Executor`` runs a study, a Dask cluster's included::

    from distributed import Client
    with Client(n_workers=2, threads_per_worker=1) as client:
        table = run_study(..., executor=client.get_executor())
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any

__all__ = ["InlineExecutor", "default_executor"]


class InlineExecutor(Executor):
    """Run each task at once in the calling process (debugging, notebooks, tests).

    An exception is carried by the returned future, as a pool's would be; an interruption
    (``KeyboardInterrupt``, ``SystemExit``) propagates at once.

    Examples
    --------
    >>> InlineExecutor().submit(divmod, 7, 2).result()
    (3, 1)
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Call ``fn(*args, **kwargs)`` now; return a finished future."""
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:
            future.set_exception(exc)
        return future


def default_executor(n_runs: int, max_workers: int | None = None) -> ProcessPoolExecutor:
    """Make a local process pool with one worker per core (at most one per run).

    Workers are started with ``spawn``: forking a process that already holds PyTensor's and
    BLAS's threads can deadlock, and Python warns about it.
    """
    workers = max_workers or min(os.cpu_count() or 1, max(n_runs, 1))
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
