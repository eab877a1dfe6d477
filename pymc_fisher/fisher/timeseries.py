"""Random walks and autoregressions as sums of univariate factors.

A ``RandomWalk`` (GaussianRandomWalk and its kin) with value ``x`` has density
``p_init(x₀) Π_t p_innov(x_t − x_{t−1})``, an ``AR(p)``
``p_init(x_{0:p}) Π_t Normal(x_t − ρ₀[const] − Σ_i ρ_i x_{t−i} | 0, σ)``. Each factor is a
univariate distribution of a graph of θ (the value's first entries, or the innovations), so its
information is the univariate rule (closed form or quantile quadrature) pulled back through that
graph: for the innovations ``ε = Dx`` of a random walk ``Dᵀ I_ε D`` plus the parameters' blocks.
The expectations are over the process itself: under it the innovations are independent with
the innovation distribution, which is what makes the sum exact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytensor.tensor as pt
from pymc.distributions.timeseries import AutoRegressiveRV, RandomWalkRV
from pytensor.tensor.random import basic as prb
from pytensor.tensor.variable import TensorVariable

from pymc_fisher.fisher.registry import Information, closed_form

__all__ = ["is_time_series", "time_series_information"]

# (node of a univariate distribution, its parameters, the value graph) -> pulled-back graph
Univariate = Callable[[Any, tuple, TensorVariable], TensorVariable | None]
PullBack = Callable[[Information, tuple], TensorVariable | None]


def is_time_series(op: object) -> bool:
    """Whether ``op`` is a random walk or an autoregression this module covers."""
    return isinstance(op, RandomWalkRV | AutoRegressiveRV)


def _add(total: TensorVariable | None, term: TensorVariable | None) -> TensorVariable | None:
    if term is None:
        return total
    return term if total is None else total + term


def time_series_information(
    op: Any,
    params: tuple[TensorVariable, ...],
    value: TensorVariable,
    univariate: Univariate,
    pullback: PullBack,
) -> TensorVariable | None:
    """The information of a random walk or AR factor with value ``x`` (a graph of θ or data).

    Parameters
    ----------
    op
        The ``RandomWalkRV`` or ``AutoRegressiveRV``.
    params
        ``op.dist_params(node)`` as graphs of θ.
    value
        The value in its identity coordinate (θ's slice, or the data when observed).
    univariate
        The univariate rule: ``(node, params, value graph) -> pulled-back graph``.
    pullback
        ``(Information, batch_shape) -> pulled-back graph`` for an elementwise information.
    """
    if isinstance(op, RandomWalkRV):
        init, innovation, _steps = params
        init_term = univariate(
            init.owner, tuple(init.owner.op.dist_params(init.owner)), value[..., 0]
        )
        steps = value[..., 1:] - value[..., :-1]
        node = innovation.owner
        return _add(init_term, univariate(node, tuple(node.op.dist_params(node)), steps))
    rhos, sigma, init, _steps = params
    order, constant = op.ar_order, op.constant_term
    lags = [
        rhos[..., i + int(constant), None] * value[..., order - (i + 1) : -(i + 1)]
        for i in range(order)
    ]
    mean = pt.add(*lags) if not constant else pt.add(rhos[..., 0, None], *lags)
    innovations = value[..., order:] - mean
    scale = pt.as_tensor(sigma)[..., None].astype("float64")
    zero = pt.constant(0.0, dtype="float64")
    info = closed_form(prb.normal, (zero, scale), innovations, "identity")
    batch = tuple(innovations.shape[k] for k in range(innovations.type.ndim))
    total = pullback(info, batch)
    init_params = tuple(init.owner.op.dist_params(init.owner))
    return _add(total, univariate(init.owner, init_params, value[..., :order]))
