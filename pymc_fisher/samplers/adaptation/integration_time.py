"""Automatic integration time: the slowness ratio, learned in warm-up.

With a position-dependent metric ``G(θ)`` coordinate ``k`` oscillates under the Hamiltonian flow
with a period of about ``2π √r_k``, where the *slowness ratio*

    r_k = Var_posterior(θ_k) / E_posterior[(G(θ)⁻¹)_kk]

compares the posterior's scale of ``θ_k`` with the scale the metric gives it. For a Gaussian
whose precision is the metric, every ``r_k = 1`` and a quarter period is ``π/2``; for Neal's
funnel the Fisher metric's ``G_vv = 1/9 + (d-1)/2`` is constant while ``Var(v) = 9``, so
``r_v = 41.5`` (d = 10) and ``v`` needs an integration time six times longer than the ``x``.

After a quarter period a harmonic coordinate is uncorrelated with its start, in its first and
its second moment; after half a period it is anti-correlated (``θ' ≈ -θ``: bulk ESS above the
number of draws while the tail ESS and the ESS of ``θ²`` collapse). The integration time is
therefore ``T = (π/2) √max_k r_k``, the slowest coordinate's quarter period; the faster ones,
through many periods, are randomised by the step-size jitter.

The ratio is estimated in Stan-style doubling windows of the warm-up (Welford moments of θ and
the running mean of ``diag G⁻¹`` at the chain's draws, from the factor each transition already
has), and shrunk towards 1 for short windows as Stan shrinks its mass-matrix estimates.

Numeric core: NumPy only; the functions a chain calls in warm-up are ``register_jitable``, so
the compiled chain loop (:mod:`.compiled.chain`) runs this very code.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba.extending import register_jitable

__all__ = [
    "INTEGRATION_TIME_FACTOR",
    "IntegrationTimeState",
    "WarmupSchedule",
    "integration_time",
    "integration_time_init",
    "integration_time_update",
    "slowness_ratio",
    "warmup_schedule",
]

#: ``T = INTEGRATION_TIME_FACTOR · √max r``: the slowest coordinate's quarter period, π/2 √r
#: (the default of ``AdaptationOptions.integration_time_factor``).
#: Measured with ``benchmarks/bench_integration_time.py`` (4 x 1000 after 1000, min(bulk, tail)
#: ESS per gradient): c = 1.6 against c = 2 gave German credit 1.5e-2 against 4.1e-3 (at c = 2
#: T = 2.5 is antithetic there and the tail ESS collapses), the funnel (d = 10) 6.6e-3 against
#: 7.2e-3 and centered eight schools 5.6e-3 against 5.1e-3, all above the best hand-tuned paths.
INTEGRATION_TIME_FACTOR = 0.5 * math.pi

#: Integration time before any estimate: a quarter period of a coordinate the metric resolves.
INITIAL_INTEGRATION_TIME = 0.5 * math.pi

# Stan's shrinkage of a window's estimate towards the prior value (here r = 1): n/(n+5).
_SHRINKAGE_DRAWS = 5.0


class WarmupSchedule(NamedTuple):
    """Where the warm-up windows end (Stan's layout: init buffer, doubling windows, term buffer).

    Attributes
    ----------
    window_ends
        Iteration indices (0-based, exclusive) at which an estimation window closes and the
        integration time is updated.
    window_starts
        The matching window starts.
    """

    window_starts: tuple[int, ...]
    window_ends: tuple[int, ...]


def warmup_schedule(
    tune: int, *, init_buffer: int = 75, term_buffer: int = 50, base_window: int = 25
) -> WarmupSchedule:
    """Stan's warm-up windows for ``tune`` iterations.

    Windows of ``25, 50, 100, ...`` iterations follow an initial buffer; the last one stretches
    to the terminal buffer. Short warm-ups (fewer than 150 iterations) use 15% / 75% / 10%, as
    Stan does.

    Examples
    --------
    >>> warmup_schedule(1000).window_ends
    (100, 150, 250, 450, 950)
    >>> warmup_schedule(100).window_ends
    (90,)
    """
    if tune < init_buffer + term_buffer + base_window:
        init_buffer = int(0.15 * tune)
        term_buffer = int(0.1 * tune)
        base_window = tune - init_buffer - term_buffer
    if base_window <= 0:
        return WarmupSchedule((), ())
    starts: list[int] = []
    ends: list[int] = []
    start, size = init_buffer, base_window
    last = tune - term_buffer
    while start + size <= last:
        end = start + size
        # a window whose successor would not fit takes the rest (Stan's rule)
        if end + 2 * size > last:
            end = last
        starts.append(start)
        ends.append(end)
        start, size = end, 2 * size
    return WarmupSchedule(tuple(starts), tuple(ends))


class IntegrationTimeState(NamedTuple):
    """Running moments of the current window and the integration time in force.

    Attributes
    ----------
    n
        Draws in the current window.
    mean, m2
        Welford mean and sum of squared deviations of θ over the window.
    inverse_diagonal
        Running mean of ``diag G(θ)⁻¹`` over the window.
    path_length
        The integration time ``T`` in force.
    slowness
        The last window's shrunk slowness ratios (ones before the first window closes).
    """

    n: int
    mean: np.ndarray
    m2: np.ndarray
    inverse_diagonal: np.ndarray
    path_length: float
    slowness: np.ndarray


def integration_time_init(
    size: int, path_length: float = INITIAL_INTEGRATION_TIME
) -> IntegrationTimeState:
    """A fresh window with ``path_length`` in force."""
    zeros = np.zeros(size)
    return IntegrationTimeState(0, zeros, zeros.copy(), zeros.copy(), path_length, np.ones(size))


@register_jitable
def integration_time_update(
    state: IntegrationTimeState, theta: np.ndarray, inverse_diagonal: np.ndarray
) -> IntegrationTimeState:
    """Add one draw ``θ`` (with ``diag G(θ)⁻¹``) to the current window (Welford's update)."""
    n = state.n + 1
    delta = theta - state.mean
    mean = state.mean + delta / n
    m2 = state.m2 + delta * (theta - mean)
    inv = state.inverse_diagonal + (inverse_diagonal - state.inverse_diagonal) / n
    return IntegrationTimeState(n, mean, m2, inv, state.path_length, state.slowness)


@register_jitable
def slowness_ratio(state: IntegrationTimeState) -> np.ndarray:
    """The window's slowness ratios ``r_k``, shrunk towards 1 as Stan shrinks variances.

    ``r̂ = (n / (n + 5)) · s²/ḡ + (5 / (n + 5)) · 1`` with ``s²`` the window's sample variance
    of θ and ``ḡ`` its mean of ``diag G⁻¹``.
    """
    n = state.n
    if n < 2:
        return np.ones(state.mean.size)
    variance = state.m2 / (n - 1)
    raw = variance / state.inverse_diagonal
    w = n / (n + _SHRINKAGE_DRAWS)
    return w * raw + (1.0 - w)


@register_jitable
def integration_time(
    state: IntegrationTimeState, factor: float = INTEGRATION_TIME_FACTOR
) -> IntegrationTimeState:
    """Close the window: ``T = factor · √max(1, max_k r̂_k)``, and start an empty window.

    Ratios below 1 (a metric stiffer than the posterior needs; they arise only from noise or
    from a metric that over-resolves) never shorten ``T`` below that of ``r = 1``.
    ``register_jitable``: the compiled chain loop compiles this very function.
    """
    r = slowness_ratio(state)
    r_max = 1.0
    for value in r:
        if np.isfinite(value) and value > r_max:
            r_max = value
    zeros = np.zeros(state.mean.size)
    return IntegrationTimeState(0, zeros, zeros.copy(), zeros.copy(), factor * math.sqrt(r_max), r)
