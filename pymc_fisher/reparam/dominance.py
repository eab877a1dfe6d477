"""How much the data say about a latent block against its prior: the centring question.

For a latent block ``x ~ p(x | φ)`` with children, the whole-graph information splits as
``G_xx = P_prior + P_data``: its own prior factor's information, and that of every other factor
that reads ``x``. Their ratio ``ρ = P_data / P_prior`` (elementwise, on the diagonal) is the
classical criterion between the centred and the non-centred forms (Papaspiliopoulos, Roberts &
Sköld 2007, Statist. Sci. 22(1), section 3: for the Gaussian hierarchy the centred Gibbs sampler
converges at rate ``1/(1 + ρ)`` and the non-centred one at ``ρ/(1 + ρ)``), so the crossover is
``ρ = 1``. With ``ρ`` below one the prior dominates: the posterior has the funnel that NUTS cannot
adapt to, and the Fisher non-centering removes it; above one the centred model is already about
as well conditioned as the reparametrised one, and nutpie samples it as it is without paying for
the larger graph.

``ρ`` is read at the model's initial point (every free variable at PyMC's default: a scale at
one, a location at its prior's centre): a property of the model and its data, not of a run.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pytensor.compile.mode import Mode
from pytensor.graph.replace import graph_replace

from pymc_fisher.compile import compile_function, split_wide_nodes
from pymc_fisher.fisher.model_graph import graph_of
from pymc_fisher.reparam.blocks import candidate_blocks, information_vector_product
from pymc_fisher.reparam.maps import involving

__all__ = ["CROSSOVER", "data_to_prior_ratio"]

#: Below this median ``ρ`` a block is prior-dominated (module docstring).
CROSSOVER = 1.0

_MODE = Mode(linker="py", optimizer="None")  # evaluated once: no rewrites (0.6 s, not 1.2 s)


def data_to_prior_ratio(model: pm.Model) -> dict[str, float]:
    """Median over each latent block's elements of ``ρ = P_data / P_prior`` at the initial point.

    Returns
    -------
    dict
        Block name -> median ``ρ`` (0 for a block that no data read, as the funnel's ``x``).
    """
    mg = graph_of(model, "unconstrained")
    blocks, _ = candidate_blocks(mg)
    if not blocks:
        return {}
    theta = mg.layout.ravel(model.initial_point())
    v = pt.vector("direction", dtype="float64")
    graphs: list[Any] = []
    for block in blocks:
        local = involving(mg, block.name)
        own = local._replace(
            factors=tuple(f for f in local.factors if f.name == block.name), potentials=()
        )
        for part in (local, own):  # G v of the block's factors, and of its own prior alone
            v_part, product = information_vector_product(part)
            graphs.append(graph_replace(product, cast(Any, {v_part: v}), strict=False))
    fn = compile_function(
        [mg.theta, v], cast(Any, split_wide_nodes(graphs)), name="reparam_rho", mode=_MODE
    )
    out = {}
    for k, block in enumerate(blocks):
        ones = np.zeros_like(theta)
        ones[block.slice] = 1.0
        # every output is computed at each call; the blocks are few and the graphs small
        products = fn(theta, ones)
        p_total, p_prior = (np.asarray(a)[block.slice] for a in products[2 * k : 2 * k + 2])
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = (p_total - p_prior) / p_prior
        out[block.name] = float(np.median(np.where(np.isfinite(rho), rho, np.inf)))
    return out
