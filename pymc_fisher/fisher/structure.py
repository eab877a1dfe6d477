"""Which blocks of the whole-graph expected information depend on which value variables.

The metric of the whole graph, ``G(θ) = Σ_f J_fᵀ I_f J_f`` (``expected.py``), is
*semi-separable* (Zhang & Sutton 2014, §3) when θ splits into a latent block A and a hyper
block B with

- ``G_AB = 0``,
- ``G_AA`` a function of ``θ_B`` only (and of variables not sampled),
- ``G_BB`` a function of ``θ_A`` only, or constant.

Then the Hamiltonian ``-log p + ½ log det G + ½ pᵀG⁻¹p`` is separable in each block with the
other frozen, and an alternating blockwise leapfrog integrates it explicitly
(:mod:`pymc_fisher.samplers.reference.blockwise`). Neal's funnel (A = x, ``G_AA = e^{−v} I``,
``G_BB = 1/9 + (d−1)/2``) and centred Gaussian hierarchies (A = the group effects and their
mean, B = the scale) have this form exactly.

The split is read from the graph, not from the variables' names. Each factor's information is
the pull-back ``Σ_ab J_aᵀ I_ab J_b`` over its coordinates ``φ_a`` (distribution parameters, and
its own value when free), so the block ``(I, J)`` of two value variables receives a term only
where ``φ_a`` depends on ``θ_I``, ``φ_b`` on ``θ_J`` and ``I_ab`` is not zero, and that term's
value depends on the value variables among the ancestors of ``∂φ_a/∂θ_I``, ``∂φ_b/∂θ_J`` and
``I_ab`` — ancestors reached through values, not through shapes (a ``zeros_like(x)`` does not
depend on x's values). Factors without an elementwise closed form (quadrature, the local rule,
multivariate pull-backs, Potentials) are taken conservatively: a term in every block of the
variables they touch, depending on all of them. The answer is therefore a superset of the true
dependencies: a split it reports holds exactly.

References
----------
Zhang, Y. & Sutton, C. (2014). Semi-separable Hamiltonian Monte Carlo for inference in
Bayesian hierarchical models. NeurIPS 27, arXiv:1406.3843.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from pytensor.graph.basic import Variable
from pytensor.graph.replace import graph_replace
from pytensor.tensor.elemwise import Elemwise
from pytensor.tensor.shape import Shape, Shape_i, SpecifyShape

from pymc_fisher.errors import NoClosedFormError
from pymc_fisher.fisher.expected import tangents
from pymc_fisher.fisher.model_graph import Factor, ModelGraph, model_graph
from pymc_fisher.fisher.registry import closed_form, has_closed_form, pullback_for
from pymc_fisher.fisher.timeseries import is_time_series

__all__ = [
    "MAX_SPLIT_VARIABLES",
    "BlockDependencies",
    "SemiSeparableStructure",
    "Sparsity",
    "information_dependencies",
    "semi_separable_structure",
    "value_dependencies",
]

Sparsity = Literal["diagonal", "banded", "dense"]

#: Splits of at most this many sampled variables are searched exhaustively (2^k subsets).
MAX_SPLIT_VARIABLES = 16


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


class SemiSeparableStructure(NamedTuple):
    """A split of θ under which the whole-graph information is semi-separable.

    Attributes
    ----------
    latent, hyper
        Value-variable names of the blocks A and B (``hyper`` is empty when ``G`` is constant
        in θ: the blockwise integrator is then the ordinary leapfrog).
    latent_index, hyper_index
        Their positions in θ.
    latent_depends_on, hyper_depends_on
        The sampled variables ``G_AA`` and ``G_BB`` depend on (within ``hyper`` and ``latent``).
    latent_sparsity, hyper_sparsity
        ``"diagonal"``, ``"banded"`` or ``"dense"``.
    latent_bandwidth, hyper_bandwidth
        Largest ``|i − j|`` of a non-zero entry.
    """

    latent: tuple[str, ...]
    hyper: tuple[str, ...]
    latent_index: np.ndarray
    hyper_index: np.ndarray
    latent_depends_on: tuple[str, ...]
    hyper_depends_on: tuple[str, ...]
    latent_sparsity: Sparsity
    hyper_sparsity: Sparsity
    latent_bandwidth: int
    hyper_bandwidth: int


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
    rng = np.random.default_rng(0)
    for i, j in itertools.product(range(k), repeat=2):
        if exact[i][j] and blocks[i][j] is not None and deps[i][j]:
            deps[i][j] = _refine(blocks[i][j], deps[i][j], pieces, rng)
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
    block: Any, names: set[str], pieces: dict[str, Any], rng: np.random.Generator
) -> set[str]:
    """The dependencies of ``block`` that its values show.

    The graph's dependencies are a superset: the pull-back ``J_aᵀ I_ab J_b`` of a scale in log
    coordinates is ``τ · 2/τ² · τ = 2``, constant, while each factor depends on τ and PyTensor's
    rewrites do not cancel them. A dependency is kept when redrawing that variable (standard
    normal, at :data:`REFINE_POINTS` points, :data:`REFINE_REDRAWS` times each) changes the block
    by more than 1e-12 relative; the others are dropped.
    """
    inputs = list(pieces.values())
    fn = pytensor.function(
        inputs, pt.as_tensor(block), mode="FAST_COMPILE", on_unused_input="ignore"
    )
    kept: set[str] = set()
    for _ in range(REFINE_POINTS):
        base = {n: rng.standard_normal(int(v.type.shape[0])) for n, v in pieces.items()}
        value = np.asarray(fn(*base.values()))
        scale = 1e-12 * (1.0 + float(np.max(np.abs(value), initial=0.0)))
        for name in names - kept:
            for _ in range(REFINE_REDRAWS):
                moved = base | {name: rng.standard_normal(base[name].size)}
                if (
                    not np.max(np.abs(np.asarray(fn(*moved.values())) - value), initial=0.0)
                    <= scale
                ):
                    kept.add(name)
                    break
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


def _valid(
    latent: tuple[int, ...], hyper: tuple[int, ...], pattern: BlockDependencies, sampled: set[str]
) -> bool:
    names = pattern.names
    latent_names = {names[i] for i in latent}
    hyper_names = {names[i] for i in hyper}
    for i, j in itertools.product(latent, hyper):
        if pattern.nonzero[i][j] or pattern.nonzero[j][i]:
            return False  # G_AB = 0
    for block, other in ((latent, hyper_names), (hyper, latent_names)):
        for i, j in itertools.product(block, repeat=2):
            if (pattern.depends_on[i][j] & sampled) - other:
                return False  # G_AA(θ_B), G_BB(θ_A)
    return True


def _sparsity(matrices: Sequence[np.ndarray]) -> tuple[Sparsity, int]:
    """The pattern of a block from its values: diagonal, banded (bandwidth < n/2) or dense."""
    n = matrices[0].shape[0]
    if n == 0:
        return "diagonal", 0
    rows, cols = np.nonzero(np.logical_or.reduce([m != 0.0 for m in matrices]))
    bandwidth = int(np.max(np.abs(rows - cols))) if rows.size else 0
    if bandwidth == 0:
        return "diagonal", 0
    return ("banded" if 2 * bandwidth < n - 1 else "dense"), bandwidth


def _block_values(
    pattern: BlockDependencies, block: Sequence[int], rng: np.random.Generator, draws: int
) -> list[np.ndarray]:
    """The block's values at ``draws`` random points (standard normal pieces)."""
    sizes = [int(pattern.pieces[pattern.names[i]].type.shape[0]) for i in block]
    n = sum(sizes)
    pairs = [(a, b) for a in range(len(block)) for b in range(len(block))]
    if any(
        pattern.nonzero[block[a]][block[b]] and pattern.blocks[block[a]][block[b]] is None
        for a, b in pairs
    ):
        return [np.ones((n, n))]  # conservatively known: dense
    live = [(a, b) for a, b in pairs if pattern.nonzero[block[a]][block[b]]]
    inputs = list(pattern.pieces.values())
    outputs = [pt.as_tensor(pattern.blocks[block[a]][block[b]]) for a, b in live]
    fn = pytensor.function(inputs, outputs, mode="FAST_COMPILE", on_unused_input="ignore")
    offsets = np.cumsum([0, *sizes])
    out = []
    for _ in range(draws):
        values = fn(*(rng.standard_normal(int(v.type.shape[0])) for v in inputs))
        full = np.zeros((n, n))
        for (a, b), value in zip(live, values, strict=True):
            full[offsets[a] : offsets[a + 1], offsets[b] : offsets[b + 1]] = value
        out.append(full)
    return out


_EMPTY: tuple[Sparsity, int] = ("diagonal", 0)


def semi_separable_structure(
    model: pm.Model,
    vars: Sequence[str] | None = None,
    *,
    shapes: dict[str, tuple[int, ...]] | None = None,
) -> SemiSeparableStructure | None:
    """The split of θ under which the whole-graph information is semi-separable, if any.

    Parameters
    ----------
    model
        A PyMC model with continuous free variables.
    vars
        Names of the value variables that θ is made of, in θ's order (default: all, in the
        model's order). The others are held fixed: the blocks may depend on them freely.
    shapes
        The value variables' shapes by name (default: read from the model).

    Returns
    -------
    SemiSeparableStructure or None
        The split with the most coordinates in the latent block A (an empty B when ``G`` is
        constant); ``None`` when no split holds (or more than :data:`MAX_SPLIT_VARIABLES`
        variables are sampled).

    Notes
    -----
    The sparsity of each block is read from its values at two random points: a structural zero
    is zero everywhere, so a pattern read this way is too sparse only where an entry vanishes by
    coincidence at both points. The integrator does not rely on it.

    Examples
    --------
    >>> import numpy as np, pymc as pm, pytensor.tensor as pt
    >>> with pm.Model() as funnel:
    ...     v = pm.Normal("v", 0.0, 3.0)
    ...     x = pm.Normal("x", 0.0, pt.exp(v / 2), shape=4)
    >>> s = semi_separable_structure(funnel)
    >>> s.latent, s.hyper, s.latent_depends_on, s.hyper_depends_on, s.latent_sparsity
    (('x',), ('v',), ('v',), (), 'diagonal')
    """
    pattern = information_dependencies(model, shapes)
    names = pattern.names
    order = list(names) if vars is None else list(vars)
    missing = sorted(set(order) - set(names))
    if missing:
        raise ValueError(f"vars {missing} are not value variables of the model ({list(names)}).")
    index = [names.index(n) for n in order]
    sampled = set(order)
    sizes = {n: int(pattern.pieces[n].type.shape[0]) for n in names}
    if len(index) > MAX_SPLIT_VARIABLES:
        return None
    best: tuple[tuple[int, ...], tuple[int, ...]] | None = None
    best_size = -1
    for mask in range(1, 2 ** len(index)):
        latent = tuple(index[k] for k in range(len(index)) if mask >> k & 1)
        hyper = tuple(index[k] for k in range(len(index)) if not mask >> k & 1)
        size = sum(sizes[names[i]] for i in latent)
        if size > best_size and _valid(latent, hyper, pattern, sampled):
            best, best_size = (latent, hyper), size
    if best is None:
        return None
    latent, hyper = best
    offsets = np.cumsum([0] + [sizes[n] for n in order])
    position = {n: np.arange(offsets[k], offsets[k + 1]) for k, n in enumerate(order)}
    rng = np.random.default_rng(0)
    deps = []
    sparsity = []
    for block, other in ((latent, hyper), (hyper, latent)):
        on = set().union(*(pattern.depends_on[i][j] for i in block for j in block)) & sampled
        deps.append(tuple(n for n in order if n in on and names.index(n) in other))
        sparsity.append(
            _sparsity(_block_values(pattern, block, rng, 2)) if block else ("diagonal", 0)
        )
    # the blocks keep θ's order, so their index arrays are sorted
    latent_names = tuple(n for n in order if names.index(n) in latent)
    hyper_names = tuple(n for n in order if names.index(n) in hyper)
    return SemiSeparableStructure(
        latent_names,
        hyper_names,
        np.concatenate([position[n] for n in latent_names]).astype(np.int64),
        np.concatenate([position[n] for n in hyper_names] or [np.zeros(0)]).astype(np.int64),
        deps[0],
        deps[1],
        sparsity[0][0],
        sparsity[1][0],
        sparsity[0][1],
        sparsity[1][1],
    )
