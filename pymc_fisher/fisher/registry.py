"""The registries of closed-form information, keyed by the random variable's Op.

Two registries: elementwise entries (``register``: parameters, value and coordinate to an
``Information``) and whole pull-backs for distributions that are not elementwise
(``register_pullback``). The modules that hold entries (``closed_form``, ``multivariate``, ...)
import this one and register themselves; ``pymc_fisher.fisher`` imports them all, so looking an
Op up through this module sees every entry once the package is imported.

Some PyMC distributions have no Op class to key on: ``pm.LogitNormal`` is a ``CustomDist``, and
PyMC builds a new ``CustomSymbolicDistRV`` subclass (named after the distribution) for every
variable. ``register_symbolic`` keys such an entry on the class name and a predicate on the
Op's inner graph, so that a user's ``CustomDist`` that happens to share the name (and not the
construction) does not take it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import pytensor.tensor as pt
from pytensor.sparse import SparseTensorType
from pytensor.tensor.variable import TensorVariable

from pymc_fisher.errors import NoClosedFormError

__all__ = [
    "ClosedForm",
    "Entry",
    "Information",
    "Matrix",
    "PullBack",
    "TangentsFn",
    "closed_form",
    "has_closed_form",
    "pullback_for",
    "register",
    "register_pullback",
    "register_symbolic",
    "unsupported",
]

Entry = TensorVariable | float | None
Matrix = list[list[Entry]]


class Information(NamedTuple):
    """Expected information over ``coords``, elementwise over the batch.

    ``matrix[a][b]`` is ``I_ab`` broadcastable to the batch shape; ``None`` means zero. Only
    the upper triangle (``b >= a``) is read.
    """

    coords: tuple[TensorVariable, ...]
    matrix: Matrix


# fn(params, value, coordinate) -> Information; value is None for an observed variable
ClosedForm = Callable[[Sequence[TensorVariable], TensorVariable | None, str | None], Information]

_REGISTRY: dict[type, ClosedForm] = {}

TangentsFn = Callable[[Sequence[TensorVariable]], list[TensorVariable | None]]
# fn(params, value, coordinate, tangents_fn, size, batch_shape) -> (size, size) graph or None
PullBack = Callable[
    [Sequence[TensorVariable], TensorVariable | None, str | None, TangentsFn, int, tuple],
    TensorVariable | None,
]

_PULLBACKS: dict[type, PullBack] = {}

# class name -> (predicate on the Op, entry), for Op classes built per variable
_SYMBOLIC: dict[str, tuple[Callable[[object], bool], ClosedForm]] = {}


def register(*op_types: type) -> Callable[[ClosedForm], ClosedForm]:
    """Register a closed form for random-variable Op classes."""

    def decorator(fn: ClosedForm) -> ClosedForm:
        for op_type in op_types:
            _REGISTRY[op_type] = fn
        return fn

    return decorator


def register_symbolic(
    class_name: str, matches: Callable[[object], bool]
) -> Callable[[ClosedForm], ClosedForm]:
    """Register a closed form for Ops whose class is built per variable (``CustomDist``).

    The entry applies to an Op whose class is named ``class_name`` and for which
    ``matches(op)`` holds (a check of its inner graph).
    """

    def decorator(fn: ClosedForm) -> ClosedForm:
        _SYMBOLIC[class_name] = (matches, fn)
        return fn

    return decorator


def _entry(op: object) -> ClosedForm | None:
    """The elementwise entry for ``op``: by its class, else by name and inner graph."""
    fn = _REGISTRY.get(type(op))
    if fn is not None:
        return fn
    symbolic = _SYMBOLIC.get(type(op).__name__)
    if symbolic is not None and symbolic[0](op):
        return symbolic[1]
    return None


def register_pullback(*op_types: type) -> Callable[[PullBack], PullBack]:
    """Register a whole pull-back for random-variable Op classes that are not elementwise."""

    def decorator(fn: PullBack) -> PullBack:
        for op_type in op_types:
            _PULLBACKS[op_type] = fn
        return fn

    return decorator


def pullback_for(op: object) -> PullBack | None:
    """Return the registered pull-back of ``op``'s distribution, or ``None``.

    The caller passes float64 parameters (see ``closed_form``), the value (``None`` when
    observed), its coordinate, ``tangents_fn``, θ's size and the factor's batch shape.
    """
    fn = _PULLBACKS.get(type(op))
    if fn is None:
        return None

    def cast_and_call(params, value, coordinate, tangents_fn, size, batch_shape):
        params = [_float64(p) for p in params]
        value = None if value is None else _float64(value)
        return fn(params, value, coordinate, tangents_fn, size, batch_shape)

    return cast_and_call


def has_closed_form(op: object) -> bool:
    """Whether either registry (elementwise or pull-back) has an entry for ``op``."""
    return _entry(op) is not None or type(op) in _PULLBACKS


def closed_form(
    op: object,
    params: Sequence[TensorVariable],
    value: TensorVariable | None,
    coordinate: str | None,
) -> Information:
    """Return the closed-form information of ``op``'s distribution at ``params``.

    Raises
    ------
    NoClosedFormError
        If the registry has no entry for the Op, or the entry does not cover ``coordinate``.
    """
    fn = _entry(op)
    if fn is None:
        hint = " as an Information (use pullback_for)" if type(op) in _PULLBACKS else ""
        raise NoClosedFormError(f"no closed-form Fisher information for {type(op).__name__}{hint}")
    params = [_float64(p) for p in params]
    if value is not None and value.type.dtype != "float64":
        value = pt.cast(value, "float64")
    return fn(params, value, coordinate)


def _float64(p: TensorVariable) -> TensorVariable:
    """``p`` as float64.

    Non-tensor inputs (a ``None`` size) and sparse ones (CAR's ``W``, which ``pt.cast`` cannot
    take) pass through untouched.
    """
    dtype = getattr(p.type, "dtype", None)
    if dtype is None or dtype == "float64" or isinstance(p.type, SparseTensorType):
        return p
    return pt.cast(p, "float64")


def unsupported(op_name: str, coordinate: str | None) -> NoClosedFormError:
    """Build the error an entry raises for a value coordinate it does not cover."""
    return NoClosedFormError(
        f"no closed-form information for a free {op_name} variable held in the "
        f"{coordinate!r} coordinate"
    )
