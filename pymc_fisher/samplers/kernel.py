"""The kernel: one bundle of functions that a sampler runs, with two constructors.

A :class:`Kernel` evaluates a position, starts a phase-space state, takes one generalized
leapfrog step, makes one fixed-length transition and runs a whole chain. It is built once,
when a step method or ``pmf.sample`` is set up (as blackjax builds its kernels):

- :func:`reference_kernel`: the NumPy reference (:mod:`.integrator`, :mod:`.trajectory`,
  :mod:`.chain`) on any :class:`~.integrator.RiemannianSystem`, readable and general;
- :func:`compiled_kernel`: the same algorithm compiled with Numba (:mod:`.numba_integrator`,
  :mod:`.numba_chain`), calling the model's compiled functions through :mod:`.numba_binding`,
  with no Python per leapfrog step, transition or (in a chain) draw.

Both take and return the same named tuples (:class:`~.integrator.PositionPoint`,
:class:`~.integrator.IntegratorState`, :class:`~.chain.ChainState`); nothing downstream knows
which one runs. :func:`make_kernel` picks the compiled one when the model allows it and it
agrees with the reference on a test step, and says why when it falls back.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import numpy as np

from pymc_fisher.samplers import chain as reference_chain
from pymc_fisher.samplers.chain import ChainArrays, ChainSettings, ChainState
from pymc_fisher.samplers.integrator import (
    IntegratorState,
    LeapfrogReport,
    PositionPoint,
    RiemannianSystem,
    generalized_leapfrog,
    integrator_state,
)
from pymc_fisher.samplers.metrics import Metric
from pymc_fisher.samplers.options import SolverOptions
from pymc_fisher.samplers.trajectory import TransitionInfo
from pymc_fisher.samplers.trajectory import transition as reference_transition

__all__ = [
    "Kernel",
    "KernelFallbackWarning",
    "compiled_kernel",
    "make_kernel",
    "reference_kernel",
]


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


def reference_kernel(system: RiemannianSystem) -> Kernel:
    """The NumPy reference kernel of a :class:`~.integrator.RiemannianSystem`."""

    def leapfrog(
        state: IntegratorState, step_size: float, options: SolverOptions
    ) -> tuple[IntegratorState, LeapfrogReport]:
        return generalized_leapfrog(system, state, step_size, options)

    def transition(
        position: PositionPoint, z: np.ndarray, log_u: float, step_size: float, n_steps: int,
        options: SolverOptions,
    ) -> tuple[PositionPoint, TransitionInfo]:  # fmt: skip
        return reference_transition(system, position, z, log_u, step_size, n_steps, options)

    def start(position: PositionPoint, p: np.ndarray) -> IntegratorState:
        return integrator_state(system, position, p)

    kernel = Kernel("reference", system.evaluate, start, leapfrog, transition, _no_chain, _nothing)

    def chain(
        state: ChainState, settings: ChainSettings, rng: np.random.Generator, arrays: ChainArrays,
        progress: np.ndarray, stop: np.ndarray,
    ) -> tuple[int, ChainState]:  # fmt: skip
        return reference_chain.run_chain(kernel, state, settings, rng, arrays, progress, stop)

    return kernel._replace(chain=chain)


def _no_chain(*args: Any) -> tuple[int, ChainState]:  # replaced at construction
    raise NotImplementedError


def _nothing() -> None:
    return None


def compiled_kernel(compiled: Any, metric: Metric) -> Kernel:
    """The Numba kernel of a model compiled by :func:`~.compiled.compile_model`.

    Raises
    ------
    NoKernelError
        When the model's functions have no Numba body the kernel can call.
    """
    from pymc_fisher.samplers import numba_binding as nbind
    from pymc_fisher.samplers.numba_integrator import DIRECT, KINDS, SOFTABS

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
        report = LeapfrogReport(KINDS[out.code], it_p, it_q, float(out.values[0]), n)  # type: ignore[arg-type]
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
            bool(accepted), rate, error, energy, KINDS[out.code], steps, its, res, n, cond,  # type: ignore[arg-type]
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


def _agrees(a: Kernel, b: Kernel, theta: np.ndarray, options: SolverOptions) -> str | None:
    """``None`` when one leapfrog step from ``theta`` ends alike in both kernels, else why not."""
    points = [k.evaluate(theta) for k in (a, b)]
    if any(isinstance(p, str) for p in points):
        kinds = ["ok" if not isinstance(p, str) else p for p in points]
        return None if kinds[0] == kinds[1] else f"the start evaluates as {kinds[0]} vs {kinds[1]}"
    p0 = points[1].metric.sqrt @ np.linspace(-1.0, 1.0, theta.size)  # type: ignore[union-attr]
    starts = [k.start(p, p0) for k, p in zip((a, b), points, strict=True)]  # type: ignore[arg-type]
    ends = [k.leapfrog(s, 1e-2, options) for k, s in zip((a, b), starts, strict=True)]
    (sa, ra), (sb, rb) = ends
    if ra.divergence != rb.divergence:
        return f"a test step ends {ra.divergence!r} vs {rb.divergence!r}"
    scale = 1.0 + float(np.abs(sb.position.theta).max()) + float(np.abs(sb.momentum).max())
    gap = max(
        float(np.abs(sa.position.theta - sb.position.theta).max()),
        float(np.abs(sa.momentum - sb.momentum).max()),
    )
    return None if gap <= 1e-8 * scale else f"a test step differs by {gap:.3g}"


def make_kernel(
    compiled: Any, metric: Metric, theta: np.ndarray, *, prefer: Literal["compiled", "reference"]
) -> Kernel:
    """The compiled kernel where it runs the model as the reference does, else the reference.

    A fallback says why in a :class:`KernelFallbackWarning`: the model's functions have no Numba
    body the kernel can call (the ops Numba runs in object mode are named), or one leapfrog step
    of the two kernels from ``theta`` disagrees.

    Parameters
    ----------
    compiled
        The model's functions (:func:`~.compiled.compile_model`).
    metric
        The metric bundle.
    theta
        A point where the two kernels are compared (one leapfrog step).
    prefer
        ``"reference"`` builds the reference only.
    """
    from pymc_fisher.samplers.compiled import object_mode_ops, reference_system
    from pymc_fisher.samplers.numba_binding import NoKernelError

    reference = reference_kernel(reference_system(compiled, metric))
    if prefer == "reference":
        return reference
    try:
        fast = compiled_kernel(compiled, metric)
    except NoKernelError as exc:
        ops = object_mode_ops(compiled)
        named = f" (ops without a Numba implementation: {', '.join(ops)})" if ops else ""
        warnings.warn(
            f"RMHMC runs the NumPy reference integrator, several times slower: {exc}{named}.",
            KernelFallbackWarning,
            stacklevel=3,
        )
        return reference
    why = _agrees(fast, reference, np.asarray(theta, dtype=np.float64), SolverOptions(tol=1e-12))
    if why is not None:
        warnings.warn(
            f"RMHMC's compiled kernel disagrees with the NumPy reference on this model ({why}); "
            "the reference runs instead. Please report this with your Numba and PyTensor "
            "versions.",
            KernelFallbackWarning,
            stacklevel=3,
        )
        return reference
    return fast
