"""Graph layer for information matrices.

Importing the package fills the closed-form registries (``registry.py``) from the modules that
hold the entries.
"""

from pymc_fisher.fisher import (  # noqa: F401  (they register)
    bounded,
    closed_form,
    multivariate,
    spatial,
    univariate,
)
