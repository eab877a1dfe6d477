"""Points: a user's dict of values, in either naming, to θ in the requested space.

A point may name a variable by its value-variable name (``sigma_log__``, unconstrained) or by
its own name (``sigma``, constrained), and may mix the two. Names of other model variables
(Deterministics, observed data) are ignored, so a draw from a trace can be passed as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pytensor.compile import Function
from pytensor.tensor.variable import TensorVariable

from pymc_fisher.compile import cached, compile_function
from pymc_fisher.errors import MissingPointValueError, NonFinitePointError

__all__ = ["forward_graphs", "resolve_point"]


def forward_graphs(model: pm.Model) -> tuple[list[TensorVariable], list[TensorVariable]]:
    """Graphs of the constrained → unconstrained map, one per free variable (in ``free_RVs`` order).

    Returns the inputs (a placeholder per free variable, named as it, holding its constrained
    value) and the outputs (its value variable's value: the transform's ``forward``, or the
    value itself for an untransformed variable).
    """
    free = list(model.free_RVs)
    placeholders = {rv: rv.type(name=rv.name) for rv in free}
    forwards = []
    for rv in free:
        transform = model.rvs_to_transforms.get(rv)
        x = placeholders[rv]
        if transform is not None:
            inputs = pm.pytensorf.clone_replace(list(rv.owner.inputs), placeholders)
            x = transform.forward(x, *inputs)
        forwards.append(pt.as_tensor(x))
    return list(placeholders.values()), forwards


def _transform_functions(model: pm.Model):
    """Compiled unconstrained → constrained and constrained → unconstrained maps (all variables)."""
    free = list(model.free_RVs)
    values = [model.rvs_to_values[rv] for rv in free]
    backward = compile_function(values, model.replace_rvs_by_values(free), name="to_constrained")
    forward = compile_function(*forward_graphs(model), name="to_unconstrained")
    return _casting_inputs(backward), _casting_inputs(forward)


def _casting_inputs(fn: Function) -> Callable[..., list[np.ndarray]]:
    """``fn`` taking float64 arrays for inputs of any float dtype (a float32 model's values).

    PyTensor refuses to downcast an input; a point is float64 (``ParameterLayout.ravel``),
    whatever ``floatX`` the model was built with.
    """
    dtypes = [i.variable.type.dtype for i in fn.maker.inputs]

    def call(*args: object) -> list[np.ndarray]:
        return fn(*[np.asarray(a, dtype=d) for a, d in zip(args, dtypes, strict=True)])

    return call


def resolve_point(
    model: pm.Model, point: Mapping[str, object] | None
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Complete a point in both spaces.

    Returns
    -------
    unconstrained, constrained
        Dicts keyed by value-variable name and by variable name.

    Raises
    ------
    MissingPointValueError
        If a free variable has no value under either name.
    """
    free = list(model.free_RVs)
    value_names = [model.rvs_to_values[rv].name for rv in free]
    names = [rv.name for rv in free]
    if point is None:
        point = model.initial_point()
    known = set(model.named_vars) | set(value_names)
    unknown = sorted(set(point) - known)
    if unknown:
        raise MissingPointValueError(
            f"The point names {unknown}, which are not variables of the model. Free variables: "
            f"{names} (or, unconstrained: {value_names})."
        )
    missing = [
        n for n, v in zip(names, value_names, strict=True) if v not in point and n not in point
    ]
    if missing:
        raise MissingPointValueError(
            f"The point has no value for {missing}. Give each free variable, by its name "
            f"({', '.join(missing)}) or its value-variable name, or pass point=None for the "
            f"model's initial point."
        )
    as_array = {k: np.asarray(v, dtype=float) for k, v in point.items()}
    _check_finite_values(as_array, set(names) | set(value_names))
    pairs = list(zip(names, value_names, strict=True))
    # what the point fixes in each space (an untransformed variable is the same in both)
    fixed_unc = {v: as_array[v] for n, v in pairs if v in as_array}
    fixed_con = {
        n: as_array[n] for n, v in pairs if n in as_array and (n == v or v not in as_array)
    }
    if len(fixed_unc) == len(pairs) and all(n == v for n, v in pairs):
        return fixed_unc, dict(fixed_unc)
    backward, forward = cached(model, "transform_functions", lambda: _transform_functions(model))

    # Fixed point over the DAG: a variable given constrained needs its parents' constrained
    # values to move to the unconstrained space, and conversely; each pass settles one level.
    init = model.initial_point()
    constrained = dict(zip(names, backward(*[init[v] for v in value_names]), strict=True))
    constrained.update(fixed_con)
    for _ in range(len(pairs) + 1):
        from_constrained = forward(*[constrained[n] for n in names])
        unconstrained = {
            v: fixed_unc.get(v, np.asarray(u))
            for (_, v), u in zip(pairs, from_constrained, strict=True)
        }
        new = dict(zip(names, backward(*[unconstrained[v] for v in value_names]), strict=True))
        new.update(fixed_con)
        if all(np.array_equal(new[n], constrained[n]) for n in names):
            break
        constrained = new
    shapes = {v: np.shape(init[v]) for v in value_names}
    unconstrained = {
        v: np.asarray(u, dtype=float).reshape(shapes[v]) for v, u in unconstrained.items()
    }
    _check_in_support(unconstrained, fixed_con, pairs)
    constrained = {n: np.asarray(c, dtype=float) for n, c in constrained.items()}
    return unconstrained, constrained


def _check_finite_values(values: Mapping[str, np.ndarray], free: set[str]) -> None:
    """Raise ``NonFinitePointError`` naming each free variable given a NaN or infinite value."""
    bad = {name: value for name, value in values.items() if name in free}
    bad = {name: value for name, value in bad.items() if not np.all(np.isfinite(value))}
    if bad:
        what = ", ".join(f"{name!r} ({_first_non_finite(v)})" for name, v in bad.items())
        raise NonFinitePointError(
            f"The point's value of {what} is not finite. Give every free variable a finite "
            f"value (or leave it out of the point for the model's initial value)."
        )


def _check_in_support(
    unconstrained: Mapping[str, np.ndarray],
    given_constrained: Mapping[str, np.ndarray],
    pairs: list[tuple[str, str]],
) -> None:
    """Raise ``NonFinitePointError`` for a constrained value its transform cannot map.

    A finite value outside a variable's support (``sigma = -1``) has no unconstrained
    coordinate: the transform gives NaN or an infinity (``log(-1)``, ``log(0)``).
    """
    outside = [
        name
        for name, value_name in pairs
        if name in given_constrained and not np.all(np.isfinite(unconstrained[value_name]))
    ]
    if outside:
        raise NonFinitePointError(
            f"The point's value of {outside} is outside the variable's support (its transform "
            f"to the unconstrained space is not finite there). Give a value inside the support."
        )


def _first_non_finite(value: np.ndarray) -> str:
    flat = np.ravel(value)
    index = int(np.flatnonzero(~np.isfinite(flat))[0])
    entry = tuple(int(i) for i in np.unravel_index(index, np.shape(value)))
    where = "" if np.ndim(value) == 0 else f" at {entry}"
    return f"{flat[index]}{where}"
