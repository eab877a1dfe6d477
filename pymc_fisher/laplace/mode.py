"""Mode finding with exact curvature: damped Newton (or Fisher scoring) with a line search.

Numeric core: NumPy and SciPy only. The caller supplies ``logp_grad(θ) -> (log p, ∇ log p)``
and ``curvature(θ) -> C`` with ``C`` the negative Hessian (Newton) or an expected information
(Fisher scoring). Each iteration solves ``(C + λ I) s = ∇ log p`` through a Cholesky factor,
with ``λ = 0`` whenever ``C`` is positive definite (a pure Newton step, so convergence near the
mode is quadratic) and the smallest Levenberg shift that makes it positive definite otherwise;
then a backtracking (Armijo) line search on ``log p``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import scipy.linalg as sla

from pymc_fisher.errors import FisherError, NonFiniteLogDensityError

__all__ = ["ModeNotFoundError", "ModeResult", "find_mode"]

_EPS = np.finfo(float).eps


class ModeNotFoundError(FisherError, RuntimeError):
    """The optimiser did not reach a point where the gradient vanishes."""


class ModeResult(NamedTuple):
    """Where the optimiser stopped and how it got there.

    Attributes
    ----------
    theta
        The mode.
    logp
        ``log p`` at the mode.
    gradient
        ``∇ log p`` at the mode.
    iterations
        Newton (or scoring) iterations taken.
    evaluations
        Evaluations of ``logp_grad``.
    converged
        Whether ``max |∇ log p| ≤ gtol · max(1, |log p|)``.
    max_abs_gradient
        ``max |∇ log p|`` at the mode.
    message
        Why it stopped.
    """

    theta: np.ndarray
    logp: float
    gradient: np.ndarray
    iterations: int
    evaluations: int
    converged: bool
    max_abs_gradient: float
    message: str


def _newton_step(c: np.ndarray, g: np.ndarray, shift: float) -> tuple[np.ndarray, float]:
    """Solve ``(C + λ I) s = g`` with the smallest tried ``λ ≥ shift`` that gives a Cholesky."""
    n = len(g)
    c = 0.5 * (c + c.T)
    scale = max(float(np.max(np.abs(np.diag(c)))) if n else 1.0, 1.0)
    lam = shift
    while True:
        try:
            factor = sla.cho_factor(c + lam * np.eye(n), lower=False)
            step = sla.cho_solve(factor, g)
            if np.all(np.isfinite(step)):
                return step, lam
        except np.linalg.LinAlgError:
            pass
        lam = max(2.0 * lam, 1e-8 * scale)
        if lam > 1e20 * scale:
            return g / scale, lam  # steepest ascent, as a last resort


def find_mode(
    logp_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
    curvature: Callable[[np.ndarray], np.ndarray],
    theta0: np.ndarray,
    *,
    gtol: float = 1e-9,
    maxiter: int = 200,
    labels: tuple[str, ...] | None = None,
    raise_on_failure: bool = True,
) -> ModeResult:
    """Maximise ``log p`` by damped Newton steps with the exact curvature.

    Parameters
    ----------
    logp_grad
        ``θ -> (log p(θ), ∇ log p(θ))``.
    curvature
        ``θ -> C(θ)``: ``-∇² log p`` (Newton) or an expected information (Fisher scoring).
    theta0
        Starting point.
    gtol
        Converged when ``max |∇ log p| ≤ gtol · max(1, |log p|)``.
    maxiter
        Most iterations.
    labels
        Parameter labels, to name the largest gradient component in an error.
    raise_on_failure
        Raise :class:`ModeNotFoundError` when not converged (else return the result).

    Returns
    -------
    ModeResult

    Raises
    ------
    NonFiniteLogDensityError
        If ``log p`` or its gradient is not finite at ``theta0``.
    ModeNotFoundError
        If the gradient does not vanish within ``maxiter`` iterations, or no step improves
        ``log p``.

    Notes
    -----
    The step is ``s = (C + λ I)⁻¹ ∇ log p``; the line search accepts ``θ + t s`` when
    ``log p`` rises by at least ``10⁻⁴ t ∇ log pᵀ s`` (Armijo), or, once that rise is below the
    rounding error of ``log p``, when the gradient shrinks. A failed line search raises the
    Levenberg shift ``λ`` and retries, so steps shorten towards steepest ascent.
    """
    theta = np.array(theta0, dtype=float)
    f, g = logp_grad(theta)
    evaluations = 1
    if not (np.isfinite(f) and np.all(np.isfinite(g))):
        raise NonFiniteLogDensityError(
            f"log p = {f} or its gradient is not finite at the starting point; pass initvals."
        )

    def done(f: float, g: np.ndarray) -> bool:
        return bool(np.max(np.abs(g), initial=0.0) <= gtol * max(1.0, abs(f)))

    iterations = 0
    message = "converged"
    while not done(f, g):
        if iterations >= maxiter:
            message = f"reached maxiter={maxiter}"
            break
        iterations += 1
        c = curvature(theta)
        shift = 0.0
        accepted = False
        while not accepted:
            step, lam = _newton_step(c, g, shift)
            slope = float(g @ step)
            t = 1.0
            while t > 1e-10:
                trial = theta + t * step
                f_new, g_new = logp_grad(trial)
                evaluations += 1
                if np.isfinite(f_new) and np.all(np.isfinite(g_new)):
                    noise = 10 * _EPS * max(1.0, abs(f))
                    if f_new >= f + 1e-4 * t * slope or (
                        abs(f_new - f) <= noise and np.max(np.abs(g_new)) < np.max(np.abs(g))
                    ):
                        accepted = True
                        break
                t *= 0.5
            if not accepted:
                scale = max(float(np.max(np.abs(np.diag(c)))), 1.0)
                if lam > 1e16 * scale:
                    break
                shift = max(10.0 * lam, 1e-4 * scale)
        if not accepted:
            message = "no step along the ascent direction increases log p"
            break
        theta, f, g = trial, float(f_new), g_new
    converged = done(f, g)
    max_abs = float(np.max(np.abs(g), initial=0.0))
    result = ModeResult(theta, float(f), g, iterations, evaluations, converged, max_abs, message)
    if not converged and raise_on_failure:
        worst = int(np.argmax(np.abs(g))) if len(g) else 0
        where = f" (largest along {labels[worst]!r})" if labels else ""
        raise ModeNotFoundError(
            f"The mode search did not converge ({message}) after {iterations} iterations and "
            f"{evaluations} log-density evaluations: max |∇ log p| = {max_abs:.3g}{where}, "
            f"last log p = {f:.6g}, tolerance {gtol:.1g}·max(1, |log p|). Try other initvals, "
            "a larger maxiter, or check that the posterior has a mode (proper priors)."
        )
    return result
