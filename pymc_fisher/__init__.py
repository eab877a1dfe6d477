"""pymc_fisher: the curvature of a PyMC model as a first-class citizen.

Fisher information matrices, Laplace approximations and Riemannian-manifold HMC for PyMC models.
"""

from pymc_fisher import bench
from pymc_fisher.check import check_model
from pymc_fisher.errors import (
    DiscreteVariableError,
    MissingPointValueError,
    NoClosedFormError,
    NonFiniteLogDensityError,
    NoObservedVariablesError,
    NotPositiveDefiniteError,
)
from pymc_fisher.geometry import (
    design_criteria,
    fisher_rao_distance,
    geodesic,
    jeffreys_prior,
    optimize_design,
)
from pymc_fisher.information import fisher_information, fisher_information_graph
from pymc_fisher.laplace import fit_laplace
from pymc_fisher.plots import plot_laplace_pair, plot_matrix_heatmap
from pymc_fisher.samplers.step import RMHMC
from pymc_fisher.summary import summary

__version__ = "0.1.0"

__all__ = [
    "RMHMC",
    "DiscreteVariableError",
    "MissingPointValueError",
    "NoClosedFormError",
    "NoObservedVariablesError",
    "NonFiniteLogDensityError",
    "NotPositiveDefiniteError",
    "__version__",
    "bench",
    "check_model",
    "design_criteria",
    "fisher_information",
    "fisher_information_graph",
    "fisher_rao_distance",
    "fit_laplace",
    "geodesic",
    "jeffreys_prior",
    "optimize_design",
    "plot_laplace_pair",
    "plot_matrix_heatmap",
    "summary",
]
