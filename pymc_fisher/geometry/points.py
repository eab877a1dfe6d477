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

from pymc_fisher.errors import MissingPointValueError
from pymc_fisher.fisher.points import resolve_point
from pymc_fisher.labels import ParameterLayout

__all__ = [
    "constrained_point",
    "dataset_thetas",
    "posterior_points",
    "theta_of",
    "unconstrained_point",
]

Point = Mapping[str, object]


def _rv_names(model: pm.Model) -> list[str]:
    return [rv.name for rv in model.free_RVs]


def constrained_point(model: pm.Model, point: Point) -> dict[str, np.ndarray]:
    """Return the point's values keyed by variable name, untransformed (``sigma``)."""
    return resolve_point(model, point)[1]


def unconstrained_point(model: pm.Model, point: Point) -> dict[str, np.ndarray]:
    """Return the point's values keyed by value-variable name, transformed (``sigma_log__``)."""
    return resolve_point(model, point)[0]


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
