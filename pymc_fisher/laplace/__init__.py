"""Laplace approximation of a PyMC model's posterior, with exact curvature.

``fit_laplace`` (the facade), the numeric mode finder (``mode``), compiled graphs (``graphs``)
and the DataTree groups (``groups``).
"""

from pymc_fisher.laplace.fit import ParetoKWarning, fit_laplace, pareto_k, posterior_mode
from pymc_fisher.laplace.mode import ModeNotFoundError, ModeResult, find_mode

__all__ = [
    "ModeNotFoundError",
    "ModeResult",
    "ParetoKWarning",
    "find_mode",
    "fit_laplace",
    "pareto_k",
    "posterior_mode",
]
