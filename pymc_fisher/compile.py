"""The one place that turns graphs into callables, and caches what is built from a model.

Cached values live on the model itself (an attribute that pickling and copying drop), so they
go when the model goes. Many of them hold the model (a ``ModelGraph`` names its model), which
makes a model-to-cache-to-model cycle: Python's cycle collector frees it. A dictionary outside
the model could not (a ``WeakKeyDictionary`` whose values hold their key keeps it alive for ever).

Entries are keyed by what the graphs were built from: the model's variables (a variable added
means new keys) and the *shape signature* of its mutable data and dimensions. ``pm.set_data``
or ``pm.Model.set_dim`` that resizes anything clears the model's entries, since a layout
frozen from the old shapes would be stale; a change of values alone keeps them (compiled
functions read shared data when called).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
import pymc as pm
import pytensor
from pytensor.compile import Function, SharedVariable
from pytensor.compile.mode import Mode
from pytensor.tensor.variable import TensorVariable

import pymc_fisher.numba_ops  # noqa: F401  (registers Numba lowerings of PyTensor's polygammas)
from pymc_fisher.compile_mode import ONE_SHOT_MODE, resolve_mode, split_wide_nodes

__all__ = ["cached", "compile_function", "model_key", "shape_signature", "split_wide_nodes"]

_ATTRIBUTE = "_pymc_fisher_cache"


def compile_function(
    inputs: Sequence[TensorVariable],
    outputs: TensorVariable | Sequence[TensorVariable],
    *,
    name: str | None = None,
    random_seed: int | None = None,
    mode: str | Mode | None = None,
    sampling: bool = False,
) -> Function:
    """Compile ``outputs`` as a function of ``inputs``.

    ``mode`` defaults to :data:`~pymc_fisher.compile_mode.ONE_SHOT_MODE`, PyTensor's stabilising
    rewrites on its Python VM, for functions called a few times; pass ``"NUMBA"`` (or any
    PyTensor mode) for one called in a loop. ``random_seed`` seeds any random generators in the
    graph (for Monte Carlo draws).
    ``sampling`` compiles as PyMC's samplers do (``pm.pytensorf.compile`` in the model's
    context): a parameter outside its support makes ``log p = -inf`` instead of raising.
    """
    mode = ONE_SHOT_MODE if mode is None else resolve_mode(mode)
    if sampling or random_seed is not None:
        return pm.pytensorf.compile(
            list(inputs), outputs, random_seed=random_seed, mode=mode,
            on_unused_input="ignore", name=name,
        )  # fmt: skip
    return pytensor.function(list(inputs), outputs, on_unused_input="ignore", name=name, mode=mode)


def model_key(model: pm.Model) -> tuple:
    """What a model's graphs depend on: its variables (changes when one is added)."""
    return (tuple(model.basic_RVs), tuple(model.potentials), tuple(model.deterministics))


def shape_signature(model: pm.Model) -> tuple:
    """Shapes of the model's data and lengths of its mutable dimensions, by name.

    What ``pm.set_data`` and ``set_dim`` can resize, read without compiling anything.

    Examples
    --------
    >>> with pm.Model(coords={"g": range(2)}) as model:
    ...     x = pm.Data("x", np.zeros(3))
    >>> shape_signature(model)
    (('x', (3,)), ('g', 2))
    """
    data = tuple((v.name, np.shape(v.get_value(borrow=True))) for v in model.data_vars)
    dims = tuple(
        (name, int(length.get_value(borrow=True)))
        for name, length in model.dim_lengths.items()
        if isinstance(length, SharedVariable)
    )
    return data + dims


class _ModelCache:
    """A model's cached entries and the shape signature they were built at.

    Pickled or copied as an empty cache: compiled functions are rebuilt where they are used.
    """

    def __init__(self) -> None:
        self.signature: tuple | None = None
        self.entries: dict[Hashable, Any] = {}

    def __reduce__(self) -> tuple:
        return (_ModelCache, ())


def cached(model: pm.Model, key: Hashable, build: Callable[[], Any]) -> Any:
    """Return ``build()``, computed once per ``(model, model_key(model), key)`` and shapes.

    A change of :func:`shape_signature` since the last call empties the model's cache first.
    """
    cache = model.__dict__.get(_ATTRIBUTE)
    if not isinstance(cache, _ModelCache):
        cache = _ModelCache()
        setattr(model, _ATTRIBUTE, cache)
    signature = shape_signature(model)
    if cache.signature != signature:
        cache.entries.clear()
        cache.signature = signature
    full_key = (model_key(model), key)
    if full_key not in cache.entries:
        cache.entries[full_key] = build()
    return cache.entries[full_key]
