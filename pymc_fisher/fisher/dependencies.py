"""Which blocks of the whole-graph expected information depend on which value variables.

The metric of the whole graph is ``G(θ) = Σ_f J_fᵀ I_f J_f`` (``expected.py``). Each factor's
information is the pull-back ``Σ_ab J_aᵀ I_ab J_b`` over its coordinates ``φ_a`` (distribution
parameters, and its own value when free), so the block ``(I, J)`` of two value variables
receives a term only where ``φ_a`` depends on ``θ_I``, ``φ_b`` on ``θ_J`` and ``I_ab`` is not
zero, and that term's value depends on the value variables among the ancestors of
``∂φ_a/∂θ_I``, ``∂φ_b/∂θ_J`` and ``I_ab`` — ancestors reached through values, not through
shapes (a ``zeros_like(x)`` does not depend on x's values). Factors without an elementwise
closed form (quadrature, the local rule, multivariate pull-backs, Potentials) are taken
conservatively: a term in every block of the variables they touch, depending on all of them.
The answer is therefore a superset of the true dependencies, narrowed where the blocks' values
show that a dependency the graph keeps cancels (:func:`_refine`).

:mod:`pymc_fisher.fisher.structure` reads a semi-separable split from this pattern.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pytensor.graph.basic import Variable
from pytensor.graph.replace import graph_replace
from pytensor.tensor.elemwise import Elemwise
from pytensor.tensor.shape import Shape, Shape_i, SpecifyShape

from pymc_fisher.compile import compile_function
from pymc_fisher.errors import NoClosedFormError
from pymc_fisher.fisher.expected import tangents
from pymc_fisher.fisher.model_graph import Factor, ModelGraph, model_graph
from pymc_fisher.fisher.registry import closed_form, has_closed_form, pullback_for
from pymc_fisher.fisher.timeseries import is_time_series

__all__ = ["BlockDependencies", "information_dependencies", "value_dependencies"]


class BlockDependencies(NamedTuple):
    """The expected information's block pattern over the value variables.

    Attributes
    ----------
    names
        Value-variable names, in θ's order.
    nonzero
        ``nonzero[i][j]``: whether block ``(i, j)`` receives any term.
    depends_on
        ``depends_on[i][j]``: the value variables block ``(i, j)``'s entries depend on.
    blocks
        ``blocks[i][j]``: the block as a graph of one vector per variable (``pieces``), or
        ``None`` where it is zero or only conservatively known.
    pieces
        The vector input of each variable, by name.
    """

    names: tuple[str, ...]
    nonzero: tuple[tuple[bool, ...], ...]
    depends_on: tuple[tuple[frozenset[str], ...], ...]
    blocks: tuple[tuple[Any, ...], ...]
    pieces: dict[str, Any]


def value_dependencies(graph: Variable, inputs: Sequence[Variable]) -> frozenset[Variable]:
    """The ``inputs`` whose *values* ``graph`` depends on (paths through shapes do not count).

    Parameters
    ----------
    graph
        A PyTensor graph.
    inputs
        Candidate root variables.

    Returns
    -------
    frozenset
        Those of ``inputs`` reached from ``graph`` through value-carrying edges: every input of
        an Apply node except the input of ``Shape``/``Shape_i``, the shape operands of
        ``SpecifyShape`` and ``Alloc``, and the first operand of ``second`` (``fill``).

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> x, y = pt.vector("x"), pt.vector("y")
    >>> sorted(v.name for v in value_dependencies(pt.zeros_like(x) + 2 * y, [x, y]))
    ['y']
    """
    wanted = {id(v): v for v in inputs}
    found: dict[int, Variable] = {}
    seen: set[int] = set()
    stack = [graph]
    while stack:
        var = stack.pop()
        if id(var) in seen:
            continue
        seen.add(id(var))
        if id(var) in wanted:
            found[id(var)] = var
        node = var.owner
        if node is not None:
            stack.extend(_value_inputs(node))
    return frozenset(found.values())


def _value_inputs(node: Any) -> list[Variable]:
    op = node.op
    if isinstance(op, Shape | Shape_i):
        return []
    if isinstance(op, SpecifyShape) or type(op).__name__ in ("Alloc", "AllocEmpty"):
        return list(node.inputs[:1]) if type(op).__name__ != "AllocEmpty" else []
    if isinstance(op, Elemwise) and type(op.scalar_op).__name__ == "Second":
        return [node.inputs[1]]
    return list(node.inputs)


def _pieces(mg: ModelGraph) -> tuple[dict[str, Any], dict[Any, Any]]:
    """One vector input per value variable, and the map from θ's slices to them."""
    pieces: dict[str, Any] = {}
    replace: dict[Any, Any] = {}
    for value, sliced in mg.replacements.items():
        shape = mg.layout.shapes[mg.layout.names.index(value.name)]
        piece = pt.vector(value.name, shape=(int(np.prod(shape, dtype=int)),), dtype="float64")
        pieces[value.name] = piece
        replace[sliced] = piece.reshape(shape).astype(sliced.dtype)
    return pieces, replace


def _closed_form_terms(factor: Factor, mg: ModelGraph, replace: dict) -> Any | None:
    """The factor's elementwise ``(coords, matrix, batch shape)`` in the pieces, or ``None``."""
    op = factor.op
    transform = None
    if not factor.observed and mg.space == "unconstrained":
        transform = mg.model.rvs_to_transforms.get(factor.rv)
    if (
        not has_closed_form(op)
        or pullback_for(op) is not None
        or is_time_series(op)
        or type(transform).__name__ == "Ordered"
    ):
        return None
    params = graph_replace(list(factor.params), replace, strict=False)
    if factor.observed:
        value = None
        batch_shape = tuple(factor.logp.shape[k] for k in range(factor.logp.type.ndim))
    else:
        value = graph_replace(factor.value, replace, strict=False)
        tensors = [value, *(p for p in params if isinstance(p, pt.TensorVariable))]
        batch_shape = tuple(pt.broadcast_shape(*tensors))
    try:
        information = closed_form(op, params, value, factor.coordinate)  # type: ignore[arg-type]
    except NoClosedFormError:
        return None
    return information, batch_shape


def information_dependencies(
    model: pm.Model, shapes: dict[str, tuple[int, ...]] | None = None
) -> BlockDependencies:
    """Read the whole-graph expected information's block pattern from the model's graph.

    Parameters
    ----------
    model
        A PyMC model with continuous free variables.
    shapes
        The value variables' shapes by name (default: read from the model).

    Returns
    -------
    BlockDependencies
        For every pair of value variables, whether their block receives a term, and which
        value variables its entries depend on (a superset: see the module's notes).
    """
    mg = model_graph(model, shapes)
    pieces, replace = _pieces(mg)
    names = tuple(mg.layout.names)
    k = len(names)
    nonzero = [[False] * k for _ in range(k)]
    deps: list[list[set[str]]] = [[set() for _ in range(k)] for _ in range(k)]
    blocks: list[list[Any]] = [[None] * k for _ in range(k)]
    exact = [[True] * k for _ in range(k)]
    inputs = list(pieces.values())

    def names_of(graph: Any) -> set[str]:
        return {str(v.name) for v in value_dependencies(graph, inputs)}

    for factor in mg.factors:
        terms = _closed_form_terms(factor, mg, replace)
        if terms is None:
            _conservative(factor, mg, replace, names_of, names, nonzero, deps, exact)
            continue
        information, batch_shape = terms
        coords = information.coords
        # ∂φ_a/∂θ_I for every coordinate a and variable I: (size_I, *batch) or None
        jac = {n: tangents(coords, pieces[n], int(pieces[n].type.shape[0])) for n in names}
        for a, b in itertools.product(range(len(coords)), repeat=2):
            entry = information.matrix[min(a, b)][max(a, b)]
            if entry is None:
                continue
            entry_deps = names_of(pt.as_tensor(entry))
            for i, j in itertools.product(range(k), repeat=2):
                ja, jb = jac[names[i]][a], jac[names[j]][b]
                if ja is None or jb is None:
                    continue
                nonzero[i][j] = True
                deps[i][j] |= entry_deps | names_of(ja) | names_of(jb)
                term = _gram(ja, jb, entry, batch_shape)
                blocks[i][j] = term if blocks[i][j] is None else blocks[i][j] + term
    for factor_potential in mg.potentials:
        touched = names_of(factor_potential)
        _mark(touched, names, nonzero, deps, exact)
    # what still reads θ reads its shape (a batch shape from a log-density): θ as the pieces
    whole: dict[Any, Any] = {mg.theta: pt.concatenate([pieces[n] for n in names])}
    for i, j in itertools.product(range(k), repeat=2):
        if blocks[i][j] is not None:
            blocks[i][j] = graph_replace(pt.as_tensor(blocks[i][j]), whole, strict=False)
    refinable = [
        (i, j) for i, j in itertools.product(range(k), repeat=2)
        if exact[i][j] and blocks[i][j] is not None and deps[i][j]
    ]  # fmt: skip
    if refinable:
        kept = _refine(
            {ij: blocks[ij[0]][ij[1]] for ij in refinable},
            {ij: deps[ij[0]][ij[1]] for ij in refinable},
            pieces,
            np.random.default_rng(0),
        )
        for i, j in refinable:
            deps[i][j] = kept[(i, j)]
    return BlockDependencies(
        names,
        tuple(tuple(row) for row in nonzero),
        tuple(tuple(frozenset(d) for d in row) for row in deps),
        tuple(tuple(blocks[i][j] if exact[i][j] else None for j in range(k)) for i in range(k)),
        pieces,
    )


#: Points at which a dependency the graph shows is tested, and redraws of the variable at each.
REFINE_POINTS = 3
REFINE_REDRAWS = 2


def _refine(
    blocks: dict[tuple[int, int], Any],
    deps: dict[tuple[int, int], set[str]],
    pieces: dict[str, Any],
    rng: np.random.Generator,
) -> dict[tuple[int, int], set[str]]:
    """The dependencies of each block that its values show (one compiled function for all).

    The graph's dependencies are a superset: the pull-back ``J_aᵀ I_ab J_b`` of a scale in log
    coordinates is ``τ · 2/τ² · τ = 2``, constant, while each factor depends on τ and PyTensor's
    rewrites do not cancel them. A dependency is kept when redrawing that variable (standard
    normal, at :data:`REFINE_POINTS` points, :data:`REFINE_REDRAWS` times each) changes the block
    by more than 1e-12 relative; the others are dropped.
    """
    keys = list(blocks)
    fn = compile_function(list(pieces.values()), [pt.as_tensor(blocks[k]) for k in keys])
    kept: dict[tuple[int, int], set[str]] = {k: set() for k in keys}
    for _ in range(REFINE_POINTS):
        base = {n: rng.standard_normal(int(v.type.shape[0])) for n, v in pieces.items()}
        values = [np.asarray(v) for v in fn(*base.values())]
        scales = [1e-12 * (1.0 + float(np.max(np.abs(v), initial=0.0))) for v in values]
        for name in set().union(*(deps[k] - kept[k] for k in keys)):
            for _ in range(REFINE_REDRAWS):
                moved = fn(*(base | {name: rng.standard_normal(base[name].size)}).values())
                for k, value, new, scale in zip(keys, values, moved, scales, strict=True):
                    if name in deps[k] and not (
                        np.max(np.abs(np.asarray(new) - value), initial=0.0) <= scale
                    ):
                        kept[k].add(name)
    return kept


def _gram(x: Any, y: Any, weight: Any, batch_shape: tuple) -> Any:
    """``Σ_b x[:, b] w_b y[:, b]ᵀ``: an ``(size_x, size_y)`` block of a pull-back.

    As :func:`~pymc_fisher.fisher.expected.batch_gram`, for two different variables' tangents
    (whose leading axes differ, so only the batch axes broadcast).
    """
    ndim = len(batch_shape)
    x, y = (j.reshape((j.shape[0], *([1] * (ndim - j.type.ndim + 1)), *j.shape[1:]), ndim=ndim + 1)
            if j.type.ndim - 1 < ndim else j for j in (x, y))  # fmt: skip
    w = pt.broadcast_to(pt.as_tensor(weight, dtype="float64"), batch_shape)
    xw = pt.broadcast_to(x * w[None], (x.shape[0], *batch_shape))
    yb = pt.broadcast_to(y, (y.shape[0], *batch_shape))
    return xw.reshape((x.shape[0], -1)) @ yb.reshape((y.shape[0], -1)).T


def _conservative(
    factor: Factor, mg: ModelGraph, replace: dict, names_of: Any, names: tuple[str, ...],
    nonzero: list, deps: list, exact: list,
) -> None:  # fmt: skip
    """A factor without an elementwise closed form: every block of what it touches."""
    graphs = [*factor.params, factor.logp] + ([] if factor.observed else [factor.value])
    touched: set[str] = set()
    for g in graph_replace(graphs, replace, strict=False):
        touched |= names_of(g)
    _mark(touched, names, nonzero, deps, exact)


def _mark(
    touched: set[str], names: tuple[str, ...], nonzero: list, deps: list, exact: list
) -> None:
    for i, j in itertools.product(range(len(names)), repeat=2):
        if names[i] in touched and names[j] in touched:
            nonzero[i][j] = True
            deps[i][j] |= touched
            exact[i][j] = False
