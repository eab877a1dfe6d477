"""A chain's settings, state and records: what the chain loops (reference and compiled) share.

The record layout (:data:`FLOAT_STATS`, :data:`INT_STATS`) is the ``sample_stats`` of a run.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pymc_fisher.samplers.adaptation.integration_time import IntegrationTimeState
from pymc_fisher.samplers.adaptation.step_size import DualAveragingState
from pymc_fisher.samplers.core.options import SolverOptions
from pymc_fisher.samplers.core.types import (
    DIVERGENCE_KINDS,
    NutsInfo,
    PositionPoint,
    TransitionInfo,
)

__all__ = [
    "FLOAT_STATS",
    "INT_STATS",
    "KIND_CODES",
    "ChainArrays",
    "ChainSettings",
    "ChainState",
    "Draw",
    "chain_arrays",
]

#: Columns of :attr:`ChainArrays.floats` and :attr:`ChainArrays.ints` (``sample_stats`` names).
FLOAT_STATS = (
    "energy", "energy_error", "step_size", "step_size_bar", "acceptance_rate", "lp",
    "fixed_point_residual", "metric_logdet", "metric_condition_number", "path_length",
)  # fmt: skip
INT_STATS = (
    "divergence_kind", "n_steps", "fixed_point_iterations", "gradient_evaluations",
    "tree_depth", "reached_max_treedepth", "reached_max_steps",
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
        The integration-time estimation windows
        (:func:`~.adaptation.integration_time.warmup_schedule`).
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
        The transition's statistics (:class:`~.core.types.TransitionInfo` or
        :class:`~.core.types.NutsInfo`).
    step_size, step_size_bar
        The (jittered) step size used and dual averaging's ``ε̄``.
    path_length
        The integration time in force after this iteration.
    condition_number
        Condition number of the metric at the returned position.
    reached_max_steps
        Whether ``max_steps`` cut the fixed trajectory short of the integration time.
    """

    info: TransitionInfo | NutsInfo
    step_size: float
    step_size_bar: float
    path_length: float
    condition_number: float
    reached_max_steps: bool = False


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


#: ``divergence_kind`` codes of the chain records.
KIND_CODES = {kind: code for code, kind in enumerate(DIVERGENCE_KINDS)}
