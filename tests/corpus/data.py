"""Data of the corpus: statsmodels datasets, public numbers typed in, fixed-seed simulations.

No network access: every dataset here is either installed (statsmodels ships its datasets), in
the repository's shared data folder, typed in from a public source, or simulated with a fixed seed
following the generative structure of the public example that the model cites.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from pymc_fisher.bench.data import data_dir

# The package's copy (``pymc_fisher/bench/gc2011``, or ``PYMC_FISHER_DATA``): a fresh clone
# has it wherever it is checked out, where a path to the shared folder may not exist.
GC2011 = data_dir()

# Rubin (1981), Gelman et al. BDA3 section 5.5: effects and standard errors of eight schools.
EIGHT_SCHOOLS_Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
EIGHT_SCHOOLS_SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])

# Coal-mining disasters in the UK, 1851-1962 (Jarrett 1979), as in PyMC's "Getting started"
# notebook; its two missing years are dropped (imputing them would add discrete free variables).
_DISASTERS = [
    4, 5, 4, 0, 1, 4, 3, 4, 0, 6, 3, 3, 4, 0, 2, 6, 3, 3, 5, 4, 5, 3, 1, 4, 4, 1, 5, 5, 3, 4, 2, 5,
    2, 2, 3, 4, 2, 1, 3, -1, 2, 1, 1, 1, 1, 3, 0, 0, 1, 0, 1, 1, 0, 0, 3, 1, 0, 3, 2, 2, 0, 1, 1, 1,
    0, 1, 0, 1, 0, 0, 0, 2, 1, 0, 0, 0, 1, 1, 0, 2, 3, 3, 1, -1, 2, 1, 1, 1, 1, 2, 4, 2, 0, 0, 0, 1,
    4, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1,
]  # fmt: skip


def coal_mining() -> tuple[np.ndarray, np.ndarray]:
    """Years and disaster counts (missing years dropped)."""
    counts = np.array(_DISASTERS)
    years = np.arange(1851, 1851 + len(counts), dtype=float)
    keep = counts >= 0
    return years[keep], counts[keep]


@cache
def statsmodels_data(name: str) -> pd.DataFrame:
    """A statsmodels dataset as a DataFrame (shipped with the package, no download)."""
    import statsmodels.datasets as datasets

    return getattr(datasets, name).load_pandas().data.copy()


def standardize(x: np.ndarray) -> np.ndarray:
    """Columns centred and scaled to unit sample standard deviation."""
    x = np.asarray(x, dtype=float)
    return (x - x.mean(axis=0)) / x.std(axis=0, ddof=1)


def german_credit() -> tuple[np.ndarray, np.ndarray]:
    """Design ``[1, Z]`` (Z standardised) and 0/1 labels, as in Girolami & Calderhead (2011)."""
    df = pd.read_csv(GC2011 / "german.csv")
    z = standardize(df.drop(columns="y_raw").to_numpy())
    return np.column_stack([np.ones(len(df)), z]), df["y_raw"].to_numpy() - 1


def stochvol_returns(n: int) -> np.ndarray:
    """The first ``n`` returns of Girolami & Calderhead's simulated stochastic volatility series."""
    return pd.read_csv(GC2011 / "stochvol_sim2000.csv")["y"].to_numpy()[:n]


def rng(seed: int) -> np.random.Generator:
    """The corpus's generators: one fixed seed per simulated dataset."""
    return np.random.default_rng(seed)
