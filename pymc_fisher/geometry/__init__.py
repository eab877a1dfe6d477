"""Information geometry of a PyMC model: Jeffreys priors, optimal design, Fisher–Rao distance.

Each function is a small transformation of the likelihood's expected Fisher information as a
PyTensor graph of the raveled parameter vector (``pymc_fisher.fisher.expected``).
"""

from pymc_fisher.geometry.criteria import design_criteria
from pymc_fisher.geometry.design import DesignResult, DesignVariableError, optimize_design
from pymc_fisher.geometry.jeffreys import ImproperJeffreysError, jeffreys_prior

__all__ = [
    "DesignResult",
    "DesignVariableError",
    "ImproperJeffreysError",
    "design_criteria",
    "jeffreys_prior",
    "optimize_design",
]
