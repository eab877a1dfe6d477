"""Optimal-design criteria of an information matrix, as numbers and as PyTensor graphs.

===============  =============================  =========
criterion        value                          goal
===============  =============================  =========
``D``            ``log det I``                  maximise
``A``            ``tr I⁻¹``                     minimise
``E``            ``λ_min(I)``                   maximise
``modified_E``   ``λ_max(I) / λ_min(I)``        minimise
===============  =============================  =========

``criterion_loss`` returns each as a loss to *minimise* (``−log det``, ``tr I⁻¹``, ``−λ_min``,
``λ_max/λ_min``) as a differentiable graph of the matrix; ``design_criteria`` evaluates all four
with NumPy on a labelled matrix (or a stack of them). This module imports neither PyMC nor ArviZ.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytensor.tensor as pt
import xarray as xr
from pytensor.tensor.variable import TensorVariable

__all__ = ["CRITERIA", "Criterion", "criterion_loss", "design_criteria"]

Criterion = Literal["D", "A", "E", "modified_E"]
CRITERIA: tuple[Criterion, ...] = ("D", "A", "E", "modified_E")
GOALS: dict[str, str] = {
    "D": "maximize",
    "A": "minimize",
    "E": "maximize",
    "modified_E": "minimize",
}
DESCRIPTIONS: dict[str, str] = {
    "D": "log determinant of the information",
    "A": "trace of the inverse information (sum of Cramér-Rao variance bounds)",
    "E": "smallest eigenvalue of the information",
    "modified_E": "condition number: largest over smallest eigenvalue",
}


def design_criteria(information: xr.DataArray | np.ndarray) -> xr.Dataset:
    r"""Compute the D, A, E and modified-E criteria of an information matrix.

    Parameters
    ----------
    information
        A symmetric information matrix: a DataArray with dims ``("rows", "columns")`` last (any
        leading dims, e.g. posterior draws, are kept), or an array ``(..., k, k)``.

    Returns
    -------
    xarray.Dataset
        Variables ``D`` (``log det I``), ``A`` (``tr I⁻¹``), ``E`` (``λ_min``) and
        ``modified_E`` (``λ_max/λ_min``) over the leading dims; each variable's ``goal`` attr
        says whether larger or smaller is better. A matrix that is not positive definite gets
        ``D = −inf``, ``A = inf``, ``modified_E = inf`` and its (non-positive) ``E``.

    Notes
    -----
    All four come from the eigenvalues ``λᵢ`` of ``I``: ``D = Σ log λᵢ``, ``A = Σ 1/λᵢ``,
    ``E = min λᵢ``, ``modified_E = max λᵢ / min λᵢ`` (Atkinson, Donev & Tobias 2007, ch. 10).

    References
    ----------
    Atkinson, A. C., Donev, A. N. & Tobias, R. D. (2007). *Optimum Experimental Designs, with
    SAS*. Oxford University Press.

    Examples
    --------
    >>> import numpy as np
    >>> from pymc_fisher.geometry import design_criteria
    >>> crit = design_criteria(np.diag([4.0, 1.0]))
    >>> [round(float(crit[name]), 4) for name in ("D", "A", "E", "modified_E")]
    [1.3863, 1.25, 1.0, 4.0]
    """
    if isinstance(information, xr.DataArray):
        if information.dims[-2:] != ("rows", "columns"):
            information = information.transpose(..., "rows", "columns")
        lead_dims = information.dims[:-2]
        coords = {d: information.coords[d] for d in lead_dims if d in information.coords}
        matrix = np.asarray(information.values, dtype=float)
    else:
        matrix = np.asarray(information, dtype=float)
        if matrix.ndim < 2 or matrix.shape[-1] != matrix.shape[-2]:
            raise ValueError(f"Expected a square matrix (..., k, k), got shape {matrix.shape}.")
        lead_dims = tuple(f"dim_{i}" for i in range(matrix.ndim - 2))
        coords = {}
    values = _criteria_values(matrix)
    data_vars = {
        name: xr.Variable(lead_dims, values[name], {"goal": GOALS[name], "description": desc})
        for name, desc in DESCRIPTIONS.items()
    }
    return xr.Dataset(data_vars, coords=coords)


def _criteria_values(matrix: np.ndarray) -> dict[str, np.ndarray]:
    sym = 0.5 * (matrix + np.swapaxes(matrix, -1, -2))
    finite = np.all(np.isfinite(sym), axis=(-1, -2))
    eig = np.linalg.eigvalsh(np.where(finite[..., None, None], sym, 0.0))
    eig = np.where(finite[..., None], eig, np.nan)
    low, high = eig[..., 0], eig[..., -1]
    positive = low > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(positive, np.sum(np.log(np.where(positive[..., None], eig, 1.0)), -1), -np.inf)
        a = np.where(positive, np.sum(1.0 / np.where(positive[..., None], eig, 1.0), -1), np.inf)
        cond = np.where(positive, high / np.where(positive, low, 1.0), np.inf)
    nan = ~finite
    return {
        "D": np.where(nan, np.nan, d),
        "A": np.where(nan, np.nan, a),
        "E": low,
        "modified_E": np.where(nan, np.nan, cond),
    }


def criterion_loss(information: TensorVariable, criterion: Criterion) -> TensorVariable:
    """Build the criterion as a loss to minimise, a differentiable graph of the matrix.

    ``D``: ``−log det I`` (by Cholesky); ``A``: ``tr I⁻¹`` (by Cholesky solves); ``E``:
    ``−λ_min``; ``modified_E``: ``λ_max/λ_min``. A matrix that is not positive definite gives
    NaN for ``D`` and ``A``.

    Raises
    ------
    ValueError
        If ``criterion`` is not one of ``CRITERIA``.
    """
    information = pt.as_tensor(information)
    if criterion in ("D", "A"):
        chol = pt.linalg.cholesky(information, lower=True, check_finite=False, on_error="nan")
        if criterion == "D":
            return -2.0 * pt.sum(pt.log(pt.diagonal(chol)))
        inv_chol = pt.linalg.solve_triangular(
            chol, pt.eye(information.shape[0], dtype="float64"), lower=True
        )
        return pt.sum(inv_chol**2)  # tr I⁻¹ = ‖L⁻¹‖²_F
    if criterion in ("E", "modified_E"):
        eig = pt.as_tensor(pt.linalg.eigvalsh(information, None))
        return -eig[0] if criterion == "E" else eig[-1] / eig[0]
    raise ValueError(f"Unknown criterion {criterion!r}; choose among {CRITERIA}.")
