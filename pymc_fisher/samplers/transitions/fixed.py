"""The fixed-length transition of any kernel: draw the randomness, then run the kernel's.

Kernel-agnostic: the reference (:mod:`..reference.trajectory`) and the compiled kernel both
implement ``Kernel.transition``; this draws what they consume, in one order.
"""

from __future__ import annotations

import numpy as np

from pymc_fisher.samplers.core.kernel import Kernel
from pymc_fisher.samplers.core.options import SolverOptions
from pymc_fisher.samplers.core.types import PositionPoint, TransitionInfo

__all__ = ["fixed_transition"]


def fixed_transition(
    kernel: Kernel,
    point: PositionPoint,
    step_size: float,
    n_steps: int,
    rng: np.random.Generator,
    options: SolverOptions,
) -> tuple[PositionPoint, TransitionInfo]:
    """Draw the momentum and the Metropolis uniform, then run ``kernel``'s transition.

    Both draws come first, so every kernel consumes the generator alike: the reference and the
    compiled kernel give the same chain from the same generator.
    """
    z = rng.standard_normal(point.theta.size)
    log_u = float(np.log(rng.uniform()))
    return kernel.transition(point, z, log_u, float(step_size), int(n_steps), options)
