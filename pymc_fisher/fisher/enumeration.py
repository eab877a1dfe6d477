"""Expected information of a discrete observed factor by summing over its support.

For an observed univariate discrete factor without a closed form (ZeroInflatedPoisson,
ZeroInflatedNegativeBinomial, HurdlePoisson, BetaBinomial, mixtures of counts, ...):

``I = Σ_i Σ_{k=0}^{K} p_i(k | θ) ∇θ log p_i(k | θ) ∇θ log p_i(k | θ)ᵀ``,

a smooth graph of θ (every term is a weighted outer product, so ``I`` is positive
semi-definite). The support is truncated at ``K = 2·max(y) + 30`` from the observed data ``y``
(fixed when the graph is built): the rule is exact up to the model's tail mass beyond ``K`` at
θ, which is negligible while θ keeps the counts near the data (a Poisson with mean at the
largest count puts less than 1e-9 beyond it). Data whose largest count exceeds
``MAX_SUPPORT/2`` are left to the local rule (``local.py``), as the sum would cost ``K·n``
evaluations per call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.graph.replace import vectorize_graph
from pytensor.tensor.variable import TensorConstant, TensorVariable

from pymc_fisher.errors import NoClosedFormError

__all__ = ["MAX_SUPPORT", "enumeration_information"]

MAX_SUPPORT = 2000

TangentsFn = Callable[[list], list]


def _data(value: TensorVariable) -> np.ndarray:
    if isinstance(value, TensorConstant):
        return np.asarray(value.data)
    get_value = getattr(value, "get_value", None)
    if get_value is not None:
        return np.asarray(get_value())
    raise NoClosedFormError("the observed data are neither a constant nor shared data")


def enumeration_information(
    op: Any, logp: TensorVariable, value: TensorVariable, tangents_fn: TangentsFn, size: int
) -> TensorVariable | None:
    """The summed-support information of an observed discrete factor (module docstring).

    Parameters
    ----------
    op
        The factor's random-variable Op (univariate, discrete).
    logp
        The factor's elementwise log-density of the data, a graph of θ.
    value
        The observed data (a constant or shared variable in ``logp``).
    tangents_fn
        ``graphs -> [∂g/∂θ]`` as batches ``(size, *g.shape)``.
    size
        θ's size.

    Raises
    ------
    NoClosedFormError
        If the factor is not univariate and discrete, or its data are too large to sum over.
    """
    if getattr(op, "ndim_supp", None) != 0 or not str(value.type.dtype).startswith(("int", "uint")):
        raise NoClosedFormError(f"{type(op).__name__} is not a univariate discrete distribution")
    data = _data(value)
    top = int(2 * data.max() + 30) if data.size else 30
    if top > MAX_SUPPORT or data.min(initial=0) < 0:
        raise NoClosedFormError(
            f"{type(op).__name__}: counts up to {int(data.max())} are too large to sum over"
        )
    grid = np.arange(top + 1, dtype=value.type.dtype).reshape((-1,) + (1,) * value.type.ndim)
    support = pt.as_tensor(np.broadcast_to(grid, (top + 1, *data.shape)).copy())
    batched: Any = vectorize_graph(logp, {value: support})  # (K + 1, *batch)
    finite = pt.isfinite(batched)
    safe = pt.switch(finite, batched, 0.0)  # an impossible count: weight 0, a finite score
    (jac,) = tangents_fn([safe])
    if jac is None:
        return None
    weighted = jac * pt.sqrt(pt.switch(finite, pt.exp(safe), 0.0))[None]
    flat = weighted.reshape((size, -1))
    return flat @ flat.T
