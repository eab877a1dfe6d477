"""The split of θ under which the whole-graph expected information is semi-separable.

The metric ``G(θ)`` is *semi-separable* (Zhang & Sutton 2014, §3) when θ splits into a latent
block A and a hyper block B with

- ``G_AB = 0``,
- ``G_AA`` a function of ``θ_B`` only (and of variables not sampled),
- ``G_BB`` a function of ``θ_A`` only, or constant.

Then the Hamiltonian ``-log p + ½ log det G + ½ pᵀG⁻¹p`` is separable in each block with the
other frozen, and an alternating blockwise leapfrog integrates it explicitly
(:mod:`pymc_fisher.samplers.reference.blockwise`). Neal's funnel (A = x, ``G_AA = e^{−v} I``,
``G_BB = 1/9 + (d−1)/2``) and centred Gaussian hierarchies (A = the group effects and their
mean, B = the scale) have this form exactly.

The split is read from the graph, not from the variables' names: from the block pattern of
:func:`pymc_fisher.fisher.dependencies.information_dependencies`, a superset of the true
dependencies, so a split found here holds.

References
----------
Zhang, Y. & Sutton, C. (2014). Semi-separable Hamiltonian Monte Carlo for inference in
Bayesian hierarchical models. NeurIPS 27, arXiv:1406.3843.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from pymc_fisher.compile import compile_function
from pymc_fisher.fisher.dependencies import BlockDependencies, information_dependencies

__all__ = [
    "MAX_SPLIT_VARIABLES",
    "SemiSeparableStructure",
    "Sparsity",
    "semi_separable_structure",
]

Sparsity = Literal["diagonal", "banded", "dense"]

#: Splits of at most this many sampled variables are searched exhaustively (2^k subsets).
MAX_SPLIT_VARIABLES = 16


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
    fn = compile_function(inputs, outputs)
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
