"""One chain of RMHMC: warm-up adaptation and transitions, one iteration at a time or all of them.

:func:`chain_step` is one iteration — the step size in force, its jitter, a transition, the
dual-averaging update and the integration-time window — and is what the ``pm.sample`` step
method runs per draw. :func:`run_chain` runs a whole chain of them into preallocated
:class:`ChainArrays`; the compiled kernel has a twin of it (:mod:`.numba_chain`) that runs
without the GIL, and the tests hold the two to each other draw by draw.

Numeric core: NumPy only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from pymc_fisher.samplers.adaptation import (
    DualAveragingState,
    current_step_size,
    dual_averaging_init,
    dual_averaging_update,
    jittered_steps,
)
from pymc_fisher.samplers.integration_time import (
    IntegrationTimeState,
    integration_time,
    integration_time_init,
    integration_time_update,
)
from pymc_fisher.samplers.integrator import PositionPoint
from pymc_fisher.samplers.metrics import condition_number
from pymc_fisher.samplers.nuts import NutsInfo, nuts_transition
from pymc_fisher.samplers.options import SolverOptions
from pymc_fisher.samplers.trajectory import TransitionInfo, fixed_transition

if TYPE_CHECKING:
    from pymc_fisher.samplers.kernel import Kernel

__all__ = [
    "FLOAT_STATS",
    "INT_STATS",
    "ChainArrays",
    "ChainSettings",
    "ChainState",
    "Draw",
    "chain_arrays",
    "chain_init",
    "chain_step",
    "record",
    "run_chain",
]

#: Columns of :attr:`ChainArrays.floats` and :attr:`ChainArrays.ints` (``sample_stats`` names).
FLOAT_STATS = (
    "energy", "energy_error", "step_size", "step_size_bar", "acceptance_rate", "lp",
    "fixed_point_residual", "metric_logdet", "metric_condition_number", "path_length",
)  # fmt: skip
INT_STATS = (
    "divergence_kind", "n_steps", "fixed_point_iterations", "gradient_evaluations",
    "tree_depth", "reached_max_treedepth",
)  # fmt: skip


class ChainSettings(NamedTuple):
    """What one chain runs with (fixed for the chain).

    Attributes
    ----------
    tune, draws
        Tuning iterations, then sampling iterations.
    target_accept
        Dual averaging's target acceptance rate.
    adapt_step_size, adapt_path_length
        Whether warm-up tunes the step size, and the integration time.
    step_size_jitter, integration_time_jitter
        Relative jitter of the step size, and of the integration time.
    max_steps
        Upper bound on leapfrog steps per transition.
    window_starts, window_ends
        The integration-time estimation windows (:func:`~.integration_time.warmup_schedule`).
    integration_time_factor
        ``c`` of ``T = c √max_k r_k``.
    nuts, max_treedepth
        The Riemannian No-U-Turn trajectory instead of the fixed one, and its depth limit.
    solver
        The implicit solves and the divergence threshold.
    """

    tune: int
    draws: int
    target_accept: float
    adapt_step_size: bool
    adapt_path_length: bool
    step_size_jitter: float
    integration_time_jitter: float
    max_steps: int
    window_starts: np.ndarray
    window_ends: np.ndarray
    integration_time_factor: float
    nuts: bool
    max_treedepth: int
    solver: SolverOptions


class ChainState(NamedTuple):
    """Where a chain is: its position and its adaptation.

    Attributes
    ----------
    position
        The current position (evaluated).
    step_size
        Dual-averaging state.
    integration_time
        Integration-time window and the integration time ``T`` in force.
    iteration
        Iterations done (tuning included).
    """

    position: PositionPoint
    step_size: DualAveragingState
    integration_time: IntegrationTimeState
    iteration: int


class Draw(NamedTuple):
    """What one iteration reports beside the new position.

    Attributes
    ----------
    info
        The transition's statistics (:class:`~.trajectory.TransitionInfo` or
        :class:`~.nuts.NutsInfo`).
    step_size, step_size_bar
        The (jittered) step size used and dual averaging's ``ε̄``.
    path_length
        The integration time in force after this iteration.
    condition_number
        Condition number of the metric at the returned position.
    """

    info: TransitionInfo | NutsInfo
    step_size: float
    step_size_bar: float
    path_length: float
    condition_number: float


class ChainArrays(NamedTuple):
    """A chain's preallocated records, one row per iteration (tuning first).

    Attributes
    ----------
    theta
        ``(tune + draws, d)`` positions.
    floats, ints
        Statistics, columns as :data:`FLOAT_STATS` and :data:`INT_STATS`.
    """

    theta: np.ndarray
    floats: np.ndarray
    ints: np.ndarray


def chain_arrays(n: int, d: int) -> ChainArrays:
    """Empty records for ``n`` iterations of a ``d``-dimensional chain."""
    return ChainArrays(
        np.zeros((n, d)), np.zeros((n, len(FLOAT_STATS))), np.zeros((n, len(INT_STATS)), np.int64)
    )


def chain_init(position: PositionPoint, step_size: float, path_length: float) -> ChainState:
    """A chain at ``position`` before its first iteration."""
    return ChainState(
        position,
        dual_averaging_init(step_size),
        integration_time_init(position.theta.size, path_length),
        0,
    )


def _window_update(
    time: IntegrationTimeState, settings: ChainSettings, i: int, position: PositionPoint
) -> IntegrationTimeState:
    """Feed the draw of iteration ``i`` to its warm-up window; at a window's end, update ``T``."""
    for start, end in zip(settings.window_starts, settings.window_ends, strict=True):
        if start <= i < end:
            time = integration_time_update(time, position.theta, position.metric.inverse.diagonal())
            if i + 1 == end:
                time = integration_time(time, settings.integration_time_factor)
            break
    return time


def chain_step(
    kernel: Kernel, state: ChainState, settings: ChainSettings, rng: np.random.Generator
) -> tuple[ChainState, Draw]:
    """One iteration: a transition with the step size in force, then the warm-up updates.

    The random numbers are drawn in a fixed order (the step-size jitter, then the
    transition's), so the compiled chain loop consumes the generator alike.
    """
    i = state.iteration
    tuning = i < settings.tune
    eps, bar = current_step_size(state.step_size, tuning and settings.adapt_step_size)
    info: TransitionInfo | NutsInfo
    if settings.nuts:
        used = eps
        position, info = nuts_transition(
            kernel, state.position, eps, rng, settings.max_treedepth, settings.solver
        )
        cond = condition_number(position.metric)
    else:
        used, n_steps = jittered_steps(
            eps,
            state.integration_time.path_length,
            settings.step_size_jitter,
            settings.integration_time_jitter,
            settings.max_steps,
            rng,
        )
        position, info = fixed_transition(
            kernel, state.position, used, n_steps, rng, settings.solver
        )
        cond = info.condition_number
    da, time = state.step_size, state.integration_time
    if tuning and settings.adapt_step_size:
        da = dual_averaging_update(da, info.acceptance_rate, settings.target_accept)
    if tuning and settings.adapt_path_length:
        time = _window_update(time, settings, i, position)
    new = ChainState(position, da, time, i + 1)
    return new, Draw(info, used, bar, time.path_length, cond)


def record(out: ChainArrays, i: int, position: PositionPoint, draw: Draw) -> None:
    """Write iteration ``i`` into the chain's records."""
    info = draw.info
    tree_depth, reached = (info.tree_depth, info.reached_max_treedepth) if isinstance(
        info, NutsInfo
    ) else (0, False)  # fmt: skip
    out.theta[i] = position.theta
    out.floats[i] = (
        info.energy, info.energy_error, draw.step_size, draw.step_size_bar, info.acceptance_rate,
        position.logp, info.fixed_point_residual, position.metric.logdet, draw.condition_number,
        draw.path_length,
    )  # fmt: skip
    out.ints[i] = (
        _KIND_CODES[info.divergence], info.n_steps, info.fixed_point_iterations,
        info.gradient_evaluations, tree_depth, int(reached),
    )  # fmt: skip


_KIND_CODES = {"none": 0, "energy": 1, "solver": 2, "metric": 3, "reversal": 4}


def run_chain(
    kernel: Kernel,
    state: ChainState,
    settings: ChainSettings,
    rng: np.random.Generator,
    out: ChainArrays,
    progress: np.ndarray,
    stop: np.ndarray,
) -> tuple[int, ChainState]:
    """Run a chain from iteration ``state.iteration`` to ``tune + draws`` into ``out``.

    The reference of the compiled chain loop. ``progress`` (``[iterations done, divergences
    after tuning, step size]``) is written after every iteration; the loop ends early when
    ``stop[0]`` is set. Returns the number of iterations done and the chain's state (so a
    warm-up run with ``draws=0`` can be followed by the sampling run from its state).
    """
    n = settings.tune + settings.draws
    for i in range(state.iteration, n):
        if stop[0]:
            return i, state
        state, draw = chain_step(kernel, state, settings, rng)
        record(out, i, state.position, draw)
        progress[0] = i + 1
        if i >= settings.tune and draw.info.divergence != "none":
            progress[1] += 1
        progress[2] = draw.step_size
    return n, state
