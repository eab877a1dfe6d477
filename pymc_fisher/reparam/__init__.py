"""The model reparametrised by its Fisher information (a ``Model → Model`` transformation).

``blocks`` finds the latent blocks and their precision as graphs, ``maps`` builds the change of
variables, ``transform`` assembles the new model (``pmf.reparametrize``).
"""

from pymc_fisher.reparam.transform import (
    COORDINATES,
    PRIOR_TERM,
    Reparametrization,
    WhiteningWarning,
    reparametrization_of,
    reparametrize,
)

__all__ = [
    "COORDINATES",
    "PRIOR_TERM",
    "Reparametrization",
    "WhiteningWarning",
    "reparametrization_of",
    "reparametrize",
]
