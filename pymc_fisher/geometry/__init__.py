"""Information geometry of a PyMC model: Jeffreys priors, optimal design, Fisher–Rao distance.

Each function is a small transformation of the likelihood's expected Fisher information as a
PyTensor graph of the raveled parameter vector (``pymc_fisher.fisher.expected``).
"""

from pymc_fisher.geometry.criteria import design_criteria
from pymc_fisher.geometry.design import DesignResult, DesignVariableError, optimize_design
from pymc_fisher.geometry.fisher_rao import (
    Geodesic,
    GeodesicError,
    fisher_rao_distance,
    geodesic,
)
from pymc_fisher.geometry.jeffreys import ImproperJeffreysError, jeffreys_prior
from pymc_fisher.geometry.posterior import posterior_fisher_information

__all__ = [
    "DesignResult",
    "DesignVariableError",
    "Geodesic",
    "GeodesicError",
    "ImproperJeffreysError",
    "design_criteria",
    "fisher_rao_distance",
    "geodesic",
    "jeffreys_prior",
    "optimize_design",
    "posterior_fisher_information",
]
