"""Mode finding with exact curvature: damped Newton (or Fisher scoring) with a line search.

Numeric core: NumPy and SciPy only. The caller supplies ``logp_grad(θ) -> (log p, ∇ log p)``
and ``curvature(θ) -> C`` with ``C`` the negative Hessian (Newton) or an expected information
(Fisher scoring). Each iteration solves ``(C + λ I) s = ∇ log p`` through a Cholesky factor,
with ``λ = 0`` whenever ``C`` is positive definite (a pure Newton step, so convergence near the
mode is quadratic) and the smallest Levenberg shift that makes it positive definite otherwise;
then a backtracking (Armijo) line search on ``log p``. A trial point where ``log p`` or its
gradient is not finite (outside the support: ``log p = −∞``) is rejected like any other that
does not raise ``log p`` enough, and the step is halved.

When the gradient stops shrinking, the search probes the rays along which it was moving; if
``log p`` still rises along one, far beyond where the search stands, the density has no mode
that Newton's method can reach there (e.g. Neal's funnel, ``log τ → −∞``), and the search
stops with a :class:`ModeNotFoundError` that names the coordinates of that ray.

When the search stalls without a ray (``maxiter``, or no step improves ``log p``), it checks
whether it stands at a *kink*: a coordinate along which the one-sided derivatives of ``log p``
differ by an amount that does not shrink with the distance they are taken at (a Laplace prior's
``−|β|/b`` at ``β = 0``, where a Bayesian lasso's mode sits). Newton's method cannot converge
there and no Laplace approximation exists, and the error says so, naming the coordinates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import scipy.linalg as sla

from pymc_fisher.errors import FisherError, NonFiniteLogDensityError

__all__ = ["Kink", "ModeNotFoundError", "ModeResult", "Runaway", "find_mode"]

_EPS = np.finfo(float).eps
# Armijo's sufficient increase: accept θ + t s when log p rises by ARMIJO · t · ∇ log pᵀ s
# (Nocedal & Wright 2006, eq. 3.4, with their customary c₁ = 1e-4).
ARMIJO = 1e-4
# The line search halves t down to this fraction of the Newton step before it raises λ.
MIN_STEP_FRACTION = 1e-10
# A change of log p below NOISE_ULPS · ε · max(1, |log p|) is rounding.
NOISE_ULPS = 10
# Levenberg shifts, relative to the largest diagonal entry of C (at least 1): the first shift
# tried when C has no Cholesky factor, the first after a failed line search, and the shift past
# which the step is steepest ascent to rounding (the search gives up).
SHIFT_FLOOR = 1e-8
SHIFT_RETRY = 1e-4
SHIFT_CEILING = 1e16
# Probe for a runaway after this many iterations in which max |∇ log p| did not halve: Newton's
# method with exact curvature halves it every iteration or two near a mode.
STALL_WINDOW = 20
# Lengths of the probes along a candidate ray, in units of θ (for a log-transformed scale, 8 is
# a factor e⁸ ≈ 3000); a runaway needs log p to rise at each and by RUNAWAY_GAIN in all.
PROBE_LENGTHS = (1.0, 2.0, 4.0, 8.0)
RUNAWAY_GAIN = 1.0
# A coordinate takes part in a ray when its component is at least this share of the largest.
RAY_SHARE = 0.1
# Kinks: one-sided derivatives at these distances (relative to max(1, |θ_i|)). For a smooth
# log p the jump g_i(θ − h) − g_i(θ + h) ≈ 2h |∂²_i log p| shrinks a hundredfold from the first
# to the second; at a kink within the second distance it stays the size of the kink. A kink is
# reported when the jump at the second is positive (a concave kink, which stops an ascent), at
# least KINK_PERSISTENCE of the jump at the first, and above KINK_MIN_JUMP · max(1, max |∇|).
KINK_DISTANCES = (1e-5, 1e-7)
KINK_PERSISTENCE = 0.5
KINK_MIN_JUMP = 1e-3


class ModeNotFoundError(FisherError, RuntimeError):
    """The optimiser did not reach a point where the gradient vanishes.

    ``runaway`` is the ray along which ``log p`` kept rising when the search stopped (a density
    without a mode), or ``None``; ``kinks`` the coordinates along which ``log p`` is not
    differentiable where the search stalled (a mode at a kink), or empty.
    """

    def __init__(
        self, message: str, runaway: Runaway | None = None, kinks: tuple[Kink, ...] = ()
    ) -> None:
        super().__init__(message)
        self.runaway = runaway
        self.kinks = kinks


class Kink(NamedTuple):
    """A coordinate along which ``log p`` is not differentiable where the search stopped.

    Attributes
    ----------
    coordinate
        Its index in θ.
    left, right
        ``∂_i log p`` just below and just above ``theta[coordinate]`` (``left > right``).
    """

    coordinate: int
    left: float
    right: float


class Runaway(NamedTuple):
    """A ray from ``theta`` along ``direction`` on which ``log p`` kept rising.

    Attributes
    ----------
    theta
        Where the search stood.
    direction
        The ray's direction, largest component ±1.
    lengths
        Probe lengths along it.
    logps
        ``log p`` at ``theta + length · direction``, increasing.
    """

    theta: np.ndarray
    direction: np.ndarray
    lengths: tuple[float, ...]
    logps: tuple[float, ...]

    def describe(self, labels: Sequence[str] | None) -> str:
        """``"tau_log__ decreasing"``: the coordinates of the ray and their directions."""
        share = np.abs(self.direction) >= RAY_SHARE
        names = list(labels) if labels is not None else [f"θ[{i}]" for i in range(self.theta.size)]
        parts = [
            f"{names[i]} {'increasing' if self.direction[i] > 0 else 'decreasing'}"
            for i in np.flatnonzero(share)
        ]
        return ", ".join(parts)


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


def _scale(c: np.ndarray) -> float:
    return max(float(np.max(np.abs(np.diag(c)))) if c.size else 1.0, 1.0)


def _newton_step(c: np.ndarray, g: np.ndarray, shift: float) -> tuple[np.ndarray, float]:
    """Solve ``(C + λ I) s = g`` with the smallest tried ``λ ≥ shift`` that gives a Cholesky."""
    n = len(g)
    c = 0.5 * (c + c.T)
    scale = _scale(c)
    lam = shift
    while lam <= SHIFT_CEILING * scale:
        try:
            factor = sla.cho_factor(c + lam * np.eye(n), lower=False)
            step = sla.cho_solve(factor, g)
            if np.all(np.isfinite(step)):
                return step, lam
        except np.linalg.LinAlgError:
            pass
        lam = max(2.0 * lam, SHIFT_FLOOR * scale)
    return g / scale, lam  # steepest ascent, as a last resort


def _finite(f: float, g: np.ndarray) -> bool:
    return bool(np.isfinite(f) and np.all(np.isfinite(g)))


def _probe(
    logp_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
    theta: np.ndarray,
    f: float,
    direction: np.ndarray,
) -> tuple[float, ...] | None:
    """``log p`` along ``theta + h · direction`` for ``h`` in PROBE_LENGTHS, if it keeps rising."""
    logps = []
    last = f
    for h in PROBE_LENGTHS:
        value, _ = logp_grad(theta + h * direction)
        if not (np.isfinite(value) and value > last):
            return None
        logps.append(float(value))
        last = value
    return tuple(logps) if last - f >= RUNAWAY_GAIN else None


def _runaway(
    logp_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
    theta: np.ndarray,
    f: float,
    g: np.ndarray,
    earlier: np.ndarray,
) -> tuple[Runaway | None, int]:
    """A ray from ``theta`` along which ``log p`` keeps rising, and the evaluations it took.

    Candidates, simplest first: each coordinate carrying a large share of the gradient, in the
    gradient's direction, provided the search also moved it that way (an ascent it kept
    following, not a passing slope); then the way the search has been moving
    (``theta − earlier``).
    """
    moved = theta - earlier
    candidates = []
    top = np.max(np.abs(g), initial=0.0)
    for i in np.argsort(-np.abs(g)):
        if top == 0 or abs(g[i]) < RAY_SHARE * top or g[i] * moved[i] <= 0:
            continue
        unit = np.zeros_like(theta)
        unit[i] = np.sign(g[i])
        candidates.append(unit)
    if np.any(moved):
        candidates.append(moved / np.max(np.abs(moved)))
    evaluations = 0
    for direction in candidates:
        logps = _probe(logp_grad, theta, f, direction)
        evaluations += len(PROBE_LENGTHS)
        if logps is not None:
            return Runaway(theta.copy(), direction, PROBE_LENGTHS, logps), evaluations
    return None, evaluations


def find_mode(
    logp_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
    curvature: Callable[[np.ndarray], np.ndarray],
    theta0: np.ndarray,
    *,
    gtol: float = 1e-9,
    maxiter: int = 200,
    labels: Sequence[str] | None = None,
    raise_on_failure: bool = True,
    advice: str = "",
) -> ModeResult:
    """Maximise ``log p`` by damped Newton steps with the exact curvature.

    Parameters
    ----------
    logp_grad
        ``θ -> (log p(θ), ∇ log p(θ))``; ``log p = −∞`` (not an exception) outside the support.
    curvature
        ``θ -> C(θ)``: ``-∇² log p`` (Newton) or an expected information (Fisher scoring).
    theta0
        Starting point.
    gtol
        Converged when ``max |∇ log p| ≤ gtol · max(1, |log p|)``.
    maxiter
        Most iterations.
    labels
        Parameter labels, to name coordinates in an error.
    raise_on_failure
        Raise :class:`ModeNotFoundError` when not converged (else return the result).
    advice
        What to do when ``log p`` runs away along a ray, appended to that error's message.

    Returns
    -------
    ModeResult

    Raises
    ------
    NonFiniteLogDensityError
        If ``log p`` or its gradient is not finite at ``theta0``.
    ModeNotFoundError
        If ``log p`` keeps rising along a ray (its ``runaway`` says which), the gradient does
        not vanish within ``maxiter`` iterations, or no step improves ``log p``; when the
        search stalled at a kink of ``log p``, its ``kinks`` name the coordinates.

    Notes
    -----
    The step is ``s = (C + λ I)⁻¹ ∇ log p``; the line search accepts ``θ + t s`` when
    ``log p`` rises by at least ``10⁻⁴ t ∇ log pᵀ s`` (Armijo), or, once that rise is below the
    rounding error of ``log p``, when the gradient shrinks. A failed line search raises the
    Levenberg shift ``λ`` and retries, so steps shorten towards steepest ascent.

    When ``max |∇ log p|`` has not halved for ``STALL_WINDOW`` iterations, the search probes
    rays from where it stands: the direction it moved over those iterations, and each
    coordinate with a large gradient component that it moved uphill. If ``log p`` rises at
    each of ``θ + h d``, ``h = 1, 2, 4, 8``, by at least 1 in all, the search stops: either
    ``log p`` is unbounded along ``d`` or its mode lies far beyond where Newton's steps reach.
    A search that stalls otherwise checks each coordinate for a kink (module docstring).
    """
    theta = np.array(theta0, dtype=float)
    f, g = logp_grad(theta)
    evaluations = 1
    if not _finite(f, g):
        raise NonFiniteLogDensityError(
            f"log p = {f} or its gradient is not finite at the starting point; pass initvals."
        )

    def done(f: float, g: np.ndarray) -> bool:
        return bool(np.max(np.abs(g), initial=0.0) <= gtol * max(1.0, abs(f)))

    iterations = 0
    message = "converged"
    runaway = None
    best_gradient, best_at, best_theta = np.max(np.abs(g), initial=0.0), 0, theta
    while not done(f, g):
        if iterations >= maxiter:
            message = f"reached maxiter={maxiter}"
            break
        iterations += 1
        c = curvature(theta)
        scale = _scale(c)
        shift = 0.0
        accepted = False
        while not accepted:
            step, lam = _newton_step(c, g, shift)
            slope = float(g @ step)
            t = 1.0
            while t > MIN_STEP_FRACTION:
                trial = theta + t * step
                f_new, g_new = logp_grad(trial)
                evaluations += 1
                if _finite(f_new, g_new):
                    noise = NOISE_ULPS * _EPS * max(1.0, abs(f))
                    if f_new >= f + ARMIJO * t * slope or (
                        abs(f_new - f) <= noise and np.max(np.abs(g_new)) < np.max(np.abs(g))
                    ):
                        accepted = True
                        break
                t *= 0.5  # also when log p = −∞ there: the trial left the support
            if not accepted:
                if lam > SHIFT_CEILING * scale:
                    break
                shift = max(10.0 * lam, SHIFT_RETRY * scale)
        if not accepted:
            message = "no step along the ascent direction increases log p"
            break
        theta, f, g = trial, float(f_new), g_new
        gradient = np.max(np.abs(g), initial=0.0)
        if gradient < 0.5 * best_gradient:
            best_gradient, best_at, best_theta = gradient, iterations, theta
        elif iterations - best_at >= STALL_WINDOW:
            runaway, spent = _runaway(logp_grad, theta, f, g, best_theta)
            evaluations += spent
            if runaway is not None:
                message = "log p keeps rising along a ray"
                break
            best_gradient, best_at, best_theta = gradient, iterations, theta
    converged = done(f, g)
    max_abs = float(np.max(np.abs(g), initial=0.0))
    result = ModeResult(theta, float(f), g, iterations, evaluations, converged, max_abs, message)
    if converged or not raise_on_failure:
        return result
    if runaway is not None:
        raise ModeNotFoundError(_runaway_message(runaway, labels, result, advice), runaway)
    kinks = _kinks(logp_grad, theta, g)
    if kinks:
        raise ModeNotFoundError(_kink_message(kinks, labels, result), kinks=kinks)
    worst = int(np.argmax(np.abs(g))) if len(g) else 0
    where = f" (largest along {labels[worst]!r})" if labels else ""
    raise ModeNotFoundError(
        f"The mode search did not converge ({message}) after {iterations} iterations and "
        f"{evaluations} log-density evaluations: max |∇ log p| = {max_abs:.3g}{where}, "
        f"last log p = {f:.6g}, tolerance {gtol:.1g}·max(1, |log p|). Try other initvals, "
        "a larger maxiter, or check that the posterior has a mode (proper priors)."
    )


def _kinks(
    logp_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
    theta: np.ndarray,
    g: np.ndarray,
) -> tuple[Kink, ...]:
    """The coordinates along which ``log p`` has a concave kink at ``theta`` (module docstring).

    Four gradient evaluations per coordinate; a non-finite one rules the coordinate out.
    """
    floor = KINK_MIN_JUMP * max(1.0, float(np.max(np.abs(g), initial=0.0)))
    found = []
    for i in range(theta.size):
        scale = max(1.0, abs(float(theta[i])))
        sides = []
        for distance in KINK_DISTANCES:
            step = np.zeros_like(theta)
            step[i] = distance * scale
            left = logp_grad(theta - step)[1][i]
            right = logp_grad(theta + step)[1][i]
            sides.append((float(left), float(right)))
        (far_left, far_right), (left, right) = sides
        if not np.all(np.isfinite([far_left, far_right, left, right])):
            continue
        jump = left - right
        if jump > floor and jump >= KINK_PERSISTENCE * (far_left - far_right):
            found.append(Kink(i, left, right))
    return tuple(found)


def _kink_message(kinks: tuple[Kink, ...], labels: Sequence[str] | None, result: ModeResult) -> str:
    names = list(labels) if labels is not None else [f"θ[{i}]" for i in range(result.theta.size)]
    where = "; ".join(
        f"along {names[k.coordinate]} (at {result.theta[k.coordinate]:.4g}) it drops from "
        f"{k.left:.4g} just below to {k.right:.4g} just above"
        for k in kinks
    )
    return (
        f"The mode search stalled ({result.message}, after {result.iterations} iterations, "
        f"max |∇ log p| = {result.max_abs_gradient:.3g}) where log p is not differentiable: its "
        f"derivative jumps {where}. That is a kink of the log-density (a Laplace or "
        "AsymmetricLaplace prior at its location, an absolute value in a Potential): Newton's "
        "method cannot converge onto it, and if the mode sits there it has no Hessian, so no "
        "Laplace approximation exists. Sample with MCMC (pm.sample), or use a smooth prior "
        "(Normal, StudentT) in place of the kinked one."
    )


def _runaway_message(
    runaway: Runaway, labels: Sequence[str] | None, result: ModeResult, advice: str
) -> str:
    where = runaway.describe(labels)
    values = ", ".join(f"{value:.4g}" for value in runaway.logps)
    lengths = ", ".join(f"{h:g}" for h in runaway.lengths)
    text = (
        f"The density appears to have no mode: log p keeps rising along {where}. After "
        f"{result.iterations} iterations the search stood at log p = {result.logp:.6g} with "
        f"max |∇ log p| = {result.max_abs_gradient:.3g}; further along that ray, at distances "
        f"{lengths}, log p is {values}, still rising. Either log p is unbounded that way (as in "
        "a centered hierarchical model, whose density grows without bound as the group scale "
        "goes to 0 with every group effect at the mean) or its supremum is not attained "
        "(e.g. separable data under a flat prior)."
    )
    return f"{text} {advice}".rstrip()
