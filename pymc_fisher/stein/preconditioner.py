"""The metric ``Γ`` that preconditions the Stein discrepancy, chosen by name or given.

- ``"information"`` (default): the observed information ``−∇² log p̃(θ̂)`` of the
  Jacobian-adjusted unconstrained posterior at its mode ``θ̂`` (the Laplace fit's precision),
  found by Newton's method from the draw with the highest log-density. It is the default of
  Stein Π-importance sampling (Wang et al. 2023) and of ``goodpoints``' autotuning. Where no
  mode exists (Neal's funnel) or the curvature there is not positive definite, ``"scores"``
  is used instead, with a :class:`PreconditionerFallbackWarning` saying why.
- ``"scores"``: ``(1/n) Σ sᵢ sᵢᵀ``, the posterior-averaged information by the Fisher identity.
- ``"covariance"``: the inverse sample covariance of the unconstrained draws.
- ``"identity"``: no preconditioning (the raw Euclidean IMQ discrepancy; not affine invariant).
- a matrix: ``(d, d)`` NumPy array in θ's order, or a labelled ``xarray.DataArray`` with dims
  ``("rows", "columns")`` as ``pmf.fisher_information`` and ``fit_laplace``'s
  ``precision_matrix`` return. To compare samplers, fix one matrix for all of them: a metric
  estimated from each sampler's own draws would move with the sampler's errors.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
import xarray as xr

from pymc_fisher.errors import NonFiniteLogDensityError
from pymc_fisher.laplace.graphs import laplace_functions
from pymc_fisher.laplace.mode import ModeNotFoundError, find_mode
from pymc_fisher.linalg import is_positive_definite
from pymc_fisher.stein.whitening import covariance_information, score_information

__all__ = [
    "Preconditioner",
    "PreconditionerFallbackWarning",
    "PreconditionerName",
    "ResolvedMetric",
    "resolve_metric",
]

PreconditionerName = Literal["information", "scores", "covariance", "identity"]
type Preconditioner = PreconditionerName | np.ndarray | xr.DataArray


class PreconditionerFallbackWarning(UserWarning):
    """The information at the mode could not precondition the discrepancy; scores did."""


class ResolvedMetric(NamedTuple):
    """The metric ``Γ`` (a precision, ``(d, d)``) and a sentence saying where it came from."""

    matrix: np.ndarray
    source: str


def _given_matrix(value: np.ndarray | xr.DataArray, labels: Sequence[str]) -> np.ndarray:
    d = len(labels)
    if isinstance(value, xr.DataArray):
        if set(value.dims) != {"rows", "columns"}:
            raise ValueError(
                f"preconditioner has dims {value.dims}; a labelled matrix has dims "
                f"('rows', 'columns'), as pmf.fisher_information returns."
            )
        rows = [str(r) for r in value["rows"].values]
        missing = [label for label in labels if label not in rows]
        if missing or len(rows) != d:
            raise ValueError(
                f"preconditioner's rows {rows} are not the unconstrained parameters "
                f"{list(labels)} (missing: {missing}). Use a matrix of the unconstrained space "
                f"(space='unconstrained')."
            )
        value = value.sel(rows=list(labels), columns=list(labels)).transpose("rows", "columns")
    matrix = np.asarray(value, dtype=float)
    if matrix.shape != (d, d):
        raise ValueError(
            f"preconditioner has shape {matrix.shape}; it must be ({d}, {d}), one row per "
            f"unconstrained parameter {list(labels)}."
        )
    return 0.5 * (matrix + matrix.T)


def _information_at_mode(
    theta: np.ndarray, logp: np.ndarray, model: Any
) -> tuple[np.ndarray | None, str]:
    """``−∇² log p̃`` at the mode, or ``None`` and the reason it is not usable."""
    fns = laplace_functions(model, jacobian=True, curvature="observed")
    start = theta[int(np.argmax(logp))]
    try:
        mode = find_mode(fns.logp_grad, fns.curvature, start, labels=fns.mg.layout.labels)
    except (ModeNotFoundError, NonFiniteLogDensityError) as err:
        return None, f"no mode was found ({err})"
    matrix = fns.curvature(mode.theta)
    if not is_positive_definite(matrix):
        return None, "the negative Hessian at the mode is not positive definite"
    return matrix, "observed information of the Jacobian-adjusted posterior at its mode"


def resolve_metric(
    preconditioner: Preconditioner,
    theta: np.ndarray,
    scores: np.ndarray,
    logp: np.ndarray,
    labels: Sequence[str],
    model: Any,
) -> ResolvedMetric:
    """Turn the ``preconditioner`` option into a positive-definite matrix ``Γ``.

    Raises
    ------
    ValueError
        An unknown name, or a matrix of the wrong shape or labels.
    NotPositiveDefiniteError
        A given matrix, or the draws' ``"scores"``/``"covariance"`` matrix, that is not
        positive definite (too few distinct draws for ``d``), when it is factored.
    """
    d = len(labels)
    if not isinstance(preconditioner, str):
        return ResolvedMetric(_given_matrix(preconditioner, labels), "given matrix")
    if preconditioner == "identity":
        return ResolvedMetric(np.eye(d), "identity")
    if preconditioner == "covariance":
        return ResolvedMetric(covariance_information(theta), "inverse sample covariance")
    if preconditioner == "information":
        matrix, why = _information_at_mode(theta, logp, model)
        if matrix is not None:
            return ResolvedMetric(matrix, why)
        warnings.warn(
            f"preconditioner='information': {why}; the discrepancy is preconditioned by the "
            f"draws' mean score outer product instead (preconditioner='scores'). Pass a fixed "
            f"matrix to compare runs.",
            PreconditionerFallbackWarning,
            stacklevel=3,
        )
        return ResolvedMetric(score_information(scores), f"mean score outer product ({why})")
    if preconditioner == "scores":
        return ResolvedMetric(score_information(scores), "mean score outer product")
    raise ValueError(
        f"preconditioner={preconditioner!r} is not one of 'information', 'scores', "
        f"'covariance', 'identity', or a (d, d) matrix."
    )
