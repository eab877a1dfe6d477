"""Graph layer for information matrices.

Importing the package fills the closed-form registries (``registry.py``) from the modules that
hold the entries.
"""

from pymc_fisher.fisher import closed_form, multivariate, univariate  # noqa: F401  (they register)
