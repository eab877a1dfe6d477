"""Reference draws of the corpus: storage, summary statistics and the comparison of means.

A reference file ``reference/<name>.npz`` holds, for every free variable ``v`` (constrained):
``draws/v`` thinned draws ``(chain, draw, *shape)`` as float32, and the statistics of the full
long run ``mean/v``, ``sd/v``, ``ess_bulk/v``, ``ess_tail/v``, ``mcse/v`` (of the mean) and
``rhat/v``, plus ``meta`` (a JSON string: sampler, settings, divergences, source of the draws).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from arviz_stats.base import array_stats

REFERENCE_DIR = Path(__file__).parent / "reference"
STATS = ("mean", "sd", "ess_bulk", "ess_tail", "mcse", "rhat")


class Reference(NamedTuple):
    """A stored reference run."""

    draws: dict[str, np.ndarray]
    stats: dict[str, dict[str, np.ndarray]]
    meta: dict[str, Any]


def summary_stats(draws: np.ndarray) -> dict[str, np.ndarray]:
    """Elementwise mean, sd, bulk/tail ESS, MCSE of the mean and R-hat of ``(chain, draw, ...)``."""
    x = np.moveaxis(np.asarray(draws, dtype=float), (0, 1), (-2, -1))
    return {
        "mean": x.mean(axis=(-2, -1)),
        "sd": x.std(axis=(-2, -1), ddof=1),
        "ess_bulk": np.asarray(array_stats.ess(x, method="bulk")),
        "ess_tail": np.asarray(array_stats.ess(x, method="tail", prob=0.05)),
        "mcse": np.asarray(array_stats.mcse(x, method="mean")),
        "rhat": np.asarray(array_stats.rhat(x)),
    }


def iid_stats(draws: np.ndarray) -> dict[str, np.ndarray]:
    """Statistics of independent draws ``(chain, draw, ...)`` (exact sampling: ESS = n)."""
    x = np.asarray(draws, dtype=float)
    n = x.shape[0] * x.shape[1]
    sd = x.std(axis=(0, 1), ddof=1)
    ones = np.ones_like(sd)
    return {"mean": x.mean(axis=(0, 1)), "sd": sd, "ess_bulk": n * ones, "ess_tail": n * ones,
            "mcse": sd / np.sqrt(n), "rhat": ones}  # fmt: skip


def save_reference(
    name: str, draws: dict[str, np.ndarray], stats: dict[str, dict], meta: dict, thin: int
) -> Path:
    """Write ``reference/<name>.npz``: thinned float32 draws, full-run statistics, metadata."""
    arrays: dict[str, Any] = {"meta": np.array(json.dumps(meta))}
    for var, x in draws.items():
        arrays[f"draws/{var}"] = np.asarray(x)[:, ::thin].astype(np.float32)
        for key in STATS:
            arrays[f"{key}/{var}"] = np.asarray(stats[var][key], dtype=float)
    REFERENCE_DIR.mkdir(exist_ok=True)
    path = REFERENCE_DIR / f"{name}.npz"
    np.savez_compressed(path, **arrays)
    return path


def load_reference(name: str) -> Reference:
    """Read ``reference/<name>.npz``."""
    with np.load(REFERENCE_DIR / f"{name}.npz") as f:
        meta = json.loads(str(f["meta"]))
        draws = {k.split("/", 1)[1]: f[k] for k in f.files if k.startswith("draws/")}
        stats = {v: {key: f[f"{key}/{v}"] for key in STATS} for v in draws}
    return Reference(draws, stats, meta)


def has_reference(name: str) -> bool:
    """Whether a stored reference exists for ``name``."""
    return (REFERENCE_DIR / f"{name}.npz").is_file()


def mean_z_scores(short: dict[str, np.ndarray], ref: Reference) -> dict[str, np.ndarray]:
    """``(mean_short − mean_ref) / sqrt(mcse_short² + mcse_ref²)`` per variable, elementwise."""
    out = {}
    for var, x in short.items():
        s = summary_stats(x)
        r = ref.stats[var]
        out[var] = (s["mean"] - r["mean"]) / np.sqrt(s["mcse"] ** 2 + r["mcse"] ** 2)
    return out
