"""Run every sampler on every target over several seeds, on any executor, and tabulate."""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, Future, as_completed
from pathlib import Path
from typing import Any, Literal, NamedTuple

import cloudpickle
import pandas as pd
import pymc as pm
import xarray as xr

from pymc_fisher.bench.errors import RunFailedError, StudyError
from pymc_fisher.bench.executors import default_executor
from pymc_fisher.bench.metrics import summarize_run
from pymc_fisher.bench.progress import Progress
from pymc_fisher.bench.samplers import RunSettings, SamplerFn, SamplerRun, get_sampler
from pymc_fisher.bench.store import load_row, rows_to_frame, run_key, save_run
from pymc_fisher.bench.targets import Target, as_target

__all__ = ["execute_run", "run_one", "run_study"]

type TargetLike = str | Target | pm.Model | Callable[[], pm.Model]
type SamplerLike = str | tuple[str, SamplerFn]


class _Task(NamedTuple):
    target: Target
    sampler: str
    fn: SamplerFn
    settings: RunSettings
    out: str | None


def run_one(
    target: TargetLike,
    sampler: str | tuple[str, SamplerFn],
    settings: RunSettings,
    *,
    out: str | os.PathLike[str] | None = None,
) -> tuple[dict[str, Any], xr.DataTree]:
    """Run one (target, sampler, seed) in this process: its row and its ``DataTree``.

    The row is saved under ``out`` (with the tree) when ``out`` is given.
    """
    tgt = as_target(target)
    name, fn = (sampler, get_sampler(sampler)) if isinstance(sampler, str) else sampler
    model = tgt.build()
    start = time.perf_counter()
    result = fn(model, settings)
    if not isinstance(result, SamplerRun):  # a bare DataTree: time the whole call
        result = SamplerRun(result, float("nan"), time.perf_counter() - start)
    var_names = [rv.name for rv in model.free_RVs]
    row = {
        "target": tgt.name,
        "sampler": name,
        "seed": int(settings.seed),
        **summarize_run(
            result.tree,
            var_names=var_names,
            wall_seconds=result.sample_seconds,
            compile_seconds=result.compile_seconds,
            reference=tgt.reference,
            iid=result.iid,
            model=model,
        ),
    }
    if out is not None:
        key = run_key(tgt.name, name, settings.seed)
        save_run(out, key, result.tree, row, _settings_record(settings))
    return row, result.tree


def execute_run(payload: bytes) -> dict[str, Any]:
    """Worker entry point: unpickle one task (``cloudpickle``), run it, save it, return its row.

    Tasks travel as bytes so that lambdas and closures (user models, user samplers) reach
    process pools that pickle with the standard library.
    """
    task: _Task = cloudpickle.loads(payload)
    row, _ = run_one(task.target, (task.sampler, task.fn), task.settings, out=task.out)
    return row


def _settings_record(settings: RunSettings) -> dict[str, int]:
    return {"draws": settings.draws, "tune": settings.tune, "chains": settings.chains}


def _resolve_samplers(
    samplers: Iterable[SamplerLike] | Mapping[str, SamplerFn],
) -> list[tuple[str, SamplerFn]]:
    if isinstance(samplers, str):
        samplers = [s for s in samplers.split(",") if s.strip()]
    items = samplers.items() if isinstance(samplers, Mapping) else samplers
    resolved = []
    for item in items:
        if isinstance(item, str):
            resolved.append((item.strip(), get_sampler(item)))
        else:
            name, fn = item
            resolved.append((name, fn))
    return resolved


def run_study(
    targets: Iterable[TargetLike] | TargetLike,
    samplers: Iterable[SamplerLike] | Mapping[str, SamplerFn] | str,
    *,
    seeds: Iterable[int] = (0,),
    chains: int = 4,
    draws: int = 1000,
    tune: int = 1000,
    executor: Executor | None = None,
    out: str | os.PathLike[str] | None = None,
    max_workers: int | None = None,
    progress: bool = True,
    on_error: Literal["raise", "warn"] = "raise",
) -> pd.DataFrame:
    r"""Run every sampler on every target for every seed; one tidy row per run.

    Parameters
    ----------
    targets : target or iterable of targets
        Registered names (``"funnel"``, see :func:`available_targets`), :class:`Target`\ s,
        ``pm.Model``\ s or callables returning a fresh ``pm.Model``.
    samplers : str, iterable or mapping
        Registered names (``"nuts"``, ``"nutpie"``, ``"rmhmc-softabs"``, ``"laplace"``, ...;
        a comma-separated string works too), ``(name, fn)`` pairs or a ``{name: fn}`` mapping.
    seeds : iterable of int
        One run per seed; the seed goes to the sampler as ``random_seed``.
    chains, draws, tune : int
        Chains per run (sampled one after another inside the run) and draws and tuning steps
        per chain.
    executor : concurrent.futures.Executor, optional
        Where runs execute: a process pool (the default, one worker per core, at most
        ``max_workers``), :class:`InlineExecutor`, or a Dask cluster's
        ``distributed.Client(...).get_executor()``. Given executors are not shut down.
    out : path, optional
        Folder for finished runs (``out/runs/<key>.zarr`` and ``.json``). Runs already
        finished there are not run again: an interrupted study resumes. Workers write there,
        so with a remote cluster it must be a shared file system.
    max_workers : int, optional
        Size of the default process pool.
    progress : bool
        Report progress over runs on standard error.
    on_error : {"raise", "warn"}
        A run that raises stops the study (:class:`RunFailedError`, after cancelling the runs
        not yet started) or is warned about and left out of the table (and out of ``out``, so
        a rerun tries it again).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`pymc_fisher.bench.COLUMNS`: ``target``, ``sampler``, ``seed``,
        ``wall_seconds``, ``compile_seconds``, ``grad_evals``, ``ess_bulk_min``,
        ``ess_tail_min``, ``ess_min``, ``ess_per_second``, ``ess_per_gradient``, ``rhat_max``,
        ``divergences``, ``max_bias_z`` (NaN without a reference), ``ksd`` (the kernel Stein
        discrepancy of at most 1000 draws, with the model's score), in the order of
        ``targets × samplers × seeds``. See :mod:`pymc_fisher.bench.metrics` for definitions.

    Raises
    ------
    StudyError
        Unknown names, duplicate target names, or ``out`` holding runs with other settings.
    RunFailedError
        A run raised and ``on_error="raise"``; the run's error is the cause.

    Examples
    --------
    >>> from pymc_fisher.bench import InlineExecutor
    >>> table = run_study(["gaussian"], ["nuts"], seeds=[0], chains=1, draws=50, tune=50,
    ...                   executor=InlineExecutor(), progress=False)
    >>> table[["target", "sampler", "seed"]].to_dict("records")
    [{'target': 'gaussian', 'sampler': 'nuts', 'seed': 0}]
    """
    if isinstance(targets, str | Target | pm.Model) or not isinstance(targets, Iterable):
        targets = [targets]
    tgts = [as_target(t) for t in targets]
    names = [t.name for t in tgts]
    if len(set(names)) != len(names):
        raise StudyError(f"target names must be unique, got {names}")
    smps = _resolve_samplers(samplers)
    seed_list = [int(s) for s in seeds]
    if not tgts or not smps or not seed_list:
        raise StudyError("a study needs at least one target, one sampler and one seed")
    if on_error not in ("raise", "warn"):
        raise ValueError(f"on_error must be 'raise' or 'warn', not {on_error!r}")
    out_dir = None if out is None else str(Path(out).resolve())

    order, rows, tasks = [], {}, []
    for tgt in tgts:
        for name, fn in smps:
            for seed in seed_list:
                settings = RunSettings(int(draws), int(tune), int(chains), seed)
                key = run_key(tgt.name, name, seed)
                order.append(key)
                saved = None
                if out_dir is not None:
                    saved = load_row(out_dir, key, _settings_record(settings))
                if saved is not None:
                    rows[key] = saved
                else:
                    tasks.append((key, _Task(tgt, name, fn, settings, out_dir)))

    bar = Progress(len(order), enabled=progress)
    bar.skip(len(rows))
    own = executor is None and bool(tasks)
    pool = default_executor(len(tasks), max_workers) if own else executor
    try:
        futures: dict[Future, str] = {
            pool.submit(execute_run, cloudpickle.dumps(task)): key  # type: ignore[union-attr]
            for key, task in tasks
        }
        for future in as_completed(futures):
            key = futures[future]
            exc = future.exception()
            if exc is not None:
                if on_error == "raise":
                    for other in futures:
                        other.cancel()
                    raise RunFailedError(f"run {key} failed: {exc!r}") from exc
                warnings.warn(f"run {key} failed and is left out: {exc!r}", stacklevel=2)
                bar.advance(label=f"{key} FAILED")
                continue
            rows[key] = row = future.result()
            bar.advance(label=f"{key}: ESS/s {row['ess_per_second']:.3g}")
    finally:
        bar.close()
        if own:
            pool.shutdown(wait=True, cancel_futures=True)  # type: ignore[union-attr]
    return rows_to_frame([rows[k] for k in order if k in rows])
