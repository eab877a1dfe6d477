"""The PyTensor mode of functions called a few times: stabilising rewrites, no code generation.

The information at a point, the Laplace fit, a summary, a change of coordinates: each function
runs once or a few dozen times, so generating C or Numba code costs more than it saves (the
expected information of German credit in a fresh process with PyTensor's caches empty: 16 s with
its default Numba mode, 1.3 s here); the sampler's functions, called millions of times, are
compiled by Numba (``mode="NUMBA"``). The Laplace fit on German credit in a fresh process took
about 1.5 s with Numba and a warm cache, and 98 s with an empty one. PyTensor's ``FAST_COMPILE``
generates no code but also skips the stabilising rewrites that PyMC's log densities rely on:
Bernoulli's ``log(sigmoid(x))`` is ``-inf`` at ``x = -800`` instead of ``-800``.
:data:`LAPLACE_MODE` keeps both advantages: the Python VM linker, and the rewrites that decide
the numbers — ``canonicalize``, ``stabilize`` and ``specialize``, as in ``fast_run`` — without
``fast_run``'s in-place, BLAS, shape and scan passes, which cost compile time and save little in
a function called a few dozen times (measured in fresh processes: CPU time of the whole fit as
with ``FAST_COMPILE``, 5-10% less than with all of ``fast_run``).

Two rewrites produce scalar operations that the Python linker evaluates one element at a time
(``np.frompyfunc``), which is slow on large data:

- ``local_pow_to_nested_squaring`` fuses ``x ** n`` (``n > 2``) into a ``Composite``: it is
  excluded, like elementwise fusion (NumPy runs the unfused operations as ufuncs);
- the stable forms the rewrites introduce (``softplus``, ``log1mexp``) and ``trigamma`` have no
  NumPy function: :func:`vectorise_scalar_ops` gives them one (:data:`VECTORISED`).

And NumPy's ufuncs take at most 32 operands (the output included), while the canonical form of a
long sum (a gradient, the information summed over many factors) is one wide ``Add``: the mode
splits them last.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytensor.scalar.basic as psb
import pytensor.scalar.math as psm
from pytensor.compile.mode import Mode
from pytensor.graph.basic import Apply, Variable
from pytensor.graph.fg import FunctionGraph
from pytensor.graph.rewriting.basic import dfs_rewriter, node_rewriter
from pytensor.graph.rewriting.db import RewriteDatabaseQuery
from pytensor.link.vm import VMLinker
from pytensor.tensor.elemwise import Elemwise
from scipy import special

__all__ = [
    "LAPLACE_MODE",
    "LAPLACE_MODE_NAME",
    "ONE_SHOT_MODE",
    "VECTORISED",
    "resolve_mode",
    "split_wide_nodes",
]

LAPLACE_MODE_NAME = "LAPLACE"


def softplus(x: np.ndarray) -> np.ndarray:
    """``log(1 + eˣ)`` without overflow."""
    return np.logaddexp(0.0, x)


def log1mexp(x: np.ndarray) -> np.ndarray:
    """``log(1 − eˣ)`` for ``x ≤ 0``, each branch where it is accurate (Mächler 2012)."""
    x = np.asarray(x, dtype=float)
    with np.errstate(all="ignore"):
        return np.where(x < np.log(0.5), np.log1p(-np.exp(x)), np.log(-np.expm1(x)))


def trigamma(x: np.ndarray) -> np.ndarray:
    """``ψ₁(x)``, the derivative of the digamma function."""
    return special.polygamma(1, x)


# Scalar operations without a NumPy function, and the vectorised function that computes the same
# (PyTensor's own Python ``impl`` of each, applied to whole arrays). The paths are what
# ``Elemwise.nfunc_spec`` takes: a dotted name PyTensor imports.
VECTORISED: dict[type, tuple[str, int, int]] = {
    psm.Softplus: (f"{__name__}.softplus", 1, 1),
    psm.Log1mexp: (f"{__name__}.log1mexp", 1, 1),
    psm.TriGamma: (f"{__name__}.trigamma", 1, 1),
    psb.Clip: ("numpy.clip", 3, 1),
}


@node_rewriter([Elemwise])
def vectorise_scalar_ops(fgraph, node: Apply):
    """Give an ``Elemwise`` of a scalar operation in :data:`VECTORISED` its NumPy function."""
    op = node.op
    spec = VECTORISED.get(type(op.scalar_op))
    if spec is None or op.nfunc_spec is not None or len(node.inputs) != spec[1]:
        return None
    vectorised = Elemwise(op.scalar_op, inplace_pattern=op.inplace_pattern, nfunc_spec=spec)
    return vectorised.make_node(*node.inputs).outputs


# Late, after any rewrite that rebuilds an Elemwise (and with it drops nfunc_spec, as the
# in-place pass at 50.5 does), and before the last merge (100).
_VECTORISE_POSITION = 99

#: NumPy's ufuncs take at most 32 operands, the output included, so PyTensor's Python linker
#: cannot run an ``Elemwise`` with more than 31 inputs (gradients sum their terms in one ``Add``).
_MAX_OPERANDS = 31


@node_rewriter([Elemwise])
def _split_wide(fgraph: Any, node: Any) -> list | None:
    """An ``Add`` or ``Mul`` of more than 31 inputs as a tree of narrower ones."""
    if len(node.inputs) <= _MAX_OPERANDS or not isinstance(node.op.scalar_op, psb.Add | psb.Mul):
        return None
    inputs = list(node.inputs)
    while len(inputs) > _MAX_OPERANDS:
        inputs = [
            node.op(*inputs[i : i + _MAX_OPERANDS]) if len(inputs[i : i + _MAX_OPERANDS]) > 1
            else inputs[i]
            for i in range(0, len(inputs), _MAX_OPERANDS)
        ]  # fmt: skip
    return [node.op(*inputs)]


def split_wide_nodes(outputs: Sequence[Variable]) -> list[Variable]:
    """``outputs`` with each ``Add`` or ``Mul`` of over 31 inputs split, for the Python linker."""
    fgraph = FunctionGraph(outputs=list(outputs), clone=True, copy_inputs=False)
    dfs_rewriter(_split_wide).rewrite(fgraph)
    return list(fgraph.outputs)


LAPLACE_MODE = Mode(
    VMLinker(use_cloop=False, c_thunks=False),
    RewriteDatabaseQuery(
        include=["canonicalize", "stabilize", "specialize", "merge"],
        exclude=["fusion", "local_pow_to_nested_squaring"],
        extra_rewrites=[
            (dfs_rewriter(vectorise_scalar_ops), _VECTORISE_POSITION),
            (dfs_rewriter(_split_wide), _VECTORISE_POSITION + 0.5),
        ],
    ),
)


#: What :func:`pymc_fisher.compile.compile_function` compiles in unless told otherwise.
ONE_SHOT_MODE = LAPLACE_MODE


def resolve_mode(mode: str | Mode | None) -> str | Mode | None:
    """``"LAPLACE"`` → :data:`LAPLACE_MODE`; anything else is PyTensor's to interpret."""
    return LAPLACE_MODE if mode == LAPLACE_MODE_NAME else mode
