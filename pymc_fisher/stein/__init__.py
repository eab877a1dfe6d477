"""Kernel Stein discrepancy and Stein thinning of posterior draws, with the model's score.

``kernel`` (the IMQ Stein kernel in Numba) and ``whitening`` (the preconditioner as a change
of coordinates) are the numeric core; ``draws`` reads, transforms and scores the draws;
``preconditioner`` chooses the metric; ``discrepancy`` and ``thinning`` are the facades.
"""

from pymc_fisher.stein.discrepancy import MAX_DRAWS, stein_discrepancy
from pymc_fisher.stein.preconditioner import PreconditionerFallbackWarning
from pymc_fisher.stein.thinning import stein_thin

__all__ = ["MAX_DRAWS", "PreconditionerFallbackWarning", "stein_discrepancy", "stein_thin"]
