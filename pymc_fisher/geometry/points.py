"""Points in either space: conversion between constrained and unconstrained values, and θ.

A user gives a point keyed by the model's variable names (``{"mu": 0.0, "sigma": 2.0}``,
constrained values) or by its value-variable names (``{"mu": 0.0, "sigma_log__": 0.69}``, as
``model.initial_point()`` does). The geometry functions work on one raveled θ in one space; the
helpers here convert, compiling each conversion once per model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pymc as pm
import xarray as xr
from pytensor.graph.replace import graph_replace

from pymc_fisher.compile import cached, compile_function
from pymc_fisher.errors import MissingPointValueError
from pymc_fisher.labels import ParameterLayout

__all__ = [
    "constrained_point",
    "dataset_thetas",
    "posterior_points",
    "theta_of",
    "unconstrained_point",
]

Point = Mapping[str, object]


def _value_names(model: pm.Model) -> list[str]:
    return [model.rvs_to_values[rv].name for rv in model.free_RVs]


def _rv_names(model: pm.Model) -> list[str]:
    return [rv.name for rv in model.free_RVs]


def _kind(model: pm.Model, point: Point) -> str:
    rv_names, value_names = _rv_names(model), _value_names(model)
    if all(n in point for n in rv_names):
        return "constrained"
    if all(n in point for n in value_names):
        return "unconstrained"
    missing = [
        r for r, v in zip(rv_names, value_names, strict=True) if r not in point and v not in point
    ]
    raise MissingPointValueError(
        f"The point gives no value for {missing}; give every free variable, keyed either by "
        f"variable name ({rv_names}) or by value-variable name ({value_names})."
    )


def _to_constrained_fn(model: pm.Model):
    def build():
        values = [model.rvs_to_values[rv] for rv in model.free_RVs]
        outputs = model.replace_rvs_by_values(list(model.free_RVs))
        return compile_function(values, outputs, name="to_constrained")

    return cached(model, "geometry.to_constrained", build)


def _to_unconstrained_fn(model: pm.Model):
    def build():
        rvs = list(model.free_RVs)
        placeholders = [rv.type(name=rv.name) for rv in rvs]
        replace = dict(zip(rvs, placeholders, strict=True))
        outputs = []
        for rv, c in zip(rvs, placeholders, strict=True):
            transform = model.rvs_to_transforms.get(rv)
            if transform is None:
                outputs.append(c)
                continue
            inputs = graph_replace(list(rv.owner.inputs), replace, strict=False)
            outputs.append(transform.forward(c, *inputs))
        return compile_function(placeholders, outputs, name="to_unconstrained")

    return cached(model, "geometry.to_unconstrained", build)


def _as_arrays(model: pm.Model, point: Point, names: list[str]) -> list[np.ndarray]:
    rvs = list(model.free_RVs)
    return [np.asarray(point[n], dtype=rv.type.dtype) for n, rv in zip(names, rvs, strict=True)]


def constrained_point(model: pm.Model, point: Point) -> dict[str, np.ndarray]:
    """Return the point's values keyed by variable name, untransformed (``sigma``)."""
    names = _rv_names(model)
    if _kind(model, point) == "constrained":
        return {n: np.asarray(point[n], dtype=float) for n in names}
    out = _to_constrained_fn(model)(*_as_arrays(model, point, _value_names(model)))
    return {n: np.asarray(v, dtype=float) for n, v in zip(names, out, strict=True)}


def unconstrained_point(model: pm.Model, point: Point) -> dict[str, np.ndarray]:
    """Return the point's values keyed by value-variable name, transformed (``sigma_log__``)."""
    names = _value_names(model)
    if _kind(model, point) == "unconstrained":
        return {n: np.asarray(point[n], dtype=float) for n in names}
    out = _to_unconstrained_fn(model)(*_as_arrays(model, point, _rv_names(model)))
    return {n: np.asarray(v, dtype=float) for n, v in zip(names, out, strict=True)}


def theta_of(model: pm.Model, layout: ParameterLayout, point: Point, space: str) -> np.ndarray:
    """θ of ``point`` in ``space`` (the layout's raveling)."""
    convert = constrained_point if space == "constrained" else unconstrained_point
    return layout.ravel(convert(model, point))


def posterior_points(idata: Any, model: pm.Model, *, group: str = "posterior") -> xr.Dataset:
    """Return the free variables' draws from a DataTree group, stacked to ``sample``.

    Raises
    ------
    MissingPointValueError
        If the group lacks a free variable.
    """
    try:
        ds = idata[group]
    except (KeyError, AttributeError):
        ds = getattr(idata, group)
    ds = ds.to_dataset() if hasattr(ds, "to_dataset") else ds
    names = _rv_names(model)
    missing = [n for n in names if n not in ds.data_vars]
    if missing:
        raise MissingPointValueError(f"The {group!r} group has no draws of {missing}.")
    ds = ds[names]
    sample_dims = [d for d in ("chain", "draw") if d in ds.dims]
    if sample_dims:
        ds = ds.stack(sample=sample_dims)
        ds = ds.transpose("sample", ...)
    return ds


def dataset_thetas(ds: xr.Dataset, layout: ParameterLayout) -> np.ndarray:
    """``(sample, size)`` array of constrained θ from ``posterior_points`` output."""
    n = ds.sizes["sample"]
    cols = [np.asarray(ds[name].values, dtype=float).reshape(n, -1) for name in layout.names]
    return np.concatenate(cols, axis=1) if cols else np.zeros((n, 0))
