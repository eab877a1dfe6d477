"""The kernel: one bundle of functions that a sampler runs, whichever implementation runs it.

A :class:`Kernel` evaluates a position, starts a phase-space state, takes one generalized
leapfrog step, makes one fixed-length transition and runs a whole chain. Two constructors make
one: :func:`~.reference.kernel.reference_kernel` (NumPy, readable, any
:class:`~.types.RiemannianSystem`) and :func:`~.compiled.kernel.compiled_kernel`
(the same algorithm compiled with Numba). Both take and return the same named tuples; nothing
downstream knows which one runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import numpy as np

from pymc_fisher.samplers.core.chain import ChainState
from pymc_fisher.samplers.core.options import SolverOptions
from pymc_fisher.samplers.core.types import IntegratorState, PositionPoint, TransitionInfo

__all__ = ["Kernel", "KernelFallbackWarning"]


class KernelFallbackWarning(UserWarning):
    """The compiled kernel cannot run this model; the (slower) NumPy reference runs instead."""


class Kernel(NamedTuple):
    """What a sampler calls; the same signatures for the reference and the compiled kernel.

    Attributes
    ----------
    name
        ``"reference"`` or ``"compiled"``.
    evaluate
        ``θ -> PositionPoint``, or the divergence kind (``"energy"``, ``"metric"``) that makes
        θ unusable.
    start
        ``(position, p) -> IntegratorState``: the energy and ``∇_θH`` at ``(θ, p)``.
    leapfrog
        ``(state, ε, options) -> (state, LeapfrogReport)``: one generalized-leapfrog step.
    transition
        ``(position, z, log u, ε, n_steps, options) -> (position, TransitionInfo)``: one
        fixed-length transition given its random numbers.
    chain
        ``(state, settings, rng, arrays, progress, stop) -> (iterations done, state)``: a whole
        chain into preallocated arrays (:func:`.chain.run_chain`).
    sync
        Read the current values of the model's shared inputs (the compiled kernel reads data
        by address; a compound step calls this before each transition).
    """

    name: Literal["reference", "compiled"]
    evaluate: Callable[[np.ndarray], PositionPoint | str]
    start: Callable[[PositionPoint, np.ndarray], IntegratorState]
    leapfrog: Callable[[IntegratorState, float, SolverOptions], tuple[IntegratorState, Any]]
    transition: Callable[..., tuple[PositionPoint, TransitionInfo]]
    chain: Callable[..., tuple[int, ChainState]]
    sync: Callable[[], None]
