"""Closed-form information of distributions that are not elementwise.

MvNormal, MvStudentT, Categorical (so OrderedLogistic and OrderedProbit), Dirichlet and
ZeroSumNormal; the Gaussian Markov random fields CAR and ICAR are in ``spatial.py``.
"""

from __future__ import annotations

import pytensor.tensor as pt
from pymc.distributions.multivariate import MvStudentTRV, ZeroSumNormalRV
from pytensor.tensor.random import basic as prb
from pytensor.tensor.variable import TensorVariable

from pymc_fisher.fisher.expected import batch_gram
from pymc_fisher.fisher.registry import register_pullback, unsupported
from pymc_fisher.fisher.special import mv_student_t_nu_information, trigamma

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


@register_pullback(MvStudentTRV)
def _mv_student_t(params, value, coordinate, tangents_fn, size, batch_shape):
    """MvStudentT(ν, μ, Σ), Σ PyMC's scale matrix (``chol`` gives ``L Lᵀ``, ``tau`` its inverse).

    Lange, Little & Taylor (1989), JASA 84:881, appendix B, with ``c = (ν + p)/(ν + p + 2)``
    and ``W_a = L⁻¹ ∂_aΣ L⁻ᵀ``:
    ``I_μμ = c Σ⁻¹`` (the value enters as ``z − μ``),
    ``I_ab = ½ c tr(W_a W_b) − tr W_a tr W_b / (2(ν + p + 2))``,
    ``I_νa = −tr W_a / ((ν + p)(ν + p + 2))``, ``I_νν`` (``mv_student_t_nu_information``);
    the location is orthogonal to Σ and ν (the score in μ is odd in ``z − μ``, theirs even).
    For ``p = 1`` these are StudentT's entries.
    """
    nu, mu, scale = params
    if value is not None and coordinate != "identity":
        raise unsupported("MvStudentT", coordinate)
    jacs = tangents_fn([nu, mu, scale] if value is None else [nu, mu, scale, value])
    j_nu, j_mu, j_scale = jacs[0], jacs[1], jacs[2]
    j_z = jacs[3] if value is not None else None
    p = pt.cast(mu.shape[-1], "float64")
    shrink = (nu + p) / (nu + p + 2)
    d = j_mu if j_z is None else (j_z if j_mu is None else j_z - j_mu)
    chol = pt.linalg.cholesky(scale)
    terms = []
    if d is not None:
        white = pt.linalg.solve_triangular(chol, pt.moveaxis(d, 0, -1), lower=True)
        white = pt.moveaxis(white, -1, 0)  # L⁻¹ d, (size, *batch, p)
        terms.append(batch_gram(white, white, shrink, batch_shape, 1))
    trace = None
    if j_scale is not None:
        dscale = (j_scale + pt.swapaxes(j_scale, -1, -2)) / 2
        half = pt.linalg.solve_triangular(chol[None], dscale, lower=True)  # L⁻¹ dΣ
        white = pt.linalg.solve_triangular(chol[None], pt.swapaxes(half, -1, -2), lower=True)
        trace = pt.diagonal(white, axis1=-2, axis2=-1).sum(-1)  # (size, *batch)
        terms.append(batch_gram(white, white, shrink / 2, batch_shape, 2))
        terms.append(-batch_gram(trace, trace, 1 / (2 * (nu + p + 2)), batch_shape, 0))
    if j_nu is not None:
        terms.append(batch_gram(j_nu, j_nu, mv_student_t_nu_information(nu, p), batch_shape, 0))
        if trace is not None:
            cross = batch_gram(j_nu, trace, -1 / ((nu + p) * (nu + p + 2)), batch_shape, 0)
            terms.append(cross + cross.T)
    return pt.add(*terms) if terms else None


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


@register_pullback(prb.DirichletRV)
def _dirichlet(params, value, coordinate, tangents_fn, size, batch_shape):
    """Dirichlet(α), the value under PyMC's simplex transform ``z = softmax([y, −Σy])``.

    With ``v = [y, −Σy]`` the density of ``y`` (log-Jacobian ``log K + Σ log z``) is
    ``Σ_k α_k log z_k − log B(α) + log K``, so with ``A = Σα`` and ``E[z] = α/A``,
    ``E[z zᵀ] = (α αᵀ + diag α)/(A(A + 1))``:
    ``I_vv = (A diag α − α αᵀ)/(A + 1)``, ``I_v,α_k = −(e_k − α/A)``,
    ``I_αα = diag ψ′(α) − ψ′(A) 1 1ᵀ`` (the last alone when observed). For K = 2 this is Beta's
    entry in its log-odds coordinate φ = 2y.
    """
    (alpha,) = params
    if value is not None and coordinate != "SimplexTransform":
        raise unsupported("Dirichlet", coordinate)
    jacs = tangents_fn([alpha] if value is None else [alpha, value])
    j_a = jacs[0]
    j_y = jacs[1] if value is not None else None
    k = alpha.shape[-1]
    full = (*batch_shape, k)
    a = pt.broadcast_to(alpha, full).reshape((-1, k))  # (n, K)
    total_a = a.sum(-1)  # (n,)
    total = None

    def add(term):
        nonlocal total
        total = term if total is None else total + term

    da = sa = None
    if j_a is not None:
        da = pt.broadcast_to(j_a, (size, *full)).reshape((size, -1, k))
        sa = da.sum(-1)  # (size, n)
        white = da * pt.sqrt(trigamma(a))[None]
        add(white.reshape((size, -1)) @ white.reshape((size, -1)).T)
        shared = sa * pt.sqrt(trigamma(total_a))[None]
        add(-(shared @ shared.T))
    if j_y is not None:
        dy = pt.broadcast_to(j_y, (size, *batch_shape, k - 1)).reshape((size, -1, k - 1))
        dv = pt.concatenate([dy, -dy.sum(-1, keepdims=True)], axis=-1)  # (size, n, K)
        u = (dv * a[None]).sum(-1)  # (size, n)
        diag = dv * pt.sqrt(total_a[:, None] * a / (total_a[:, None] + 1))[None]
        add(diag.reshape((size, -1)) @ diag.reshape((size, -1)).T)
        scaled = u / pt.sqrt(total_a + 1)[None]
        add(-(scaled @ scaled.T))
        if da is not None and sa is not None:
            cross = (
                -(dv.reshape((size, -1)) @ da.reshape((size, -1)).T) + (u / total_a[None]) @ sa.T
            )
            add(cross + cross.T)
    return total


@register_pullback(ZeroSumNormalRV)
def _zero_sum_normal(params, value, coordinate, tangents_fn, size, batch_shape):
    """ZeroSumNormal(σ), the value under PyMC's ``ZeroSumTransform``.

    The transform's backward map (one Householder reflection per zero-sum axis) is an isometry
    of ``y``, with ``d = Π(n_i − 1)`` entries per batch element, onto the zero-sum subspace of
    ``x``, with log-Jacobian 0, and PyMC's log-density is ``−Σx²/(2σ²) − d log(σ √2π)``; so
    ``y ~ Normal(0, σ² I)`` exactly, and per batch element
    ``I_yy = I/σ²``, ``I_σσ = 2d/σ²``, ``I_yσ = 0`` (odd in ``y``). An observed value has the
    σ block alone (``Σx²/σ²`` is χ² with ``d`` degrees of freedom either way).
    """
    sigma, support_shape = params
    if value is not None and coordinate != "ZeroSumTransform":
        raise unsupported("ZeroSumNormal", coordinate)
    k = pt.get_vector_length(support_shape)  # the zero-sum axes, the last k of the value
    jacs = tangents_fn([sigma] if value is None else [sigma, value])
    core = (Ellipsis, *([0] * k))  # σ has length one across the zero-sum axes
    s = sigma[core]
    j_sigma = None if jacs[0] is None else jacs[0][core]
    j_y = jacs[1] if value is not None else None
    terms = []
    if j_y is not None:
        terms.append(batch_gram(j_y, j_y, 1 / s**2, batch_shape, k))
    if j_sigma is not None:
        entries = pt.prod(support_shape - 1)
        terms.append(batch_gram(j_sigma, j_sigma, 2 * entries / s**2, batch_shape, 0))
    return pt.add(*terms) if terms else None
