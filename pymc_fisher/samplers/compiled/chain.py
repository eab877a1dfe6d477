"""A whole RMHMC chain compiled with Numba: the twin of :func:`.chain.run_chain`.

Warm-up adaptation (dual averaging, the integration-time windows; the very functions of
:mod:`.adaptation.step_size` and :mod:`.adaptation.integration_time`, which are
``register_jitable``), transitions and the recording into preallocated arrays run in one compiled
loop that holds no GIL, so ``pmf.sample`` runs chains in threads with no Python per draw. The random
numbers come from the chain's ``numpy.random.Generator``, drawn in the order
:func:`.chain.chain_step` draws them, so the two loops give the same chain. Fixed trajectories only
(``trajectory="nuts"`` runs the reference loop).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from pymc_fisher.samplers.adaptation.integration_time import (
    integration_time,
    integration_time_update,
)
from pymc_fisher.samplers.adaptation.step_size import (
    current_step_size,
    dual_averaging_update,
    jittered_steps,
)
from pymc_fisher.samplers.compiled.integrator import NONE, REVERSAL, transition
from pymc_fisher.samplers.core.chain import ChainState

__all__ = ["run_chain"]

_jit = nb.njit(cache=True, nogil=True)


@_jit
def _window_update(time, settings, i, position):
    """Feed iteration ``i``'s draw to its window; at a window's end, update ``T``."""
    for w in range(settings.window_starts.size):
        if settings.window_starts[w] <= i < settings.window_ends[w]:
            time = integration_time_update(
                time, position.theta, np.ascontiguousarray(np.diag(position.metric.inverse))
            )
            if i + 1 == settings.window_ends[w]:
                time = integration_time(time, settings.integration_time_factor)
            break
    return time


@_jit
def run_chain(model, state, settings, rng, theta_out, floats, ints, progress, stop):
    """Run a chain from iteration ``state.iteration`` to ``tune + draws``.

    The reference is :func:`.chain.run_chain`. Returns ``(iterations done, final state)``;
    ``progress`` is ``[iterations, divergences after tuning, step size]``, and the loop ends
    early when ``stop[0]`` is set.
    """
    n = settings.tune + settings.draws
    solver = settings.solver
    for i in range(state.iteration, n):
        if stop[0]:
            return i, state
        tuning = i < settings.tune
        eps, bar = current_step_size(state.step_size, tuning and settings.adapt_step_size)
        time = state.integration_time
        used, n_steps, capped = jittered_steps(
            eps, time.path_length, settings.step_size_jitter,
            settings.integration_time_jitter, settings.max_steps, rng,
        )  # fmt: skip
        z = rng.standard_normal(state.position.theta.size)
        log_u = np.log(rng.uniform())
        pos, code, _, rate, error, energy, steps, its, res, evals, cond = transition(
            model, state.position, z, log_u, used, n_steps, solver
        )
        da = state.step_size
        if tuning and settings.adapt_step_size:
            da = dual_averaging_update(da, rate, settings.target_accept)
        if tuning and settings.adapt_path_length:
            time = _window_update(time, settings, i, pos)
        state = ChainState(pos, da, time, i + 1)
        theta_out[i, :] = pos.theta
        floats[i, 0] = energy
        floats[i, 1] = error
        floats[i, 2] = used
        floats[i, 3] = bar
        floats[i, 4] = rate
        floats[i, 5] = pos.logp
        floats[i, 6] = res
        floats[i, 7] = pos.metric.logdet
        floats[i, 8] = cond
        floats[i, 9] = time.path_length
        ints[i, 0] = code
        ints[i, 1] = steps
        ints[i, 2] = its
        ints[i, 3] = evals
        ints[i, 4] = 0
        ints[i, 5] = 0
        ints[i, 6] = capped
        progress[0] = i + 1
        if not tuning and code != NONE and code != REVERSAL:
            progress[1] += 1
        progress[2] = used
    return n, state
