"""The Numba kernel: the compiled integrator, transition and chain behind a :class:`Kernel`."""

from __future__ import annotations

from typing import Any

import numpy as np

from pymc_fisher.samplers.compiled import binding as nbind
from pymc_fisher.samplers.compiled.integrator import DIRECT, SOFTABS
from pymc_fisher.samplers.core.chain import ChainArrays, ChainSettings, ChainState
from pymc_fisher.samplers.core.kernel import Kernel
from pymc_fisher.samplers.core.options import SolverOptions
from pymc_fisher.samplers.core.types import (
    DIVERGENCE_KINDS as KINDS,
)
from pymc_fisher.samplers.core.types import (
    IntegratorState,
    LeapfrogReport,
    PositionPoint,
    TransitionInfo,
)
from pymc_fisher.samplers.metric.operations import Metric

__all__ = ["compiled_kernel"]


def compiled_kernel(compiled: Any, metric: Metric) -> Kernel:
    """The Numba kernel of a model compiled by :func:`~.drivers.model.compile_model`.

    Raises
    ------
    NoKernelError
        When the model's functions have no Numba body the kernel can call.
    """
    ev_vm: Any = compiled.evaluate.vm  # the JIT linker's thunk: jit_fn and its input cells
    ct_vm: Any = compiled.contract.vm
    if not (hasattr(ev_vm, "jit_fn") and hasattr(ct_vm, "jit_fn")):
        raise nbind.NoKernelError("the model's functions were not compiled by Numba")

    def extra() -> tuple[tuple, tuple]:
        return tuple(c[0] for c in ev_vm.inputs[1:]), tuple(c[0] for c in ct_vm.inputs[2:])

    kind = SOFTABS if metric.name == "softabs" else DIRECT
    bound = nbind.Bound(ev_vm.jit_fn, ct_vm.jit_fn, *extra(), compiled.size, kind, metric.alpha)
    empty = bound.empty_state  # a state whose position the calls below replace

    def sync() -> None:
        bound.set_extra(*extra())

    def evaluate(theta: np.ndarray) -> PositionPoint | str:
        # a copy: the position keeps it, and the caller's array may change or be read-only
        out = bound.run(nbind.EVALUATE, theta=np.array(theta, dtype=np.float64))
        return out.state.position if out.code == 0 else KINDS[out.code]

    def start(position: PositionPoint, p: np.ndarray) -> IntegratorState:
        state = empty._replace(position=position)
        vector = np.ascontiguousarray(p, dtype=np.float64)
        return bound.run(nbind.START, state=state, vector=vector).state

    def leapfrog(
        state: IntegratorState, step_size: float, options: SolverOptions
    ) -> tuple[IntegratorState, LeapfrogReport]:
        out = bound.run(
            nbind.LEAPFROG, state=state, step_size=float(step_size),
            options=nbind.solver_options(options),
        )  # fmt: skip
        it_p, it_q, n, _ = (int(c) for c in out.counts)
        report = LeapfrogReport(KINDS[out.code], it_p, it_q, float(out.values[0]), n)
        return (state if out.code else out.state), report

    def transition(
        position: PositionPoint, z: np.ndarray, log_u: float, step_size: float, n_steps: int,
        options: SolverOptions,
    ) -> tuple[PositionPoint, TransitionInfo]:  # fmt: skip
        out = bound.run(
            nbind.TRANSITION, state=empty._replace(position=position),
            vector=np.ascontiguousarray(z, np.float64), log_u=float(log_u),
            step_size=float(step_size), n_steps=int(n_steps),
            options=nbind.solver_options(options),
        )  # fmt: skip
        steps, its, n, accepted = (int(c) for c in out.counts)
        res, rate, error, energy, cond = (float(v) for v in out.values)
        info = TransitionInfo(
            bool(accepted), rate, error, energy, KINDS[out.code], steps, its, res, n, cond,
        )  # fmt: skip
        # a rejected or divergent transition returns the start: keep its Python object
        return (out.state.position if info.accepted else position), info

    def chain(
        state: ChainState, settings: ChainSettings, rng: np.random.Generator, arrays: ChainArrays,
        progress: np.ndarray, stop: np.ndarray,
    ) -> tuple[int, ChainState]:  # fmt: skip
        settings = settings._replace(solver=nbind.solver_options(settings.solver))
        arrays_ = (arrays.theta, arrays.floats, arrays.ints)
        return bound.chain(state, settings, rng, arrays_, progress, stop)

    return Kernel("compiled", evaluate, start, leapfrog, transition, chain, sync)
