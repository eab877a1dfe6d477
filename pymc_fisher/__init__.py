"""pymc_fisher: the curvature of a PyMC model as a first-class citizen.

Fisher information matrices, Laplace approximations and Riemannian-manifold HMC for PyMC models,
and the uncertainty reports built on them (identifiability, the log marginal likelihood).

The study runner (``pymc_fisher.bench``) is imported on first use, and the plots import
arviz-plots and matplotlib when they draw, so ``import pymc_fisher`` loads none of them (nor Dask).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pymc_fisher.check import check_model
from pymc_fisher.errors import (
    DiscreteVariableError,
    DrawsMismatchError,
    FisherError,
    ImproperPriorError,
    MissingGroupError,
    MissingPointValueError,
    NoClosedFormError,
    NonFiniteInformationError,
    NonFiniteLogDensityError,
    NonFinitePointError,
    NoObservedVariablesError,
    NotPositiveDefiniteError,
    UnsupportedModelError,
)
from pymc_fisher.evidence import log_marginal_likelihood
from pymc_fisher.geometry import (
    DesignVariableError,
    GeodesicError,
    ImproperJeffreysError,
    design_criteria,
    fisher_rao_distance,
    geodesic,
    jeffreys_prior,
    optimize_design,
    posterior_fisher_information,
)
from pymc_fisher.identifiability import identifiability
from pymc_fisher.information import fisher_information, fisher_information_graph
from pymc_fisher.laplace import ModeNotFoundError, ParetoKWarning, fit_laplace
from pymc_fisher.plots import PlotError, plot_laplace_pair, plot_matrix_heatmap
from pymc_fisher.reparam import (
    Reparametrization,
    WhiteningWarning,
    reparametrization_of,
    reparametrize,
)
from pymc_fisher.reparam.nuts import NutpieMissingError
from pymc_fisher.sampler_plots import (
    plot_condition_number,
    plot_divergences,
    plot_integration_time,
)
from pymc_fisher.samplers.core.kernel import KernelFallbackWarning
from pymc_fisher.samplers.core.options import AdaptationOptions, SolverOptions
from pymc_fisher.samplers.drivers.sample import ChainFailedError, RMHMCSampler
from pymc_fisher.samplers.drivers.step import RMHMC
from pymc_fisher.sampling import NutpieFallbackWarning, sample
from pymc_fisher.stein import PreconditionerFallbackWarning, stein_discrepancy, stein_thin
from pymc_fisher.summary import summary

if TYPE_CHECKING:
    from pymc_fisher import bench

__version__ = "0.1.0"

# Attributes imported on first access (PEP 562): name -> module that defines it.
_LAZY = {"bench": "pymc_fisher.bench"}

__all__ = [
    "RMHMC",
    "AdaptationOptions",
    "ChainFailedError",
    "DesignVariableError",
    "DiscreteVariableError",
    "DrawsMismatchError",
    "FisherError",
    "GeodesicError",
    "ImproperJeffreysError",
    "ImproperPriorError",
    "KernelFallbackWarning",
    "MissingGroupError",
    "MissingPointValueError",
    "ModeNotFoundError",
    "NoClosedFormError",
    "NoObservedVariablesError",
    "NonFiniteInformationError",
    "NonFiniteLogDensityError",
    "NonFinitePointError",
    "NotPositiveDefiniteError",
    "NutpieFallbackWarning",
    "NutpieMissingError",
    "ParetoKWarning",
    "PlotError",
    "PreconditionerFallbackWarning",
    "RMHMCSampler",
    "Reparametrization",
    "SolverOptions",
    "UnsupportedModelError",
    "WhiteningWarning",
    "__version__",
    "bench",
    "check_model",
    "design_criteria",
    "fisher_information",
    "fisher_information_graph",
    "fisher_rao_distance",
    "fit_laplace",
    "geodesic",
    "identifiability",
    "jeffreys_prior",
    "log_marginal_likelihood",
    "optimize_design",
    "plot_condition_number",
    "plot_divergences",
    "plot_integration_time",
    "plot_laplace_pair",
    "plot_matrix_heatmap",
    "posterior_fisher_information",
    "reparametrization_of",
    "reparametrize",
    "sample",
    "stein_discrepancy",
    "stein_thin",
    "summary",
]


def __getattr__(name: str) -> Any:
    """Import the study runner when first asked for (PEP 562)."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(_LAZY[name])
    value = module if module.__name__ == f"{__name__}.{name}" else getattr(module, name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
