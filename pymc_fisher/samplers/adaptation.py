"""Step-size adaptation by dual averaging, and the step-size jitter.

Numeric core: NumPy only.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = [
    "DualAveragingState",
    "dual_averaging_init",
    "dual_averaging_update",
    "jittered_steps",
]


class DualAveragingState(NamedTuple):
    """State of Nesterov dual averaging of ``log ε`` (Hoffman & Gelman 2014, Algorithm 5).

    Attributes
    ----------
    log_step
        Current ``log ε`` (used while tuning).
    log_step_bar
        Averaged ``log ε̄`` (used after tuning).
    h_bar
        Running average of ``target - acceptance``.
    mu
        Shrinkage point ``log(10 ε₀)``.
    n_updates
        Number of updates.
    """

    log_step: float
    log_step_bar: float
    h_bar: float
    mu: float
    n_updates: int


def dual_averaging_init(step_size: float) -> DualAveragingState:
    """Start dual averaging at ``step_size`` with ``μ = log(10 ε₀)``.

    Examples
    --------
    >>> s = dual_averaging_init(0.5)
    >>> round(math.exp(s.log_step), 3)
    0.5
    """
    log_eps = math.log(step_size)
    return DualAveragingState(log_eps, log_eps, 0.0, math.log(10.0 * step_size), 0)


def dual_averaging_update(
    state: DualAveragingState,
    acceptance: float,
    target: float,
    *,
    gamma: float = 0.05,
    t0: float = 10.0,
    kappa: float = 0.75,
) -> DualAveragingState:
    """One dual-averaging update towards ``target`` acceptance.

    Parameters
    ----------
    state
        Current state.
    acceptance
        Acceptance statistic of the last transition (0 for a divergence).
    target
        Target acceptance rate.
    gamma, t0, kappa
        Hoffman & Gelman's constants (PyMC's defaults).

    Returns
    -------
    DualAveragingState

    Notes
    -----
    ``H̄ₜ = (1 - 1/(t+t₀)) H̄ₜ₋₁ + (δ - αₜ)/(t+t₀)``, ``log εₜ = μ - √t H̄ₜ / γ``,
    ``log ε̄ₜ = t^{-κ} log εₜ + (1 - t^{-κ}) log ε̄ₜ₋₁``.
    """
    count = state.n_updates + 1
    w = 1.0 / (count + t0)
    h_bar = (1.0 - w) * state.h_bar + w * (target - acceptance)
    log_step = state.mu - math.sqrt(count) / gamma * h_bar
    m = count**-kappa
    log_step_bar = m * log_step + (1.0 - m) * state.log_step_bar
    return DualAveragingState(log_step, log_step_bar, h_bar, state.mu, count)


def jittered_steps(
    step_size: float,
    path_length: float,
    jitter: float,
    max_steps: int,
    rng: np.random.Generator,
) -> tuple[float, int]:
    """Jittered step size and the number of steps that covers ``path_length``.

    Parameters
    ----------
    step_size
        Nominal step size ε.
    path_length
        Nominal integration time; the number of steps is ``ceil(path_length / ε)``.
    jitter
        The step size used is ``ε · U(1 - jitter, 1 + jitter)``, so the integration time
        varies between transitions and no chain locks onto a periodic orbit.
    max_steps
        Upper bound on the number of steps.
    rng
        Random generator.

    Returns
    -------
    tuple
        ``(step size used, number of steps)``.
    """
    n_steps = int(min(max_steps, max(1, math.ceil(path_length / step_size))))
    eps = step_size * (1.0 + jitter * (2.0 * rng.uniform() - 1.0))
    return eps, n_steps
