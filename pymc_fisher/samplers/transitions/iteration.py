"""One chain of RMHMC: warm-up adaptation and transitions, one iteration at a time or all of them.

:func:`chain_step` is one iteration — the step size in force, its jitter, a transition, the
dual-averaging update and the integration-time window — and is what the ``pm.sample`` step
method runs per draw. :func:`run_chain` runs a whole chain of them into preallocated
:class:`ChainArrays`; the compiled kernel has a twin of it (:mod:`.compiled.chain`) that runs
without the GIL, and the tests hold the two to each other draw by draw.

Numeric core: NumPy only.
"""

from __future__ import annotations

import numpy as np

from pymc_fisher.samplers.adaptation.integration_time import (
    IntegrationTimeState,
    integration_time,
    integration_time_init,
    integration_time_update,
)
from pymc_fisher.samplers.adaptation.step_size import (
    current_step_size,
    dual_averaging_init,
    dual_averaging_update,
    jittered_steps,
)
from pymc_fisher.samplers.core.chain import KIND_CODES, ChainArrays, ChainSettings, ChainState, Draw
from pymc_fisher.samplers.core.kernel import Kernel
from pymc_fisher.samplers.core.types import NutsInfo, PositionPoint, TransitionInfo
from pymc_fisher.samplers.metric.operations import condition_number
from pymc_fisher.samplers.transitions.fixed import fixed_transition
from pymc_fisher.samplers.transitions.nuts import nuts_transition

__all__ = [
    "chain_init",
    "chain_step",
    "record",
    "run_chain",
]


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
    capped = False
    if settings.nuts:
        used = eps
        position, info = nuts_transition(
            kernel, state.position, eps, rng, settings.max_treedepth, settings.solver
        )
        cond = condition_number(position.metric)
    else:
        used, n_steps, capped = jittered_steps(
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
    return new, Draw(info, used, bar, time.path_length, cond, capped)


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
        KIND_CODES[info.divergence], info.n_steps, info.fixed_point_iterations,
        info.gradient_evaluations, tree_depth, int(reached), int(draw.reached_max_steps),
    )  # fmt: skip


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
        if i >= settings.tune and draw.info.divergence not in ("none", "reversal"):
            progress[1] += 1
        progress[2] = draw.step_size
    return n, state
