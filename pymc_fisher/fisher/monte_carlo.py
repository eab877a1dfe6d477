"""Monte Carlo expected information, factor by factor, with its standard error.

For a factor p(z | parents) without a closed form, simulate ``z₁ … z_M`` from the factor at the
current θ and average the outer products of the scores ``s_m = ∇θ log p(z_m | θ)``.

The estimator is the score outer product, not the average negative Hessian: both are unbiased
for ``I`` (the information identity), but ``(1/M) Σ s sᵀ`` is positive semi-definite for every
sample, which a metric needs, and costs one gradient per draw instead of a Hessian. Its Monte
Carlo standard error, entry by entry, is the sample standard deviation of ``s_a s_b`` over √M.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any, NamedTuple, cast

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from pytensor.graph.replace import graph_replace
from pytensor.tensor.random.type import RandomType

from pymc_fisher.compile import cached, compile_function
from pymc_fisher.fisher.model_graph import Factor, ModelGraph
from pymc_fisher.seeds import RandomSeed, seed_sequence

__all__ = ["MonteCarloInformation", "monte_carlo_information", "score_draw_function"]


class MonteCarloInformation(NamedTuple):
    """A Monte Carlo estimate of the information and the standard error of each entry."""

    mean: np.ndarray
    mcse: np.ndarray
    draws: int


def _draw_graph(factor: Factor, mg: ModelGraph):
    """A fresh draw of the factor's value (in θ's coordinate) as a graph of θ."""
    node = factor.rv.owner
    other = [i for i in node.inputs if not isinstance(i.type, RandomType)]
    new_other = iter(mg.to_theta(other))
    # a shared generator: pm.compile seeds it and advances it from call to call
    new_inputs = [
        pytensor.shared(np.random.default_rng())
        if isinstance(i.type, RandomType)
        else next(new_other)
        for i in node.inputs
    ]
    new_node = node.clone_with_new_inputs(new_inputs)
    draw = new_node.outputs[node.outputs.index(factor.rv)]
    if not factor.observed and mg.space == "unconstrained":
        transform = mg.model.rvs_to_transforms.get(factor.rv)
        if transform is not None:
            draw = transform.forward(draw, *new_node.inputs)
    return pt.as_tensor(draw)


def score_draw_function(factor: Factor, mg: ModelGraph, random_seed: int | None):
    """Compile θ ↦ the score of one fresh draw of ``factor`` (a vector of θ's length)."""
    theta = mg.theta
    placeholder: Any = factor.value.type()
    replaced: Any = graph_replace(factor.logp, {cast(Any, factor.value): placeholder}, strict=False)
    logp = pt.sum(replaced)
    score: Any = pt.grad(logp, theta, disconnected_inputs="ignore")
    if not factor.observed:  # the value coordinate is a slice of θ as well
        index = mg.layout.names.index(_value_name(factor, mg))
        score = pt.inc_subtensor(
            score[mg.layout.slices[index]], cast(Any, pt.grad(logp, placeholder)).ravel()
        )
    draw = _draw_graph(factor, mg)
    score = graph_replace(score, {placeholder: draw.astype(placeholder.type.dtype)}, strict=False)
    return compile_function(  # one call per draw: compiled by Numba
        [theta], score, random_seed=random_seed, name=f"score_{factor.name}", mode="NUMBA"
    )


def _value_name(factor: Factor, mg: ModelGraph) -> str:
    return mg.model.rvs_to_values[factor.rv].name


def monte_carlo_information(
    mg: ModelGraph,
    factors: Sequence[Factor],
    theta: np.ndarray,
    *,
    draws: int,
    random_seed: RandomSeed,
) -> MonteCarloInformation:
    """Σ over ``factors`` of the Monte Carlo expected information at ``theta``."""
    d = mg.layout.size
    mean = np.zeros((d, d))
    variance = np.zeros((d, d))
    seeds = seed_sequence(random_seed).spawn(len(factors))
    for factor, seed in zip(factors, seeds, strict=True):
        # compiled once per model and factor; its generator is reseeded for every call
        fn = cached(
            mg.model,
            ("monte_carlo_score", mg.space, factor.name),
            # any seed: pm.compile then installs the generator's updates (reseeded below)
            partial(score_draw_function, factor, mg, 0),
        )
        rngs = [v for v in fn.get_shared() if isinstance(v.type, RandomType)]
        pm.pytensorf.reseed_rngs(rngs, int(seed.generate_state(1)[0]))
        scores = np.stack([fn(theta) for _ in range(draws)])
        products = scores[:, :, None] * scores[:, None, :]
        mean += products.mean(axis=0)
        variance += products.var(axis=0, ddof=1) / draws
    return MonteCarloInformation(mean, np.sqrt(variance), draws)
