"""The NumPy reference kernel of a :class:`~..core.types.RiemannianSystem`."""

from __future__ import annotations

from typing import Any

import numpy as np

from pymc_fisher.samplers.core.chain import ChainArrays, ChainSettings, ChainState
from pymc_fisher.samplers.core.kernel import Kernel
from pymc_fisher.samplers.core.options import SolverOptions
from pymc_fisher.samplers.core.types import (
    IntegratorState,
    LeapfrogReport,
    PositionPoint,
    RiemannianSystem,
    TransitionInfo,
)
from pymc_fisher.samplers.reference.integrator import generalized_leapfrog, integrator_state
from pymc_fisher.samplers.reference.trajectory import Leapfrog
from pymc_fisher.samplers.reference.trajectory import transition as reference_transition
from pymc_fisher.samplers.transitions.iteration import run_chain

__all__ = ["reference_kernel"]


def reference_kernel(
    system: RiemannianSystem, *, leapfrog: Leapfrog = generalized_leapfrog
) -> Kernel:
    """The NumPy reference kernel of a :class:`~.core.types.RiemannianSystem`.

    ``leapfrog`` is its integrator: the generalized leapfrog (default), or another symmetric,
    volume-preserving step of the same signature (:func:`~.reference.blockwise.blockwise_kernel`).
    """
    integrator = leapfrog

    def step(
        state: IntegratorState, step_size: float, options: SolverOptions
    ) -> tuple[IntegratorState, LeapfrogReport]:
        return integrator(system, state, step_size, options)

    def transition(
        position: PositionPoint, z: np.ndarray, log_u: float, step_size: float, n_steps: int,
        options: SolverOptions,
    ) -> tuple[PositionPoint, TransitionInfo]:  # fmt: skip
        return reference_transition(
            system, position, z, log_u, step_size, n_steps, options, integrator
        )

    def start(position: PositionPoint, p: np.ndarray) -> IntegratorState:
        return integrator_state(system, position, p)

    kernel = Kernel("reference", system.evaluate, start, step, transition, _no_chain, _nothing)

    def chain(
        state: ChainState, settings: ChainSettings, rng: np.random.Generator, arrays: ChainArrays,
        progress: np.ndarray, stop: np.ndarray,
    ) -> tuple[int, ChainState]:  # fmt: skip
        return run_chain(kernel, state, settings, rng, arrays, progress, stop)

    return kernel._replace(chain=chain)


def _no_chain(*args: Any) -> tuple[int, ChainState]:  # replaced at construction
    raise NotImplementedError


def _nothing() -> None:
    return None
