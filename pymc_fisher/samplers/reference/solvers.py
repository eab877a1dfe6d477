"""Fixed-point solver with Anderson acceleration that reports how it went.

The generalized leapfrog has two implicit equations of the form ``x = F(x)``. This module solves
them and returns the answer together with ``(converged, residual, iterations)``: the caller, not
the solver, decides that a failed solve is a divergence.

Numeric core: NumPy only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

__all__ = ["FixedPointResult", "solve_fixed_point"]


class FixedPointResult(NamedTuple):
    """Outcome of :func:`solve_fixed_point`.

    Attributes
    ----------
    solution
        The last iterate ``x`` whose residual was measured.
    aux
        Whatever ``F`` returned alongside ``F(x)`` at ``solution`` (so the caller can reuse an
        expensive evaluation made there), or ``None`` if the map failed before any evaluation.
    converged
        Whether ``max|F(x) - x| <= tol (1 + max|x|)``.
    residual
        ``max|F(x) - x|`` at ``solution`` (``inf`` if ``F`` failed there).
    iterations
        Number of evaluations of ``F``.
    failed
        Whether ``F`` signalled failure (returned ``None``), e.g. a metric that is not positive
        definite at an iterate.
    """

    solution: np.ndarray
    aux: Any
    converged: bool
    residual: float
    iterations: int
    failed: bool


def solve_fixed_point(
    fun: Callable[[np.ndarray], tuple[np.ndarray, Any] | None],
    x0: np.ndarray,
    *,
    tol: float = 1e-9,
    max_iter: int = 30,
    memory: int = 3,
) -> FixedPointResult:
    """Solve ``x = F(x)`` by Anderson-accelerated fixed-point iteration.

    Parameters
    ----------
    fun
        ``x -> (F(x), aux)``, or ``None`` when ``F`` cannot be evaluated at ``x``.
    x0
        Initial guess.
    tol
        Convergence when ``max|F(x) - x| <= tol (1 + max|x|)`` (absolute and relative).
    max_iter
        Maximum number of evaluations of ``F``.
    memory
        Anderson memory ``m`` (0 = plain Picard iteration).

    Returns
    -------
    FixedPointResult

    Notes
    -----
    Anderson acceleration (type II, Walker & Ni 2011): with residuals ``f_k = F(x_k) - x_k``,
    the next iterate is ``F(x_k) - (ΔX + ΔF) γ`` where ``γ`` minimises ``|f_k - ΔF γ|``
    over the last ``m`` differences. Safeguarded: when an iterate's residual is larger than
    the previous one, the history is dropped and the next step is a plain Picard step (Anderson
    extrapolation can stagnate or diverge on a nonlinear map that Picard still contracts; on
    non-centered eight schools at the adapted step size it failed 2.7% of leapfrog steps within
    15 evaluations, the safeguarded version none within 50). For a contraction with small
    Lipschitz constant (the leapfrog's equations at small step size) it converges in a handful
    of evaluations; the returned residual is measured at the returned point, never extrapolated.

    Examples
    --------
    >>> import numpy as np
    >>> res = solve_fixed_point(lambda x: (np.cos(x), None), np.array([1.0]))
    >>> bool(res.converged), round(float(res.solution[0]), 6)
    (True, 0.739085)
    """
    x = np.array(x0, dtype=float, copy=True)
    dx_hist: list[np.ndarray] = []
    df_hist: list[np.ndarray] = []
    prev_x: np.ndarray | None = None
    prev_f: np.ndarray | None = None
    residual = prev_residual = np.inf
    aux: Any = None
    for it in range(1, max_iter + 1):
        out = fun(x)
        if out is None:
            return FixedPointResult(x, aux, False, np.inf, it, True)
        fx, aux = out
        f = fx - x
        residual = float(np.abs(f).max()) if f.size else 0.0
        if not residual < np.inf:  # also catches NaN
            return FixedPointResult(x, aux, False, np.inf, it, True)
        if residual <= tol * (1.0 + float(np.abs(x).max())):
            return FixedPointResult(x, aux, True, residual, it, False)
        if memory > 0 and prev_x is not None and prev_f is not None:
            if residual > prev_residual:
                # Safeguard: the extrapolation made things worse, so forget the history and
                # take a plain Picard step from here (a contraction converges from any point).
                dx_hist.clear()
                df_hist.clear()
            else:
                dx_hist.append(x - prev_x)
                df_hist.append(f - prev_f)
                if len(dx_hist) > memory:
                    del dx_hist[0], df_hist[0]
        prev_x, prev_f, prev_residual = x, f, residual
        x = fx - _anderson_correction(dx_hist, df_hist, f) if dx_hist else fx
    last = x if prev_x is None else prev_x  # the last evaluated iterate, where aux belongs
    return FixedPointResult(last, aux, False, residual, max_iter, False)


def _anderson_correction(
    dx_hist: list[np.ndarray], df_hist: list[np.ndarray], f: np.ndarray
) -> np.ndarray:
    """``(ΔX + ΔF) γ`` with ``γ = argmin |f - ΔF γ|`` by regularised normal equations.

    ``m ≤ 3`` columns: a tiny Gram system is far cheaper than ``lstsq``'s SVD; the ridge keeps it
    solvable when differences are collinear (then the step falls back towards Picard).
    """
    dF = np.array(df_hist).T
    gram = dF.T @ dF
    ridge = 1e-10 * float(np.trace(gram)) + 1e-300
    gram[np.diag_indices_from(gram)] += ridge
    try:
        gamma = np.linalg.solve(gram, dF.T @ f)
    except np.linalg.LinAlgError:
        return np.zeros_like(f)
    return (np.array(dx_hist).T + dF) @ gamma
