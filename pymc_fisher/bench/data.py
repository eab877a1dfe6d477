"""Benchmark data of Girolami & Calderhead (2011): German credit and stochastic volatility.

The two CSV files (140 KB, see ``gc2011/README.md`` for their source and licence) ship with
the package as package data, so an installed ``pymc_fisher`` finds them. ``$PYMC_FISHER_DATA``
overrides them: the ``gc2011`` folder itself or a folder that holds it. When the override holds
neither file, :class:`~pymc_fisher.bench.errors.DataNotFoundError` says where it looked.
Only the targets that need the data (``german_credit``, ``stochastic_volatility``) read it,
when they are built.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from pymc_fisher.bench.errors import DataNotFoundError

__all__ = [
    "DATA_ENV_VAR",
    "PACKAGE_DATA",
    "data_dir",
    "german_credit_data",
    "stochastic_volatility_data",
]

DATA_ENV_VAR = "PYMC_FISHER_DATA"

#: The files shipped with the package (a folder inside the installed package).
PACKAGE_DATA = Path(str(resources.files("pymc_fisher.bench") / "gc2011"))

_FILES = ("german.csv", "stochvol_sim2000.csv")


def _candidates() -> list[Path]:
    override = os.environ.get(DATA_ENV_VAR)
    if override:
        return [Path(override), Path(override) / "gc2011"]
    return [PACKAGE_DATA]


def data_dir() -> Path:
    """Return the folder that holds ``german.csv`` and ``stochvol_sim2000.csv``.

    Returns
    -------
    pathlib.Path
        ``$PYMC_FISHER_DATA`` (or its ``gc2011`` subfolder) when set, else the package's own
        copy, :data:`PACKAGE_DATA`.

    Raises
    ------
    DataNotFoundError
        When no candidate folder holds the files.

    Examples
    --------
    >>> sorted(path.name for path in data_dir().glob("*.csv"))
    ['german.csv', 'stochvol_sim2000.csv']
    """
    candidates = _candidates()
    for folder in candidates:
        if any((folder / name).is_file() for name in _FILES):
            return folder
    raise DataNotFoundError(
        f"the Girolami & Calderhead (2011) benchmark data are not in "
        f"{', '.join(map(str, candidates))} ({DATA_ENV_VAR}={os.environ.get(DATA_ENV_VAR)!r}); "
        f"set {DATA_ENV_VAR} to the folder holding german.csv and stochvol_sim2000.csv, or "
        f"unset it for the copy installed with pymc_fisher"
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
