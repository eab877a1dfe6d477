"""Which latent blocks to non-centre, and their Fisher precision as a graph.

A *latent block* is a free variable ``x`` held in θ by the identity (no transform), drawn from
an elementwise location family whose location or scale depends on other free variables (its
distribution has parents in θ): the group effects of a hierarchy, the funnel's ``x``. Its block
``G_xx`` of the whole-graph expected information (``include_prior=True``) is what the Fisher
non-centering ``x = m(φ) + G_xx(φ)^{-1/2} z`` divides by.

``G_xx`` is only ever needed as its diagonal, and only where it *is* diagonal (checked, see
:func:`is_diagonal_block`). Forming the block would cost ``O(n d_x²)`` per evaluation (a Gram
matrix of the likelihood's tangents); instead the diagonal is ``G_xx 1``, a metric-vector
product, and that is ``½ ∇_v (vᵀ G v)`` at ``v = 1_x``, where ``vᵀ G v`` is the information of
the model restricted to the line ``θ + s v`` (one tangent instead of ``d``): a few gradients'
cost, linear in the data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, cast

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pytensor.graph.replace import graph_replace
from pytensor.graph.traversal import ancestors
from pytensor.tensor.variable import TensorVariable

from pymc_fisher.fisher.expected import expected_information_graph
from pymc_fisher.fisher.model_graph import ModelGraph
from pymc_fisher.labels import ParameterLayout

__all__ = [
    "LOCATION_PARAMETER",
    "LatentBlock",
    "candidate_blocks",
    "information_on_line",
    "information_vector_product",
    "is_diagonal_block",
    "latent_block_names",
    "moved",
    "why_not_a_block",
]

#: Elementwise location families: the ``Op``'s class name -> the index of its location among
#: ``dist_params``. The location is where the prior puts ``x`` before the data speak (the
#: non-centering's starting point ``x₀``); every family here is symmetric about it, so the
#: prior's own score vanishes there.
LOCATION_PARAMETER: dict[str, int] = {
    "NormalRV": 0,
    "StudentTRV": 1,
    "CauchyRV": 0,
    "LaplaceRV": 0,
    "LogisticRV": 0,
}


class LatentBlock(NamedTuple):
    """One free variable to non-centre.

    Attributes
    ----------
    name
        The random variable's name.
    value_name
        Its value variable's name (the same: the block has no transform).
    slice
        Where it lives in θ.
    location
        Its prior location ``x₀(θ)``, raveled to the block's size, as a graph of ``mg.theta``.
    """

    name: str
    value_name: str
    slice: slice
    location: TensorVariable


def candidate_blocks(mg: ModelGraph) -> tuple[list[LatentBlock], dict[str, str]]:
    """The free variables the non-centering can take, and why each other one is left as it is.

    Returns
    -------
    blocks
        In the model's order (topological: a block's parents come before it).
    skipped
        Variable name -> the reason it is not a block (:func:`why_not_a_block`).
    """
    blocks: list[LatentBlock] = []
    skipped: dict[str, str] = {}
    slices = dict(zip(mg.layout.names, mg.layout.slices, strict=True))
    for factor in mg.free_factors:
        reason = why_not_a_block(mg.model, factor.rv)
        if reason is not None:
            skipped[factor.name] = reason
            continue
        value_name = mg.model.rvs_to_values[factor.rv].name
        index = LOCATION_PARAMETER[type(factor.op).__name__]
        loc = pt.broadcast_to(factor.params[index], factor.value.shape).ravel()
        location = cast(TensorVariable, loc.astype("float64"))
        blocks.append(LatentBlock(factor.name, value_name, slices[value_name], location))
    return blocks, skipped


def why_not_a_block(model: pm.Model, rv: Any) -> str | None:
    """Why the free variable ``rv`` is not a latent block, or ``None`` if it is one.

    A block is held by the identity (no transform), drawn from an elementwise location family
    (``LOCATION_PARAMETER``), has a free variable among its distribution's parents, and is not
    empty. A look at the model alone: no density graph is built.
    """
    transform = model.rvs_to_transforms.get(rv)
    op_name = type(rv.owner.op).__name__
    if transform is not None:
        return f"held in θ through a {type(transform).__name__}"
    if op_name not in LOCATION_PARAMETER:
        return f"{op_name} is not an elementwise location family"
    free = set(model.free_RVs)
    if not any(a in free for a in ancestors(list(rv.owner.inputs))):
        return "its prior has no free parents (the global whitening covers it)"
    if 0 in rv.type.shape:
        return "empty"
    return None


def moved(mg: ModelGraph, replace: dict[Any, Any]) -> ModelGraph:
    """``mg`` with every factor's and Potential's graphs under ``replace``."""

    def apply(graphs: Sequence[TensorVariable]) -> tuple[TensorVariable, ...]:
        if not graphs:
            return ()
        return tuple(cast(Any, graph_replace(list(graphs), replace, strict=False)))

    factors = tuple(
        f._replace(params=apply(f.params), value=apply([f.value])[0], logp=apply([f.logp])[0])
        for f in mg.factors
    )
    return mg._replace(factors=factors, potentials=apply(mg.potentials))


def latent_block_names(model: pm.Model) -> list[str]:
    """The free variables :func:`candidate_blocks` takes, read off the model alone.

    The cost of a look at the model, so that ``pmf.sample(method="auto")`` can decide before
    it builds or compiles anything.
    """
    return [rv.name for rv in model.free_RVs if why_not_a_block(model, rv) is None]


def information_on_line(mg: ModelGraph, s: TensorVariable) -> TensorVariable:
    """The whole-graph expected information of ``mg``'s graphs as functions of ``s``, at 0.

    ``s`` is a vector of length one on which ``mg``'s graphs (:func:`moved`) depend as a curve
    through the parameter space: for θ replaced by ``θ + s v`` the result is ``vᵀ G(θ) v``,
    the information pulled back through ``s ↦ θ + s v``.
    """
    layout = ParameterLayout(("s",), ((1,),), (slice(0, 1),), ("s",))
    quadratic = expected_information_graph(mg._replace(theta=s, layout=layout), include_prior=True)[
        0, 0
    ]
    zero: dict[Any, Any] = {s: pt.zeros((1,), dtype="float64")}
    at_zero = graph_replace(quadratic, zero, strict=False)
    return cast(TensorVariable, at_zero)


def information_vector_product(mg: ModelGraph) -> tuple[TensorVariable, TensorVariable]:
    """``G(θ) v`` for the whole-graph expected information, a graph of ``(mg.theta, v)``.

    ``G v = ½ ∇_v (vᵀ G v)``, with ``vᵀ G v`` the information on the line ``θ + s v``
    (:func:`information_on_line`).
    """
    v = pt.vector("direction", dtype="float64")
    s = pt.vector("s", dtype="float64")
    quadratic = information_on_line(moved(mg, {mg.theta: mg.theta + s[0] * v}), s)
    gradient = cast(TensorVariable, pt.grad(quadratic, v))
    return v, cast(TensorVariable, 0.5 * gradient)


def is_diagonal_block(
    product: Callable[[np.ndarray, np.ndarray], np.ndarray],
    theta: np.ndarray,
    block: slice,
    rng: np.random.Generator,
) -> bool:
    """Whether ``G_xx`` acts as a diagonal at ``theta``: ``G_xx r = diag ⊙ r`` for a random ``r``.

    A block with any off-diagonal entry fails for almost every ``r``; the comparison allows
    rounding (``1e-9`` relative to the largest entry of the product).
    """
    ones = np.zeros_like(theta)
    ones[block] = 1.0
    diagonal = product(theta, ones)[block]
    r = np.zeros_like(theta)
    r[block] = rng.normal(size=block.stop - block.start)
    applied = product(theta, r)[block]
    scale = max(np.max(np.abs(applied)), np.max(np.abs(diagonal * r[block])), 1e-300)
    return bool(np.max(np.abs(applied - diagonal * r[block])) <= 1e-9 * scale)
