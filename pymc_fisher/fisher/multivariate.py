"""Closed-form information of distributions that are not elementwise (MvNormal, Categorical)."""

from __future__ import annotations

import pytensor.tensor as pt
from pytensor.tensor.random import basic as prb
from pytensor.tensor.variable import TensorVariable

from pymc_fisher.fisher.registry import register_pullback, unsupported

__all__: list[str] = []


def _batch_count(batch_shape: tuple, shape_of: TensorVariable, core_ndim: int) -> TensorVariable:
    """How many batch elements share each element of a graph (its broadcast multiplicity)."""
    full = (
        pt.prod(pt.stack([pt.as_tensor(s, dtype="int64") for s in batch_shape]))
        if batch_shape
        else 1
    )
    own = shape_of.shape[: shape_of.type.ndim - core_ndim]
    return pt.cast(full, "float64") / pt.cast(pt.prod(own), "float64")


@register_pullback(prb.MvNormalRV)
def _mv_normal(params, value, coordinate, tangents_fn, size, batch_shape):
    """Mean block ``Σ⁻¹`` (of ``z − μ``), covariance block ``½ tr(Σ⁻¹ dΣ_a Σ⁻¹ dΣ_b)``."""
    mu, cov = params
    if value is not None and coordinate != "identity":
        raise unsupported("MvNormal", coordinate)
    jacs = tangents_fn([mu, cov] if value is None else [mu, cov, value])
    j_mu, j_cov = jacs[0], jacs[1]
    j_z = jacs[2] if value is not None else None
    # I_zz = Σ⁻¹, I_zμ = −Σ⁻¹: the mean block only sees z − μ
    d = j_mu if j_z is None else (j_z if j_mu is None else j_z - j_mu)
    chol = pt.linalg.cholesky(cov)
    total = None
    if d is not None:
        # whitened tangents L⁻¹ d, batch first: (*batch, k, size)
        w = pt.linalg.solve_triangular(chol, pt.moveaxis(d, 0, -1), lower=True)
        flat = w.reshape((-1, size))
        total = _batch_count(batch_shape, w, 2) * (flat.T @ flat)
    if j_cov is not None:
        dcov = (j_cov + pt.swapaxes(j_cov, -1, -2)) / 2
        half = pt.linalg.solve_triangular(chol[None], dcov, lower=True)  # L⁻¹ dΣ
        white = pt.linalg.solve_triangular(chol[None], pt.swapaxes(half, -1, -2), lower=True)
        flat = white.reshape((size, -1))  # L⁻¹ dΣ L⁻ᵀ, symmetric: tr(W_a W_b) = ⟨W_a, W_b⟩
        term = _batch_count(batch_shape, cov, 2) * (flat @ flat.T) / 2
        total = term if total is None else total + term
    return total


@register_pullback(prb.CategoricalRV)
def _categorical(params, value, coordinate, tangents_fn, size, batch_shape):
    """``Σ_k ∂p_k ∂p_kᵀ / p_k`` per observation (OrderedLogistic/Probit are Categoricals)."""
    (p,) = params
    (j_p,) = tangents_fn([p])
    if j_p is None:
        return None
    white = j_p / pt.sqrt(p)[None]  # (size, *batch, K)
    flat = white.reshape((size, -1))
    return _batch_count(batch_shape, p, 1) * (flat @ flat.T)
