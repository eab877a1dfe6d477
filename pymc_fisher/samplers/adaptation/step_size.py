"""Step-size adaptation by dual averaging, and the step-size jitter.

Numeric core: NumPy only; the functions a chain calls are ``register_jitable``, so the compiled
chain loop (:mod:`.compiled.chain`) runs this very code.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba.extending import register_jitable

__all__ = [
    "DUAL_AVERAGING_GAMMA",
    "DUAL_AVERAGING_KAPPA",
    "DUAL_AVERAGING_T0",
    "DualAveragingState",
    "current_step_size",
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


#: Hoffman & Gelman's dual-averaging constants (PyMC's and Stan's defaults).
DUAL_AVERAGING_GAMMA, DUAL_AVERAGING_T0, DUAL_AVERAGING_KAPPA = 0.05, 10.0, 0.75


@register_jitable
def dual_averaging_update(
    state: DualAveragingState, acceptance: float, target: float
) -> DualAveragingState:
    """One dual-averaging update towards ``target`` acceptance.

    Parameters
    ----------
    state
        Current state.
    acceptance
        Acceptance statistic of the last transition (0 for a divergence or a rejected
        reversal).
    target
        Target acceptance rate.

    Returns
    -------
    DualAveragingState

    Notes
    -----
    ``H̄ₜ = (1 - 1/(t+t₀)) H̄ₜ₋₁ + (δ - αₜ)/(t+t₀)``, ``log εₜ = μ - √t H̄ₜ / γ``,
    ``log ε̄ₜ = t^{-κ} log εₜ + (1 - t^{-κ}) log ε̄ₜ₋₁`` with γ = 0.05, t₀ = 10, κ = 0.75.
    ``register_jitable``: the compiled chain loop compiles this very function.
    """
    count = state.n_updates + 1
    w = 1.0 / (count + DUAL_AVERAGING_T0)
    h_bar = (1.0 - w) * state.h_bar + w * (target - acceptance)
    log_step = state.mu - math.sqrt(count) / DUAL_AVERAGING_GAMMA * h_bar
    m = count**-DUAL_AVERAGING_KAPPA
    log_step_bar = m * log_step + (1.0 - m) * state.log_step_bar
    return DualAveragingState(log_step, log_step_bar, h_bar, state.mu, count)


@register_jitable
def current_step_size(state: DualAveragingState, tuning: bool) -> tuple[float, float]:
    """``(ε, ε̄)``: the step size in force (``ε`` while tuning, ``ε̄`` after) and ``ε̄``."""
    bar = math.exp(state.log_step_bar)
    return (math.exp(state.log_step) if tuning else bar), bar


@register_jitable
def jittered_steps(
    step_size: float,
    path_length: float,
    jitter: float,
    time_jitter: float,
    max_steps: int,
    rng: np.random.Generator,
) -> tuple[float, int, bool]:
    """Jittered step size and a number of steps whose mean integration time is ``path_length``.

    Parameters
    ----------
    step_size
        Nominal step size ε.
    path_length
        Nominal integration time ``T``.
    jitter
        The step size used is ``ε' = ε · U(1 - jitter, 1 + jitter)``, so the integration time
        varies between transitions and no chain locks onto a periodic orbit.
    time_jitter
        The integration time used is ``T' = T · U(1 - time_jitter, 1 + time_jitter)``.
    max_steps
        Upper bound on the number of steps.
    rng
        Random generator (three uniform draws: the step size's jitter, the integration time's,
        then the rounding).

    Returns
    -------
    tuple
        ``(step size used, number of steps, whether max_steps cut the trajectory)``.

    Notes
    -----
    The number of steps is ``T' / ε'`` rounded at random, ``⌊T'/ε' + U⌋`` with ``U ~ U(0, 1)``
    (at least 1), so that its mean is ``T/ε'``: rounding up, ``⌈T/ε⌉``, spent up to one step
    more than ``T`` asks on every transition (measured on the README's logistic regression, where
    ``T/ε ≈ 2.1``: 3 steps instead of a mean of 2.1). The step size's jitter alone leaves the
    integration time at about ``T`` (the number of steps follows ``ε'``); a coordinate whose
    period ``T`` is about twice would then be antithetic at every transition, its tail ESS
    collapsing, which the integration time's own jitter prevents (the jittered trajectory
    lengths of ChEES-HMC, Hoffman, Radul & Sountsov 2021). The draws are independent of the
    state, so the transition is a mixture of reversible kernels and stays exact.
    """
    eps = step_size * (1.0 + jitter * (2.0 * rng.uniform() - 1.0))
    length = path_length * (1.0 + time_jitter * (2.0 * rng.uniform() - 1.0))
    n_steps = math.floor(length / eps + rng.uniform())
    return eps, min(max_steps, max(1, n_steps)), n_steps > max_steps
