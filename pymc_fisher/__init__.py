"""pymc_fisher: the curvature of a PyMC model as a first-class citizen.

Fisher information matrices, Laplace approximations and Riemannian-manifold HMC for PyMC models.
"""

from pymc_fisher.errors import (
    DiscreteVariableError,
    MissingPointValueError,
    NoClosedFormError,
    NonFiniteLogDensityError,
    NoObservedVariablesError,
    NotPositiveDefiniteError,
)
from pymc_fisher import bench
from pymc_fisher.information import fisher_information, fisher_information_graph

__version__ = "0.1.0"

__all__ = [
    "DiscreteVariableError",
    "MissingPointValueError",
    "NoClosedFormError",
    "NoObservedVariablesError",
    "NonFiniteLogDensityError",
    "NotPositiveDefiniteError",
    "__version__",
    "bench",
    "fisher_information",
    "fisher_information_graph",
]
