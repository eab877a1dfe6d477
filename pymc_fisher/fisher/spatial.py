"""Closed-form information of the Gaussian Markov random fields CAR and ICAR.

Both log-densities are quadratic in the value, so in the value block the expectation is the
negative Hessian itself, the precision matrix; what the closed forms add over the local rule
(``local.py``) is the expectation of the parameters' blocks, whose Hessians depend on the value.

``CAR(μ, W, α, τ)`` is ``Normal(μ, Q⁻¹)`` with ``Q = τ(D − αW)``, ``D = diag(Σ_i W_ij)``, and
PyMC's log-density is that Gaussian's up to the constant ``½ log|D|``. With ``λ`` the
eigenvalues of ``D^(−½) W D^(−½)`` (``log|Q| = m log τ + log|D| + Σ log(1 − αλ)``), per
observation of ``m`` entries:

``I_μμ = Q``, ``I_ττ = m/(2τ²)``, ``I_τα = −Σ λ/(1 − αλ) / (2τ)``,
``I_αα = ½ Σ λ²/(1 − αλ)²``, ``I_μτ = I_μα = 0``

(the Gaussian ``½ tr(Q⁻¹ ∂_aQ Q⁻¹ ∂_bQ)`` with ``∂_τQ = Q/τ``, ``∂_αQ = −τW``).

``ICAR(W, σ, s)``: PyMC's log-density of ``φ ∈ ℝᴺ`` is
``−φᵀLφ/(2σ²) − (Σφ)²/(2(sN)²) − log(sN) − ½ log 2π`` with ``L = D − W`` the graph
Laplacian: a Gaussian with precision ``Q = L/σ² + 1 1ᵀ/(sN)²`` (the zero-sum soft constraint
pins the one direction ``L`` leaves free on a connected graph) but *without* its normaliser
``−r log σ``, ``r = rank L = N − (number of connected components)``. So the score in σ does
not have mean zero, and what the sampler's metric needs is the expectation of the negative
Hessian of that log-density, not the variance of the score:

``I_φφ = Q``, ``I_σσ = E[3 φᵀLφ/σ⁴] = 3r/σ²``, ``I_ss = 2/s²``, the cross terms zero (odd in φ).

(The normalised Gaussian would have ``2r/σ²``; the ``r log σ`` PyMC leaves out has ``−∂²σ``
``= r/σ²``.) ``φᵀLφ/σ²`` is χ² with ``r`` degrees of freedom whether or not the graph is
connected (it only sees the components' proper part), so ``r`` counts components. ``s`` enters
through ``Σφ ~ Normal(0, sN)`` alone.
"""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
from pymc.distributions.multivariate import CARRV, ICARRV
from pytensor.graph.basic import Constant
from pytensor.graph.traversal import graph_inputs
from pytensor.tensor.variable import TensorVariable
from scipy.sparse.csgraph import connected_components

from pymc_fisher.errors import NoClosedFormError
from pymc_fisher.fisher.expected import batch_gram
from pymc_fisher.fisher.registry import register_pullback, unsupported

__all__: list[str] = []


def _matrix(w: TensorVariable) -> TensorVariable:
    """The adjacency as a dense float64 matrix (PyMC may add broadcastable leading axes)."""
    if isinstance(w.type, pytensor.sparse.SparseTensorType):
        w = pytensor.sparse.dense_from_sparse(w)
    w = pt.cast(w, "float64")
    extra = w.type.ndim - 2
    return pt.squeeze(w, axis=tuple(range(extra))) if extra else w


def _scalar(jac: TensorVariable | None, size: int) -> TensorVariable | None:
    """The tangent batch of a scalar (or all-broadcastable) parameter as ``(size,)``."""
    return None if jac is None else jac.reshape((size,))


def _outer(a: TensorVariable, b: TensorVariable) -> TensorVariable:
    return a[:, None] * b[None, :]


def _count(batch_shape: tuple) -> TensorVariable:
    """How many observations the factor holds (CAR's α and τ are shared by all of them)."""
    if not batch_shape:
        return pt.constant(1.0, dtype="float64")
    sizes = pt.stack([pt.as_tensor(s, dtype="int64") for s in batch_shape])
    return pt.cast(pt.prod(sizes), "float64")


@register_pullback(CARRV)
def _car(params, value, coordinate, tangents_fn, size, batch_shape):
    """CAR(μ, W, α, τ): the Gaussian with precision ``τ(D − αW)`` (module docstring)."""
    mu, w, alpha, tau, _valid = params
    if value is not None and coordinate != "identity":
        raise unsupported("CAR", coordinate)
    w = _matrix(w)
    graphs = [mu, w, alpha, tau] if value is None else [mu, w, alpha, tau, value]
    jacs = tangents_fn(graphs)
    if jacs[1] is not None:
        raise NoClosedFormError("no closed-form information for a CAR whose W depends on θ")
    j_mu, j_alpha, j_tau = jacs[0], _scalar(jacs[2], size), _scalar(jacs[3], size)
    j_z = jacs[4] if value is not None else None
    a, t = alpha.reshape(()), tau.reshape(())
    degree = w.sum(axis=0)
    terms = []
    d = j_mu if j_z is None else (j_z if j_mu is None else j_z - j_mu)
    if d is not None:  # (size, *batch, m); W is symmetric, so d W is (W dᵀ)ᵀ
        q_d = t * (d * degree - a * (d @ w))
        terms.append(batch_gram(d, q_d, 1.0, batch_shape, 1))
    if j_alpha is not None or j_tau is not None:
        count = _count(batch_shape)
        scaled = w / pt.sqrt(degree)[:, None] / pt.sqrt(degree)[None, :]  # D^(−½) W D^(−½)
        lam = pt.linalg.eigvalsh(scaled, pt.eye(w.shape[0], dtype="float64"))
        ratio = lam / (1 - a * lam)
        if j_tau is not None:
            m = pt.cast(w.shape[0], "float64")
            terms.append(count * m / (2 * t**2) * _outer(j_tau, j_tau))
        if j_alpha is not None:
            terms.append(count * (ratio**2).sum() / 2 * _outer(j_alpha, j_alpha))
        if j_alpha is not None and j_tau is not None:
            cross = -count * ratio.sum() / (2 * t) * _outer(j_tau, j_alpha)
            terms.append(cross + cross.T)
    return pt.add(*terms) if terms else None


def _constant(graph: TensorVariable) -> np.ndarray | None:
    """The value of a graph of constants (PyMC's ICAR takes a NumPy W), else ``None``."""
    if not all(isinstance(i, Constant) for i in graph_inputs([graph])):
        return None
    return np.asarray(pytensor.function([], graph, mode="FAST_COMPILE")())


@register_pullback(ICARRV)
def _icar(params, value, coordinate, tangents_fn, size, batch_shape):
    """ICAR(W, σ, s): the expected negative Hessian of PyMC's log-density (module docstring)."""
    w, sigma, zero_sum_stdev = params
    if value is not None and coordinate != "identity":
        raise unsupported("ICAR", coordinate)
    adjacency = _constant(_matrix(w))
    if adjacency is None or batch_shape or (value is not None and value.type.ndim != 1):
        # PyMC's ICAR log-density indexes the value's first axis: one field, W known
        raise NoClosedFormError(
            "no closed-form information for an ICAR with a batch or a symbolic W"
        )
    n = adjacency.shape[0]
    rank = n - connected_components(adjacency != 0, directed=False)[0]
    laplacian = pt.constant(np.diag(adjacency.sum(axis=0)) - adjacency, dtype="float64")
    jacs = tangents_fn([sigma, zero_sum_stdev] if value is None else [sigma, zero_sum_stdev, value])
    j_sigma, j_s = _scalar(jacs[0], size), _scalar(jacs[1], size)
    j_z = jacs[2] if value is not None else None
    sig, s = sigma.reshape(()), zero_sum_stdev.reshape(())
    terms = []
    if j_z is not None:  # (size, N)
        total = j_z.sum(axis=-1)
        terms.append((j_z @ laplacian) @ j_z.T / sig**2 + _outer(total, total) / (s * n) ** 2)
    if j_sigma is not None:
        terms.append(3 * rank / sig**2 * _outer(j_sigma, j_sigma))
    if j_s is not None:
        terms.append(2 / s**2 * _outer(j_s, j_s))
    return pt.add(*terms) if terms else None
