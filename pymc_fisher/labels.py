"""The raveled parameter vector θ: which variable sits where, and the label of each entry.

Every matrix in pymc_fisher is indexed by one vector θ, the model's value variables raveled in
the order PyMC samples them (``model.value_vars``). Labels are built from the variable name and
its dims/coords: ``beta[Intercept]``, ``b[0]``, ``L[0, 1]``, ``sigma_log__``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pymc as pm

__all__ = ["ParameterLayout", "entry_labels", "parameter_layout"]


class ParameterLayout(NamedTuple):
    """Where each variable lives in the raveled θ.

    Attributes
    ----------
    names
        Value-variable names, in raveling order.
    shapes
        The shape of each variable.
    slices
        The slice of θ holding each variable.
    labels
        One label per entry of θ.
    """

    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    slices: tuple[slice, ...]
    labels: tuple[str, ...]

    @property
    def size(self) -> int:
        """Length of θ."""
        return self.slices[-1].stop if self.slices else 0

    def ravel(self, point: dict[str, np.ndarray]) -> np.ndarray:
        """Concatenate the values of ``point`` (keyed by ``names``) into θ."""
        if not self.names:
            return np.zeros(0)
        return np.concatenate([np.asarray(point[n], dtype=float).reshape(-1) for n in self.names])

    def unravel(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """Split θ back into a dict of arrays keyed by ``names``."""
        theta = np.asarray(theta)
        return {
            n: theta[s].reshape(shape)
            for n, s, shape in zip(self.names, self.slices, self.shapes, strict=True)
        }


def entry_labels(
    name: str, shape: tuple[int, ...], dims: Sequence[str | None] | None, coords: dict
) -> list[str]:
    """Labels of the entries of one variable, in C order.

    A scalar is labelled by its name. Along an axis with a dim that has coords the coordinate
    value is used; otherwise the integer position.
    """
    if shape == ():
        return [name]
    axes: list[list[str]] = []
    for axis, length in enumerate(shape):
        dim = dims[axis] if dims is not None and axis < len(dims) else None
        values = coords.get(dim) if dim is not None else None
        if values is not None and len(values) == length:
            axes.append([str(v) for v in values])
        else:
            axes.append([str(i) for i in range(length)])
    return [f"{name}[{', '.join(idx)}]" for idx in itertools.product(*axes)]


def parameter_layout(
    model: pm.Model,
    shapes: dict[str, tuple[int, ...]],
    *,
    label_names: dict[str, str] | None = None,
    order: Sequence[str] | None = None,
) -> ParameterLayout:
    """The layout of θ for ``model``'s value variables.

    Parameters
    ----------
    model
        The model whose ``value_vars`` are raveled.
    shapes
        The shape of each value variable, by name (from a point).
    label_names
        Optional renaming of variables in the labels (value name -> label name).
    order
        Random-variable names in the order to ravel them (default: ``model.value_vars``).

    Returns
    -------
    ParameterLayout
    """
    label_names = label_names or {}
    rv_of_value = {v: rv for rv, v in model.rvs_to_values.items()}
    names, shapes_out, slices, labels = [], [], [], []
    start = 0
    values = list(model.value_vars)
    if order is not None:
        rank = {name: i for i, name in enumerate(order)}
        values.sort(key=lambda v: rank[rv_of_value[v].name])
    for value in values:
        name = value.name
        shape = tuple(int(s) for s in shapes[name])
        size = int(np.prod(shape, dtype=int))
        rv = rv_of_value[value]
        dims = model.named_vars_to_dims.get(rv.name)
        labels.extend(entry_labels(label_names.get(name, name), shape, dims, model.coords))
        names.append(name)
        shapes_out.append(shape)
        slices.append(slice(start, start + size))
        start += size
    return ParameterLayout(tuple(names), tuple(shapes_out), tuple(slices), tuple(labels))
