"""Finished runs on disk, so that an interrupted study resumes without losing or repeating runs.

Layout under the study's ``out`` folder::

    out/runs/<target>__<sampler>__seed<seed>.zarr   the run's DataTree (zarr v3)
    out/runs/<target>__<sampler>__seed<seed>.json   its row, settings and versions

The JSON file is written last, each file through a temporary name and an atomic rename: a run
counts as finished exactly when its JSON file exists.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from pymc_fisher.bench.errors import StudyError
from pymc_fisher.bench.metrics import COLUMNS

__all__ = ["load_row", "load_run", "load_study", "run_key", "save_run"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]")


def run_key(target: str, sampler: str, seed: int) -> str:
    """File stem of one run, e.g. ``funnel__nuts__seed3``.

    Examples
    --------
    >>> run_key("my model", "rmhmc-softabs", 3)
    'my_model__rmhmc-softabs__seed3'
    """
    return f"{_UNSAFE.sub('_', target)}__{_UNSAFE.sub('_', sampler)}__seed{int(seed)}"


def _runs(out: str | os.PathLike[str]) -> Path:
    return Path(out) / "runs"


def save_run(
    out: str | os.PathLike[str],
    key: str,
    tree: xr.DataTree,
    row: Mapping[str, Any],
    settings: Mapping[str, Any],
) -> None:
    """Write a finished run: its tree first, then its row (the marker that it is finished)."""
    runs = _runs(out)
    runs.mkdir(parents=True, exist_ok=True)
    final, tmp = runs / f"{key}.zarr", runs / f"{key}.zarr.tmp"
    for stale in (tmp, final):
        if stale.exists():
            shutil.rmtree(stale)
    # consolidated metadata is not part of zarr v3 and warns; nothing here needs it
    tree.to_zarr(tmp, mode="w", consolidated=False)
    os.replace(tmp, final)
    record = {"row": dict(row), "settings": dict(settings), "versions": _versions()}
    tmp_json = runs / f"{key}.json.tmp"
    tmp_json.write_text(json.dumps(record, indent=1, default=_jsonable))
    os.replace(tmp_json, runs / f"{key}.json")


def load_row(
    out: str | os.PathLike[str], key: str, settings: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """Return the saved row of run ``key``, or None when the run has not finished.

    A row saved before a column of :data:`COLUMNS` existed counts as not finished: its
    comparison columns were computed by an older definition, so the run is done again.

    Raises
    ------
    StudyError
        When the run was saved with other ``settings`` (draws, tune, chains): reusing it would
        mix studies. Use another ``out`` folder, or delete that run.
    """
    path = _runs(out) / f"{key}.json"
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    if settings is not None and record["settings"] != dict(settings):
        raise StudyError(
            f"{path} was run with {record['settings']}, not {dict(settings)}; "
            "use another out folder or delete that run"
        )
    if not set(COLUMNS) <= set(record["row"]):
        return None
    return record["row"]


def load_run(out: str | os.PathLike[str], target: str, sampler: str, seed: int) -> xr.DataTree:
    """Load the saved ``DataTree`` of one run, loaded into memory."""
    path = _runs(out) / f"{run_key(target, sampler, seed)}.zarr"
    if not path.exists():
        raise StudyError(f"no finished run at {path}")
    with xr.open_datatree(path, engine="zarr", consolidated=False) as tree:
        return tree.load()


def load_study(out: str | os.PathLike[str]) -> pd.DataFrame:
    """Every finished run's row under ``out``, as the table ``run_study`` returns."""
    rows = [json.loads(p.read_text())["row"] for p in sorted(_runs(out).glob("*.json"))]
    return rows_to_frame(rows)


def rows_to_frame(rows: list[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows (dicts) to the study table: exactly :data:`COLUMNS`, nullable integer counts."""
    frame = pd.DataFrame(list(rows), columns=list(COLUMNS))
    for name in ("seed", "grad_evals", "divergences"):
        frame[name] = frame[name].astype("Int64")
    for name in COLUMNS[3:]:
        if name not in ("grad_evals", "divergences"):
            frame[name] = frame[name].astype(float)
    return frame


def _jsonable(value: object) -> object:
    if hasattr(value, "item"):
        return value.item()  # numpy scalars
    raise TypeError(f"cannot store {type(value).__name__} in a run record")


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("pymc", "pytensor", "nutpie", "pymc-fisher"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found
