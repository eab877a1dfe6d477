"""DataTree groups of a Laplace fit: posterior, unconstrained_posterior, fit, diagnostics, data."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pymc as pm
import xarray as xr
from pymc.backends.arviz import (
    coords_and_dims_for_inferencedata,
    dict_to_dataset,
    dict_to_dataset_drop_incompatible_coords,
    find_constants,
    find_observations,
)

from pymc_fisher.labels import ParameterLayout

__all__ = ["data_groups", "matrix", "posterior_group", "unconstrained_group"]


def matrix(values: np.ndarray, labels: Sequence[str], name: str) -> xr.DataArray:
    """Label a square matrix with dims ``("rows", "columns")`` labelled by θ's entries."""
    labels = list(labels)
    return xr.DataArray(
        np.asarray(values),
        dims=("rows", "columns"),
        coords={"rows": labels, "columns": labels},
        name=name,
    )


def posterior_group(
    model: pm.Model,
    names: Sequence[str],
    values: Sequence[np.ndarray],
    chains: int,
    draws: int,
    attrs: dict,
) -> xr.Dataset:
    """Constrained draws of every free variable and Deterministic, dims ``(chain, draw, ...)``."""
    coords, dims = coords_and_dims_for_inferencedata(model)
    total = chains * draws
    data = {}
    for name, value in zip(names, values, strict=True):
        value = np.asarray(value)
        if value.shape[:1] != (total,):  # a graph constant in θ was not batched
            value = np.broadcast_to(value, (total, *value.shape)).copy()
        data[name] = value.reshape(chains, draws, *value.shape[1:])
    return dict_to_dataset_drop_incompatible_coords(
        data, inference_library=pm, coords=coords, dims=dims, attrs=attrs
    )


def unconstrained_group(
    model: pm.Model, layout: ParameterLayout, theta: np.ndarray, chains: int, draws: int
) -> xr.Dataset:
    """Draws of the value variables (``sigma_log__``), with the constrained dims where they fit."""
    coords, dims = coords_and_dims_for_inferencedata(model)
    rv_name = {model.rvs_to_values[rv].name: rv.name for rv in model.free_RVs}
    data, value_dims = {}, {}
    for name, s, shape in zip(layout.names, layout.slices, layout.shapes, strict=True):
        data[name] = theta[:, s].reshape(chains, draws, *shape)
        parent = dims.get(rv_name.get(name, name))
        if parent is not None and len(parent) == len(shape):
            value_dims[name] = [
                d if d in coords and len(coords[d]) == n else f"{name}_dim_{i}"
                for i, (d, n) in enumerate(zip(parent, shape, strict=True))
            ]
    return dict_to_dataset_drop_incompatible_coords(
        data, inference_library=pm, coords=coords, dims=value_dims
    )


def data_groups(model: pm.Model) -> dict[str, xr.Dataset]:
    """``observed_data`` and ``constant_data`` (``pm.Data``), when the model has any."""
    coords, dims = coords_and_dims_for_inferencedata(model)
    groups = {}
    observations = find_observations(model)
    if observations:
        groups["observed_data"] = dict_to_dataset(
            observations, inference_library=pm, coords=coords, dims=dims, sample_dims=[]
        )
    constants = find_constants(model)
    if constants:
        groups["constant_data"] = dict_to_dataset(
            constants, inference_library=pm, coords=coords, dims=dims, sample_dims=[]
        )
    return groups
