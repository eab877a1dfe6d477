"""Empirical information: Σᵢ sᵢ sᵢᵀ of per-observation scores, and the scores themselves.

An observation is one element of an observed variable's elementwise log-density (a row of an
MvNormal). Scores ``sᵢ = ∇θ log p(yᵢ | θ)`` come from forward mode, one pass per entry of θ,
not one reverse pass per observation.
"""

from __future__ import annotations

import pytensor.tensor as pt
from pytensor.tensor.variable import TensorVariable

from pymc_fisher.fisher.expected import tangents
from pymc_fisher.fisher.model_graph import ModelGraph

__all__ = ["empirical_information_graph", "observation_scores_graph"]


def observation_scores_graph(mg: ModelGraph) -> TensorVariable:
    """Per-observation scores, shape ``(len(θ), n_observations)``."""
    factors = mg.observed_factors
    if not factors:
        mg.loglik()  # raises NoObservedVariablesError with the explanation
    terms = [f.logp.ravel() for f in factors]
    jacobians = tangents(terms, mg.theta, mg.layout.size)
    size = mg.layout.size
    blocks = [
        jac if jac is not None else pt.zeros((size, term.shape[0]), dtype="float64")
        for jac, term in zip(jacobians, terms, strict=True)
    ]
    return pt.concatenate(blocks, axis=1) if len(blocks) > 1 else blocks[0]


def empirical_information_graph(mg: ModelGraph) -> TensorVariable:
    """Σᵢ sᵢ sᵢᵀ over the observations."""
    scores = observation_scores_graph(mg)
    return scores @ scores.T
