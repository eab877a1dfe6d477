"""The change of variables ``u ↦ w ↦ θ`` as graphs, with its log-Jacobian.

- ``w = ŵ + M u``: the global linear whitening (``M = L⁻ᵀ`` with ``L Lᵀ`` the precision at the
  mode of the density of ``w``, or a diagonal); its log-Jacobian ``log |det M|`` is a constant.
- ``θ = T(w)``: the triangular Fisher non-centering. Coordinates outside the latent blocks pass
  through; block ``k`` (in the model's order, so its parents come first) is

  ``x_k = m_k + P_k^{-1/2} z_k``,  ``m_k = x₀_k + P_k⁻¹ ∇_{x_k} log p``,  ``P_k = diag G_kk``,

  with ``x₀_k`` the prior location, and ``P_k`` and the score evaluated at a *reference point*:
  θ so far (the kept coordinates and the blocks before ``k``, already mapped), with block ``k``
  and every later block set to its prior location given its parents there. The reference point
  depends only on what comes before ``k``, so the map is triangular and its log-Jacobian is
  ``−½ Σ_k Σ log P_k``. ``m_k`` is one Fisher-scoring step from the prior location: for a
  Gaussian likelihood with an identity link the exact conditional mean, and ``P_k`` the exact
  conditional precision, so ``z_k`` is standard normal given the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import pytensor.tensor as pt
from pytensor.graph.replace import graph_replace
from pytensor.graph.rewriting.utils import rewrite_graph
from pytensor.graph.traversal import ancestors
from pytensor.tensor.variable import TensorVariable

from pymc_fisher.fisher.model_graph import ModelGraph
from pymc_fisher.reparam.blocks import LatentBlock, information_on_line, moved

__all__ = ["BlockGraphs", "involving", "noncentering", "whitening"]


class BlockGraphs:
    """Per block: its precision diagonal ``P_k`` and score ``∇_{x_k} log p``, and its location.

    Graphs of one input vector per variable (``pieces``, in θ's order) rather than of θ: the
    non-centering evaluates them at reference points made of pieces, and a graph of θ would
    slice and re-assemble θ at each (and its gradient would scatter into zeros of θ's size).
    Both come from the factors that involve ``x_k`` alone (its own prior, its children, the
    Potentials that read it): the others contribute nothing to either, and leaving them out
    keeps the graphs, and so the compile of the new model, small.
    """

    def __init__(self, mg: ModelGraph, blocks: Sequence[LatentBlock]):
        self.mg = mg
        self.blocks = tuple(blocks)
        self.pieces = [
            pt.vector(f"piece_{name}", dtype="float64", shape=(sl.stop - sl.start,))
            for name, sl in zip(mg.layout.names, mg.layout.slices, strict=True)
        ]
        self.index = {sl.start: i for i, sl in enumerate(mg.layout.slices)}
        values = {v.name: v for v in mg.model.value_vars}
        on_pieces = {
            mg.replacements[values[name]]: _shaped(piece, shape, values[name].type.dtype)
            for name, shape, piece in zip(
                mg.layout.names, mg.layout.shapes, self.pieces, strict=True
            )
        }
        precision: list[Any] = []
        score: list[Any] = []
        location: list[Any] = []
        for block in blocks:
            i = self.index[block.slice.start]
            local = involving(mg, block.name)
            # diag G_kk = ½ ∇_t (tᵀ G_kk t) at t = 1, on the line moving piece k alone along t
            t = pt.vector("t", dtype="float64", shape=self.pieces[i].type.shape)
            s = pt.vector("s", dtype="float64", shape=(1,))
            line = dict(on_pieces)
            name, shape = mg.layout.names[i], mg.layout.shapes[i]
            moving = _shaped(self.pieces[i] + s[0] * t, shape, values[name].type.dtype)
            line[mg.replacements[values[name]]] = moving
            quadratic = information_on_line(moved(local, line), s)
            product = 0.5 * cast(TensorVariable, pt.grad(quadratic, t))
            ones = pt.ones(t.type.shape, dtype="float64")
            at_ones: dict[Any, Any] = {t: ones}
            precision.append(graph_replace(product, at_ones, strict=False))
            logp = graph_replace(local.logp(), on_pieces, strict=False)
            score.append(pt.grad(logp, self.pieces[i]))
            location.append(graph_replace(block.location, on_pieces, strict=False))
        # Simplified once here (the line's tangent and its gradient collapse, 538 nodes to 62
        # on eight schools) rather than each time the model is compiled with them nested.
        simple: Any = rewrite_graph(
            [*precision, *score, *location],
            include=("fast_run",),
            exclude=("inplace", "fusion", "BlasOpt", "local_careduce_fusion"),
        )
        k = len(blocks)
        self.precision = [cast(TensorVariable, g) for g in simple[:k]]
        self.score = [cast(TensorVariable, g) for g in simple[k : 2 * k]]
        self.location = [cast(TensorVariable, g) for g in simple[2 * k :]]

    def at(self, graph: TensorVariable, pieces: Sequence[Any]) -> TensorVariable:
        """``graph`` (of ``self.pieces``) at the point made of ``pieces``."""
        replace: dict[Any, Any] = dict(zip(self.pieces, pieces, strict=True))
        return cast(TensorVariable, graph_replace(graph, replace, strict=False))


def _shaped(piece: Any, shape: tuple[int, ...], dtype: str) -> TensorVariable:
    return cast(TensorVariable, piece.reshape(shape).astype(dtype))


def _join(pieces: Sequence[Any]) -> TensorVariable:
    return cast(TensorVariable, pt.concatenate(list(pieces)) if len(pieces) > 1 else pieces[0])


def involving(mg: ModelGraph, name: str) -> ModelGraph:
    """``mg`` with only the factors and Potentials whose density reads the variable ``name``."""
    model = mg.model
    rv = model[name]

    def reads(graph: Any) -> bool:
        return graph is rv or any(a is rv for a in ancestors([graph]))

    factors = tuple(f for f in mg.factors if f.name == name or reads_inputs(f.rv, rv))
    potentials = tuple(
        p for p, original in zip(mg.potentials, model.potentials, strict=True) if reads(original)
    )
    return mg._replace(factors=factors, potentials=potentials)


def reads_inputs(child: Any, rv: Any) -> bool:
    """Whether ``child``'s distribution has ``rv`` among its inputs' ancestors."""
    return any(a is rv for a in ancestors(list(child.owner.inputs)))


def noncentering(graphs: BlockGraphs, w: TensorVariable) -> tuple[TensorVariable, TensorVariable]:
    """``θ = T(w)`` and ``log |det ∂θ/∂w|``, graphs of ``w`` (module docstring)."""
    layout = graphs.mg.layout
    sizes = [sl.stop - sl.start for sl in layout.slices]
    pieces = list(pt.split(w, sizes, n_splits=len(sizes))) if len(sizes) > 1 else [w]
    index = graphs.index
    log_jacobian: TensorVariable = pt.constant(0.0, dtype="float64")
    blocks = graphs.blocks
    for k, block in enumerate(blocks):
        reference = list(pieces)
        for j in range(k, len(blocks)):
            reference[index[blocks[j].slice.start]] = graphs.at(graphs.location[j], reference)
        precision = graphs.at(graphs.precision[k], reference)
        score = graphs.at(graphs.score[k], reference)
        i = index[block.slice.start]
        pieces[i] = reference[i] + score / precision + pieces[i] / pt.sqrt(precision)
        log_jacobian = log_jacobian - 0.5 * pt.sum(pt.log(precision))
    return _join(pieces), log_jacobian


def whitening(u: TensorVariable, shift: Any, scale: Any) -> TensorVariable:
    """``w = ŵ + M u``: ``scale`` is ``M`` (a matrix) or its diagonal (a vector)."""
    if scale.type.ndim == 1:
        return cast(TensorVariable, shift + scale * u)
    # A product and a row sum rather than ``dot``: Numba's BLAS binding costs seconds to compile
    # (measured: 8.6 s for one ``dot`` against 0.4 s for an elementwise graph), every time
    # nutpie wraps the model, and at d ≤ DENSE_LIMIT the flops are the same.
    return cast(TensorVariable, shift + pt.sum(scale * u[None, :], axis=1))
