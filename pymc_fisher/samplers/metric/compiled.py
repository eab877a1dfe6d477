"""Numba twins of :mod:`.metric.operations`: factor ``A(θ)``, weights, pull-back, energy.

Same formulas as the NumPy reference (see there for the mathematics), and the same
:class:`~.core.types.MetricFactor` (empty arrays where a metric has nothing); a factorisation
returns ``(ok, factor)`` with ``ok = False`` instead of raising where the reference returns
``None``. The SoftAbs map is :mod:`pymc_fisher.softabs`'s own functions, compiled here.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from pymc_fisher.samplers.core.types import MetricFactor
from pymc_fisher.softabs import softabs_divided_differences, softabs_values

__all__ = [
    "SMALL",
    "condition",
    "direct_factor",
    "dot",
    "kinetic",
    "mv",
    "pull_back",
    "softabs_factor",
    "weights",
]

_jit = nb.njit(cache=True, nogil=True)

# Below this size a product is cheaper as a loop than as a BLAS call (measured at d = 10: a
# matrix-vector product 70 ns against 170 ns; at d = 25 BLAS wins).
SMALL = 16


@_jit
def mv(A, x):
    """``A @ x``."""
    n, m = A.shape
    if n > SMALL:
        return A @ np.ascontiguousarray(x)
    y = np.empty(n)
    for i in range(n):
        acc = 0.0
        for j in range(m):
            acc += A[i, j] * x[j]
        y[i] = acc
    return y


@_jit
def dot(x, y):
    """``x @ y`` of two vectors."""
    acc = 0.0
    for i in range(x.size):
        acc += x[i] * y[i]
    return acc


@_jit
def _failed(d):
    """A placeholder factor for ``ok = False`` (never read)."""
    e2, e1 = np.empty((0, 0)), np.empty(0)
    return MetricFactor(e2, e2, 0.0, e1, e2, e1, e2)


@_jit
def direct_factor(A):
    """``G = A`` by Cholesky (a diagonal ``A`` needs none): ``(ok, MetricFactor)``."""
    d = A.shape[0]
    empty2, empty1 = np.empty((0, 0)), np.empty(0)
    ok = np.all(np.isfinite(A))
    diagonal = np.ascontiguousarray(np.diag(A)).copy()
    off_diagonal_zero = True
    for i in range(d):
        for j in range(d):
            if i != j and A[i, j] != 0.0:
                off_diagonal_zero = False
    if ok and off_diagonal_zero:
        # diagonal metric (the funnel's Fisher metric, independent priors): no factorisation
        if not diagonal.min() > 0.0:
            return False, _failed(d)
        inverse, sqrt = np.diag(1.0 / diagonal), np.diag(np.sqrt(diagonal))
        logdet = float(np.log(diagonal).sum())
        return True, MetricFactor(inverse, sqrt, logdet, diagonal, empty2, empty1, empty2)
    if not ok:
        return False, _failed(d)
    # Cholesky from the lower triangle, as LAPACK's potrf; False when not positive definite
    L = np.zeros((d, d))
    for j in range(d):
        s = A[j, j]
        for k in range(j):
            s -= L[j, k] * L[j, k]
        if not s > 0.0:
            return False, _failed(d)
        L[j, j] = np.sqrt(s)
        for i in range(j + 1, d):
            s = A[i, j]
            for k in range(j):
                s -= L[i, k] * L[j, k]
            L[i, j] = s / L[j, j]
    inv_l = np.zeros((d, d))  # L⁻¹ by forward substitution
    for j in range(d):
        inv_l[j, j] = 1.0 / L[j, j]
        for i in range(j + 1, d):
            s = 0.0
            for k in range(j, i):
                s -= L[i, k] * inv_l[k, j]
            inv_l[i, j] = s / L[i, i]
    logdet = 0.0
    for j in range(d):
        logdet += 2.0 * np.log(L[j, j])
    if d > SMALL:
        inverse = inv_l.T @ inv_l
    else:
        inverse = np.empty((d, d))  # L⁻ᵀL⁻¹, one triangle, L⁻¹ lower triangular
        for i in range(d):
            for j in range(i + 1):
                s = 0.0
                for k in range(i, d):
                    s += inv_l[k, i] * inv_l[k, j]
                inverse[i, j] = s
                inverse[j, i] = s
    return True, MetricFactor(inverse, L, logdet, empty1, empty2, empty1, empty2)


@_jit
def softabs_factor(H, alpha):
    """SoftAbs of the Hessian ``H``: ``(ok, MetricFactor)`` with ``Q, g, λ`` and ``D``."""
    if not np.all(np.isfinite(H)):
        return False, _failed(H.shape[0])
    lam, Q = np.linalg.eigh(H)
    Q = np.ascontiguousarray(Q)
    g, dg = softabs_values(lam, alpha)
    D = softabs_divided_differences(lam, g, dg)
    inverse = (Q / g) @ Q.T
    sqrt = Q * np.sqrt(g)
    return True, MetricFactor(inverse, sqrt, float(np.log(g).sum()), g, Q, lam, D)


@_jit
def weights(metric, p):
    """Weights on ``A`` of ``∇_θ[½ log det G + ½ pᵀG⁻¹p]`` (reference: ``contraction_weights``)."""
    inverse = metric.inverse
    v = mv(inverse, p)
    if metric.basis.size == 0:
        d = v.size
        W = np.empty((d, d))
        for i in range(d):
            for j in range(d):
                W[i, j] = 0.5 * (inverse[i, j] - v[i] * v[j])
        return W
    Q, g = metric.basis, metric.eigenvalues
    u = mv(Q.T, v)
    inner = -0.5 * np.outer(u, u)
    for i in range(g.size):
        inner[i, i] += 0.5 / g[i]
    return Q @ (metric.divided_differences * inner) @ Q.T


@_jit
def pull_back(metric, C):
    """Weights ``C`` on ``G`` as weights on ``A`` (the identity for a direct metric)."""
    if metric.basis.size == 0:
        return C
    Q = metric.basis
    return Q @ (metric.divided_differences * (Q.T @ C @ Q)) @ Q.T


@_jit
def kinetic(metric, p):
    """``½ log det G + ½ pᵀG⁻¹p``."""
    return 0.5 * metric.logdet + 0.5 * dot(p, mv(metric.inverse, p))


@_jit
def condition(metric):
    """Spectral condition number of ``G`` (reference: ``metrics.condition_number``)."""
    g = metric.eigenvalues
    if g.size == 0:
        S = metric.sqrt  # S Sᵀ with both operands C-ordered: Numba's @ is slow on a transposed view
        g = np.linalg.eigvalsh(S @ np.ascontiguousarray(S.T))
    g = np.abs(g)
    lo = g.min()
    return g.max() / lo if lo > 0.0 else np.inf
