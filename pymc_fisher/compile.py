"""The one place that turns graphs into callables.

Compiled functions are cached per model (weakly, so a model that goes away takes its functions
with it), keyed by what the graph was built from; a model whose variables change gets new keys.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import pymc as pm
import pytensor
from pytensor.compile import Function
from pytensor.compile.mode import Mode
from pytensor.tensor.variable import TensorVariable

__all__ = ["cached", "compile_function", "model_key"]

_CACHE: weakref.WeakKeyDictionary[pm.Model, dict[Hashable, Any]] = weakref.WeakKeyDictionary()


def compile_function(
    inputs: Sequence[TensorVariable],
    outputs: TensorVariable | Sequence[TensorVariable],
    *,
    name: str | None = None,
    random_seed: int | None = None,
    mode: str | Mode | None = None,
    sampling: bool = False,
) -> Function:
    """Compile ``outputs`` as a function of ``inputs`` (PyTensor's default mode unless ``mode``).

    ``random_seed`` seeds any random generators in the graph (for Monte Carlo draws).
    ``sampling`` compiles as PyMC's samplers do (``pm.pytensorf.compile`` in the model's
    context): a parameter outside its support makes ``log p = -inf`` instead of raising.
    """
    if sampling or random_seed is not None:
        return pm.pytensorf.compile(
            list(inputs), outputs, random_seed=random_seed, mode=mode,
            on_unused_input="ignore", name=name,
        )  # fmt: skip
    return pytensor.function(list(inputs), outputs, on_unused_input="ignore", name=name, mode=mode)


def model_key(model: pm.Model) -> tuple:
    """What a model's graphs depend on: its variables (changes when one is added)."""
    return (tuple(model.basic_RVs), tuple(model.potentials), tuple(model.deterministics))


def cached(model: pm.Model, key: Hashable, build: Callable[[], Any]) -> Any:
    """Return ``build()``, computed once per ``(model, model_key(model), key)``."""
    entries = _CACHE.setdefault(model, {})
    full_key = (model_key(model), key)
    if full_key not in entries:
        entries[full_key] = build()
    return entries[full_key]
