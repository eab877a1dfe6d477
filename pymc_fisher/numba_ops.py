"""Numba implementations of PyTensor ops that PyTensor 3.3 runs in Numba's object mode.

An op in object mode calls back into Python for every element, and the compiled kernel cannot call a
function that contains one (:mod:`.drivers.select` falls back to the NumPy reference): measured on
the corpus's Dirichlet-multinomial model, whose expected information (the local rule) holds
``tri_gamma``, 1.4 ms per function call and an RMHMC 1400 times slower per second than nutpie
(the sampler compiles its functions with Numba).

``TriGamma`` (``ψ₁``) and ``PolyGamma`` (``ψₙ``, the derivatives of the log-gamma function past
the digamma) have no Numba lowering in PyTensor, and SciPy's ``cython_special`` has no polygamma
to bind. Here: the recurrence ``ψₙ(x) = ψₙ(x + 1) + (−1)ⁿ⁺¹ n! / xⁿ⁺¹`` up to ``x ≥ 20``, then the
asymptotic series

    ψₙ(x) = (−1)ⁿ⁺¹ [(n − 1)!/xⁿ + n!/(2xⁿ⁺¹) + Σₖ B₂ₖ (2k + n − 1)! / ((2k)! x²ᵏ⁺ⁿ)],

eight Bernoulli terms, whose first omitted term is below 1e-20 of the sum at ``x = 20`` for
``n ≤ 4`` (Abramowitz & Stegun 6.4.11). At the poles (the non-positive integers) it is
``(−1)ⁿ⁺¹ ∞``, as SciPy's ``polygamma``.

A batched ``AllocDiag`` (``Blockwise{AllocDiag}``) has no Numba implementation either: a rewrite
turns it into the op itself, which PyTensor inlines (:func:`batched_alloc_diag`).

Importing this module registers the lowerings and the rewrite (:mod:`pymc_fisher.compile`, the
one place that compiles, does).
"""

from __future__ import annotations

import math
from typing import Any

from pytensor.graph.rewriting.basic import node_rewriter
from pytensor.link.numba.dispatch import basic as numba_basic
from pytensor.link.numba.dispatch.scalar import register_scalar_funcify, scalar_op_cache_key
from pytensor.scalar.math import PolyGamma, TriGamma
from pytensor.tensor.basic import AllocDiag
from pytensor.tensor.blockwise import Blockwise
from pytensor.tensor.rewriting.basic import register_specialize

__all__ = ["batched_alloc_diag", "polygamma"]

#: B₂, B₄, …, B₁₆
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)
_SERIES_FROM = 20.0


# fastmath off: its 'afn' turns pow(x, float(n)) into powi, whose symbol (__powidf2) Numba's JIT
# does not resolve
@numba_basic.numba_njit(final_function=True, cache=True, fastmath=False)
def polygamma(n: int, x: float) -> float:
    """``ψₙ(x)``, the (n + 1)-th derivative of ``log Γ(x)``, for an integer ``n ≥ 1``."""
    x = float(x)
    if n < 1 or math.isnan(x) or x == -math.inf:
        return math.nan
    if x == math.inf:
        return 0.0
    sign = 1.0 if n % 2 == 1 else -1.0
    if x <= 0.0 and x == math.floor(x):
        return sign * math.inf
    n_factorial = math.gamma(n + 1.0)
    shifted = 0.0
    while x < _SERIES_FROM:
        shifted += 1.0 / math.pow(x, n + 1.0)
        x += 1.0
    # (2k + n − 1)! / ((2k)! x^(2k+n)) at k = 0
    factor = math.gamma(float(n)) / math.pow(x, float(n))
    series = factor + n_factorial / (2.0 * math.pow(x, n + 1.0))
    for k in range(1, len(_BERNOULLI) + 1):
        factor *= (2 * k + n - 2) * (2 * k + n - 1) / ((2 * k - 1) * (2 * k) * x * x)
        series += _BERNOULLI[k - 1] * factor
    return sign * (n_factorial * shifted + series)


@numba_basic.numba_njit
def _tri_gamma(x):
    return polygamma(1, x)


@numba_basic.numba_njit
def _poly_gamma(n, x):
    return polygamma(int(n), x)


@register_scalar_funcify(TriGamma)
def _numba_funcify_tri_gamma(op: Any, node: Any, **kwargs: Any) -> tuple[Any, str]:
    return _tri_gamma, scalar_op_cache_key(op, cache_version=1)


@register_scalar_funcify(PolyGamma)
def _numba_funcify_poly_gamma(op: Any, node: Any, **kwargs: Any) -> tuple[Any, str]:
    return _poly_gamma, scalar_op_cache_key(op, cache_version=1)


# -- Blockwise{AllocDiag} ------------------------------------------------------------------------
# ``AllocDiag`` (``pt.diag`` of a vector) is a symbolic op that PyTensor inlines at specialize;
# wrapped in a ``Blockwise`` (a batched diag: the gradient of a batched Cholesky, say) the inliner
# does not see it, and Numba has no implementation of the op itself, so a function holding one
# falls back to object mode and the sampler to its NumPy kernel (measured on a latent Gaussian
# process, f = chol(K) f̃: 388 s against nutpie's 9 s). ``AllocDiag`` batches natively over
# leading axes, so the Blockwise is the op itself with its axes shifted by the batch dimensions.


@register_specialize("pymc_fisher")
@node_rewriter([Blockwise])
def batched_alloc_diag(fgraph: Any, node: Any) -> list | None:
    """``Blockwise{AllocDiag}(x)`` → ``AllocDiag`` of ``x`` on the last two axes, then inlined."""
    core = node.op.core_op
    if not isinstance(core, AllocDiag):
        return None
    (x,) = node.inputs
    batch = x.type.ndim - 1
    out = AllocDiag(axis1=core.axis1 + batch, axis2=core.axis2 + batch, offset=core.offset)(x)
    return [out]
