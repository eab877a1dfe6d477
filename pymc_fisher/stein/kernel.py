"""The Langevin Stein kernel of the inverse multiquadric (IMQ), its double sum, greedy thinning.

Numeric core (NumPy and Numba only). Every function here works in *whitened* coordinates: the
points ``z`` and the scores ``s = ∇_z log p(z)`` are rows of ``(n, d)`` float64 arrays, and
the base kernel is ``k(z, z') = (c² + ‖z − z'‖²)^β``. A preconditioner (a metric ``Γ``) enters
only through the change of coordinates :func:`pymc_fisher.stein.whitening.whiten`, which makes
the discrepancy the affine-invariant one of Gorham et al. (2019) with a constant diffusion.

With ``r = z − z'``, ``q = c² + ‖r‖²``, the Stein kernel
``k₀ = ∇_z·∇_z' k + ∇_z k·s' + ∇_z' k·s + k s·s'`` is (Gorham & Mackey 2017; the same closed
form as ``stein_thinning.kernel.vfk0_imq`` with its metric the identity)::

    k₀(z, z') = −4β(β − 1)‖r‖² q^(β−2) − 2β (d + (s − s')·r) q^(β−1) + (s·s') q^β

so ``k₀(z, z) = −2βd c^(2β−2) + ‖s‖² c^(2β)``, which is ``d + ‖s‖²`` at ``c = 1, β = −½``.

The double sum runs over the upper triangle, rows paired from both ends (row ``i`` with row
``n − 1 − i``) so that the two halves of a ``prange`` get the same number of pairs.
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

__all__ = ["KernelSums", "greedy_thin", "kernel_sums", "stein_kernel_pairs"]


class KernelSums(NamedTuple):
    """The double sum of the Stein kernel over a sample.

    Attributes
    ----------
    total
        ``Σ_{i,j} k₀(zᵢ, zⱼ)`` (every ordered pair, the diagonal included).
    trace
        ``Σ_i k₀(zᵢ, zᵢ)``.
    n
        The number of points.
    """

    total: float
    trace: float
    n: int

    @property
    def v_statistic(self) -> float:
        """``KSD²_V = total / n²`` (never negative: the kernel matrix is positive semi-definite)."""
        return self.total / self.n**2

    @property
    def u_statistic(self) -> float:
        """``KSD²_U = (total − trace) / (n(n − 1))``, unbiased for independent draws."""
        return (self.total - self.trace) / (self.n * (self.n - 1)) if self.n > 1 else np.nan


@nb.njit(cache=True, nogil=True, inline="always")
def _k0(z, s, i, zj, sj, j, c2, beta):  # pragma: no cover - compiled
    d = z.shape[1]
    r2 = 0.0
    rs = 0.0
    ss = 0.0
    for a in range(d):
        r = z[i, a] - zj[j, a]
        r2 += r * r
        rs += (s[i, a] - sj[j, a]) * r
        ss += s[i, a] * sj[j, a]
    q = c2 + r2
    qb = 1.0 / np.sqrt(q) if beta == -0.5 else q**beta
    inv = 1.0 / q
    return qb * (-4.0 * beta * (beta - 1.0) * r2 * inv * inv - 2.0 * beta * (d + rs) * inv + ss)


@nb.njit(cache=True, nogil=True, parallel=True)
def _pair_values(z, s, z2, s2, c2, beta):  # pragma: no cover - compiled
    n = z.shape[0]
    out = np.empty(n)
    for i in nb.prange(n):
        out[i] = _k0(z, s, i, z2, s2, i, c2, beta)
    return out


@nb.njit(cache=True, nogil=True, inline="always")
def _upper_row(z, s, i, c2, beta):  # pragma: no cover - compiled
    acc = 0.0
    for j in range(i + 1, z.shape[0]):
        acc += _k0(z, s, i, z, s, j, c2, beta)
    return acc


@nb.njit(cache=True, nogil=True, parallel=True)
def _row_sums(z, s, c2, beta):  # pragma: no cover - compiled
    n = z.shape[0]
    upper = np.zeros(n)  # Σ_{j>i} k₀(zᵢ, zⱼ), one entry per row
    diagonal = np.empty(n)
    for t in nb.prange((n + 1) // 2):
        last = n - 1 - t  # the short row paired with the long row t
        upper[t] = _upper_row(z, s, t, c2, beta)
        diagonal[t] = _k0(z, s, t, z, s, t, c2, beta)
        if last != t:
            upper[last] = _upper_row(z, s, last, c2, beta)
            diagonal[last] = _k0(z, s, last, z, s, last, c2, beta)
    return upper, diagonal


@nb.njit(cache=True, nogil=True, parallel=True)
def _add_column(objective, z, s, k, c2, beta):  # pragma: no cover - compiled
    for i in nb.prange(z.shape[0]):
        objective[i] += 2.0 * _k0(z, s, i, z, s, k, c2, beta)


@nb.njit(cache=True, nogil=True)
def _greedy(z, s, m, c2, beta, diagonal):  # pragma: no cover - compiled
    objective = diagonal.copy()
    chosen = np.empty(m, dtype=np.int64)
    cumulative = np.empty(m)
    total = 0.0
    for t in range(m):
        k = int(np.argmin(objective))
        chosen[t] = k
        total += objective[k]  # k₀(x,x) + 2 Σ_{j<t} k₀(x, x_j): the growth of the double sum
        cumulative[t] = total
        if t + 1 < m:
            _add_column(objective, z, s, k, c2, beta)
    return chosen, cumulative


def _check(z: np.ndarray, s: np.ndarray, c: float, beta: float) -> tuple[np.ndarray, np.ndarray]:
    z = np.ascontiguousarray(z, dtype=np.float64)
    s = np.ascontiguousarray(s, dtype=np.float64)
    if z.ndim != 2 or z.shape != s.shape:
        raise ValueError(f"points {z.shape} and scores {s.shape} must be (n, d) arrays alike.")
    if not -1.0 < beta < 0.0:
        raise ValueError(f"beta={beta} must lie in (-1, 0) (Gorham & Mackey 2017, Theorem 8).")
    if not c > 0.0:
        raise ValueError(f"c={c} must be positive.")
    return z, s


def stein_kernel_pairs(
    z: np.ndarray,
    s: np.ndarray,
    z2: np.ndarray,
    s2: np.ndarray,
    *,
    c: float = 1.0,
    beta: float = -0.5,
) -> np.ndarray:
    """Evaluate ``k₀(zᵢ, z2ᵢ)`` row by row (points and their scores, whitened coordinates).

    Examples
    --------
    >>> z = np.array([[1.0, 2.0, 3.0]]); s = np.array([[0.5, 0.75, 1.5]])
    >>> z2 = np.array([[2.0, 3.0, 4.0]]); s2 = np.array([[1.0, 1.5, 3.0]])
    >>> float(stein_kernel_pairs(z, s, z2, s2)[0])  # stein_thinning's own test value
    3.5
    """
    z, s = _check(z, s, c, beta)
    z2, s2 = _check(z2, s2, c, beta)
    if z.shape != z2.shape:
        raise ValueError(f"the two sets of points differ in shape: {z.shape} and {z2.shape}.")
    return _pair_values(z, s, z2, s2, float(c) ** 2, float(beta))


def kernel_sums(z: np.ndarray, s: np.ndarray, *, c: float = 1.0, beta: float = -0.5) -> KernelSums:
    """Sum the Stein kernel over every pair of rows: ``O(n² d)`` time, ``O(n)`` memory.

    Examples
    --------
    One point at the mode of a standard normal (``s = −z = 0``): ``k₀ = d``.

    >>> sums = kernel_sums(np.zeros((1, 3)), np.zeros((1, 3)))
    >>> sums.total, sums.v_statistic
    (3.0, 3.0)
    """
    z, s = _check(z, s, c, beta)
    if z.shape[0] == 0:
        raise ValueError("kernel_sums needs at least one point.")
    upper, diagonal = _row_sums(z, s, float(c) ** 2, float(beta))
    trace = float(np.sum(diagonal))
    return KernelSums(trace + 2.0 * float(np.sum(upper)), trace, z.shape[0])


def greedy_thin(
    z: np.ndarray, s: np.ndarray, m: int, *, c: float = 1.0, beta: float = -0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Stein thinning: pick ``m`` rows greedily (with repeats), each minimising the new KSD.

    Point ``t`` minimises ``k₀(x, x) + 2 Σ_{j<t} k₀(x, x_j)`` over the rows (Riabiz et al.
    2022, Algorithm 1; ties go to the lowest index, as ``np.argmin``).

    Returns
    -------
    indices : numpy.ndarray
        ``(m,)`` row indices, in the order chosen.
    ksd_path : numpy.ndarray
        ``(m,)`` the V-statistic KSD (``√(Σ_{i,j≤t} k₀)/t``) of the first ``t`` points.

    Examples
    --------
    The first point is the one nearest the mode of a standard normal:

    >>> z = np.array([[2.0], [0.1], [-1.0]])
    >>> idx, path = greedy_thin(z, -z, 2)
    >>> int(idx[0]), round(float(path[0]) ** 2, 6)  # k₀ = d + ‖s‖² = 1.01
    (1, 1.01)
    """
    z, s = _check(z, s, c, beta)
    if m < 1:
        raise ValueError(f"m={m} must be a positive number of points.")
    c2 = float(c) ** 2
    diagonal = _pair_values(z, s, z, s, c2, float(beta))
    chosen, cumulative = _greedy(z, s, int(m), c2, float(beta), diagonal)
    path = np.sqrt(np.maximum(cumulative, 0.0)) / np.arange(1, m + 1)
    return chosen, path
