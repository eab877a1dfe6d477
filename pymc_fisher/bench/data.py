"""Benchmark data of Girolami & Calderhead (2011): German credit and stochastic volatility.

The files are not part of the package (an installed ``pymc_fisher`` does not carry them). They
are looked for in, first match wins:

1. ``$PYMC_FISHER_DATA``, the ``gc2011`` folder itself or a folder that holds it;
2. in a source checkout only (a ``pyproject.toml`` beside the package),
   ``<checkout>/../shared/data/gc2011`` (see the README there).

When neither has them, :class:`~pymc_fisher.bench.errors.DataNotFoundError` says where it looked
and what to set. Only the targets that need the data (``german_credit``,
``stochastic_volatility``) read it, when they are built.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from pymc_fisher.bench.errors import DataNotFoundError

__all__ = ["DATA_ENV_VAR", "data_dir", "german_credit_data", "stochastic_volatility_data"]

DATA_ENV_VAR = "PYMC_FISHER_DATA"
_CHECKOUT = Path(__file__).resolve().parents[2]


def _candidates() -> list[Path]:
    override = os.environ.get(DATA_ENV_VAR)
    if override:
        return [Path(override), Path(override) / "gc2011"]
    if (_CHECKOUT / "pyproject.toml").is_file():  # a source checkout, not site-packages
        return [_CHECKOUT.parent / "shared" / "data" / "gc2011"]
    return []


def data_dir() -> Path:
    """Return the folder that holds ``german.csv`` and ``stochvol_sim2000.csv``.

    Returns
    -------
    pathlib.Path
        ``$PYMC_FISHER_DATA`` (or its ``gc2011`` subfolder) when set, else, in a source
        checkout, ``<checkout>/../shared/data/gc2011``.

    Raises
    ------
    DataNotFoundError
        When no candidate folder holds the files.
    """
    candidates = _candidates()
    for folder in candidates:
        if (folder / "german.csv").is_file() or (folder / "stochvol_sim2000.csv").is_file():
            return folder
    looked = f"looked in {', '.join(map(str, candidates))}" if candidates else "not set"
    raise DataNotFoundError(
        f"the Girolami & Calderhead (2011) benchmark data are not installed with pymc_fisher "
        f"({DATA_ENV_VAR} {looked}); set {DATA_ENV_VAR} to the folder holding german.csv and "
        "stochvol_sim2000.csv"
    )


def _read(name: str) -> pd.DataFrame:
    path = data_dir() / name
    if not path.is_file():
        raise DataNotFoundError(f"{path} does not exist; set {DATA_ENV_VAR} to its folder")
    return pd.read_csv(path)


def german_credit_data() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Design matrix, labels and column names of the paper's German credit regression.

    Returns
    -------
    X : numpy.ndarray, shape (1000, 25)
        ``[1, Z]`` with ``Z`` the 24 covariates standardised column-wise (sample sd, ddof=1).
    t : numpy.ndarray of int, shape (1000,)
        Labels ``y_raw - 1`` in {0, 1}.
    names : list of str
        ``["intercept", "A1", ..., "A24"]``.
    """
    frame = _read("german.csv")
    covariates = [c for c in frame.columns if c != "y_raw"]
    z = frame[covariates].to_numpy(dtype=float)
    z = (z - z.mean(axis=0)) / z.std(axis=0, ddof=1)
    design = np.column_stack([np.ones(len(z)), z])
    labels = frame["y_raw"].to_numpy(dtype=int) - 1
    return design, labels, ["intercept", *covariates]


def stochastic_volatility_data(n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read the simulated returns ``y`` and true latent log-volatility ``x`` (first ``n`` of 2000).

    Parameters
    ----------
    n : int, optional
        Keep only the first ``n`` time points (all 2000 when None).

    Returns
    -------
    y, true_x : numpy.ndarray
    """
    frame = _read("stochvol_sim2000.csv")
    if n is not None:
        frame = frame.iloc[:n]
    return frame["y"].to_numpy(dtype=float), frame["true_x"].to_numpy(dtype=float)
