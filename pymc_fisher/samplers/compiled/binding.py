"""How a model's compiled functions reach the Numba kernel: trampolines, one entry point, Bound.

A PyTensor function compiled in NUMBA mode has a Numba body (``Function.vm.jit_fn``) whose one
argument is the tuple of its inputs, shared ones (data, values of variables another step
samples) included, so its type differs from model to model. The kernel must not: it is compiled
once per machine and cached on disk. So each model function gets a *trampoline*, a small Numba
function of fixed type that rebuilds the shared inputs from their data addresses and shapes
(``nb.carray``) and calls the body through its address. Passing the body itself would make
Numba link and re-optimise the model's code into every caller (measured: seconds per caller per
model); an address costs one indirect call.

This leans on private details of Numba (the first-class-function struct that :func:`_as_function`
fills, a compile result's symbol names) and of PyTensor (``vm.jit_fn`` and its input cells);
``pyproject.toml`` pins the tested versions, :func:`function_pointer` checks the body's signature,
and :mod:`.drivers.select` self-tests a bound model against the reference before using it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numba as nb
import numpy as np
from numba.core import cgutils, types
from numba.extending import intrinsic

from pymc_fisher.samplers.compiled.cache import refresh_disk_cache
from pymc_fisher.samplers.compiled.chain import run_chain
from pymc_fisher.samplers.compiled.integrator import (
    ModelFunctions,
    evaluate,
    leapfrog,
    start_state,
    transition,
)
from pymc_fisher.samplers.core.chain import ChainSettings, ChainState
from pymc_fisher.samplers.core.options import SolverOptions
from pymc_fisher.samplers.core.types import IntegratorState, MetricFactor, PositionPoint

__all__ = ["Bound", "NoKernelError", "function_pointer"]

_jit = nb.njit(cache=True, nogil=True)

_f8_1d, _f8_2d = types.float64[::1], types.float64[:, ::1]
_i8_1d, _i8_2d = types.int64[::1], types.int64[:, ::1]
#: The trampolines' types: ``(θ, addresses, shapes) -> (log p, ∇log p, A)`` and
#: ``(θ, W, addresses, shapes) -> ∇_θ Σ A ∘ W``, whatever the model.
EVALUATE_SIGNATURE = types.Tuple((types.float64, _f8_1d, _f8_2d))(_f8_1d, _i8_1d, _i8_2d)
CONTRACT_SIGNATURE = _f8_1d(_f8_1d, _f8_2d, _i8_1d, _i8_2d)
EVALUATE_TYPE = types.FunctionType(EVALUATE_SIGNATURE)
CONTRACT_TYPE = types.FunctionType(CONTRACT_SIGNATURE)


class NoKernelError(TypeError):
    """The model's functions cannot be called from the kernel (the reference runs instead)."""


@intrinsic
def _as_function(typingctx, c_addr, jit_addr, fnty_ref):
    """A first-class function of type ``fnty_ref`` from its cfunc and Numba-callconv addresses."""
    fnty = fnty_ref.instance_type

    def codegen(context, builder, signature, args):
        sfunc = cgutils.create_struct_proxy(fnty)(context, builder)
        voidptr = context.get_value_type(types.voidptr)
        sfunc.c_addr = builder.inttoptr(args[0], voidptr)
        sfunc.jit_addr = builder.inttoptr(args[1], voidptr)
        sfunc.py_addr = cgutils.get_null_value(voidptr)
        return sfunc._getvalue()

    return fnty(types.int64, types.int64, fnty_ref), codegen


@intrinsic
def _voidptr(typingctx, address):
    """``void*`` from an integer address (for ``nb.carray``)."""

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return types.voidptr(types.int64), codegen


def _addresses(compiled: Any) -> tuple[int, int]:
    """``(cfunc address, body address)`` of a Numba compile result."""
    library, desc = compiled.library, compiled.fndesc
    return (
        library.get_pointer_to_function(desc.llvm_cfunc_wrapper_name),
        library.get_pointer_to_function(desc.llvm_func_name),
    )


def function_pointer(dispatcher: Any, args: tuple) -> tuple[int, int, types.FunctionType]:
    """``(cfunc address, body address, type)`` of a PyTensor Numba body compiled for ``args``.

    PyTensor's bodies are ``def f(*inputs)``: their one signature is the tuple of the inputs'
    types. Raises :class:`NoKernelError` when the body has another signature (an op in
    object mode: PyTensor then compiles ``f(x, y, ...)``).
    """
    dispatcher(*args)  # compiles (or loads from PyTensor's cache) for these argument types
    cres = dispatcher.overloads.get((nb.typeof(args),))
    if cres is None:
        raise NoKernelError("the function's Numba body does not take its inputs as one tuple")
    return (*_addresses(cres), types.FunctionType(cres.signature))


def _normalised(values: tuple) -> tuple:
    """The shared inputs as the trampolines rebuild them: C-contiguous, writeable, aligned."""
    return tuple(np.require(v, requirements=["C", "A", "W"]) for v in values)


def extra_arrays(values: tuple) -> tuple[np.ndarray, np.ndarray, tuple]:
    """``(addresses, shapes, arrays)`` of shared input values (``arrays`` keeps them alive)."""
    arrays = tuple(v if v.flags.c_contiguous else np.ascontiguousarray(v) for v in values)
    ndim = max([1, *(a.ndim for a in arrays)])
    shapes = np.zeros((len(arrays), ndim), dtype=np.int64)
    for i, a in enumerate(arrays):
        shapes[i, : a.ndim] = a.shape
    addresses = np.array([a.ctypes.data for a in arrays], dtype=np.int64)
    return addresses, shapes, arrays


def _trampoline(
    dispatcher: Any, leading: tuple, extra: tuple, contract: bool
) -> tuple[tuple[int, int], Any]:
    """Compile the fixed-type trampoline of one model function: its two addresses, and itself.

    The caller keeps the trampoline's dispatcher (and the model function's) for as long as it
    uses the addresses: they point into code the dispatcher owns.
    """
    extra = _normalised(extra)
    fa, fj, ft = function_pointer(dispatcher, (*leading, *extra))
    names = {"nb": nb, "np": np, "_voidptr": _voidptr, "_as_function": _as_function}
    names |= {"FA": fa, "FJ": fj, "FT": ft}
    lines = []
    for i, value in enumerate(extra):
        names[f"D{i}"] = value.dtype.type
        shape = ", ".join(f"shapes[{i}, {k}]" for k in range(value.ndim))
        shape = f"({shape}{',' if value.ndim == 1 else ''})"
        lines.append(f"    e{i} = nb.carray(_voidptr(addresses[{i}]), {shape}, dtype=D{i})")
    inputs = ", ".join(
        ["theta", *(["W"] if contract else []), *(f"e{i}" for i in range(len(extra)))]
    )
    returned = ft.signature.return_type
    if contract:
        grad = "np.ascontiguousarray(out[0])" + _as_float64(returned[0])
        head, body = "def f(theta, W, addresses, shapes):", f"    return {grad}"
        signature = CONTRACT_SIGNATURE
    else:
        grad = "np.ascontiguousarray(out[1])" + _as_float64(returned[1])
        matrix = "np.ascontiguousarray(out[2])" + _as_float64(returned[2])
        head = "def f(theta, addresses, shapes):"
        body = f"    return np.float64(out[0].item()), {grad}, {matrix}"
        signature = EVALUATE_SIGNATURE
    source = "\n".join(
        [head, "    fn = _as_function(FA, FJ, FT)", *lines, f"    out = fn(({inputs},))", body]
    )
    exec(compile(source, "<pymc_fisher trampoline>", "exec"), names)
    compiled: Any = nb.njit(signature, nogil=True)(names["f"])
    return _addresses(compiled.overloads[signature.args]), compiled


def _as_float64(array_type: Any) -> str:
    return "" if array_type.dtype == types.float64 else ".astype(np.float64)"


# -- the entry points -------------------------------------------------------------------------

EVALUATE, START, LEAPFROG, TRANSITION = 0, 1, 2, 3


class Model(NamedTuple):
    """A model as the entry points receive it: its trampolines' addresses and shared inputs."""

    functions: np.ndarray  # int64[4]: evaluate's and contract's (cfunc, body) addresses
    evaluate_addresses: np.ndarray
    evaluate_shapes: np.ndarray
    contract_addresses: np.ndarray
    contract_shapes: np.ndarray
    kind: int
    alpha: float


class Request(NamedTuple):
    """One call of :func:`entry`: the operation and its operands (unused ones dummies).

    One type for the four operations, so they compile once; the whole-chain loop has an entry
    point of its own (:func:`chain_entry`), so these calls do not carry its generator and
    arrays (unboxing a ``Generator`` costs about 18 µs).
    """

    op: int
    model: Model
    theta: np.ndarray  # EVALUATE
    state: IntegratorState  # START, TRANSITION: its position; LEAPFROG: the state
    vector: np.ndarray  # START: the momentum; TRANSITION: the standard normal draw
    log_u: float  # TRANSITION
    step_size: float
    n_steps: int
    options: SolverOptions


class Result(NamedTuple):
    """What :func:`entry` returns.

    ``state``: EVALUATE, TRANSITION its position (momentum and gradient are the request's),
    START and LEAPFROG the new state. ``counts``: LEAPFROG ``[momentum its, position its,
    evaluations, 0]``, TRANSITION ``[steps, fixed-point its, evaluations, accepted]``;
    ``values``: LEAPFROG ``[residual, 0, 0, 0, 0]``, TRANSITION ``[residual, acceptance rate,
    energy error, energy, condition number]``.
    """

    code: int
    state: IntegratorState
    counts: np.ndarray
    values: np.ndarray


class ChainRequest(NamedTuple):
    """One call of :func:`chain_entry`: a chain from ``chain.iteration`` to its end."""

    model: Model
    chain: ChainState
    settings: ChainSettings
    rng: np.random.Generator
    theta_out: np.ndarray
    floats: np.ndarray
    ints: np.ndarray
    progress: np.ndarray
    stop: np.ndarray


@_jit
def _functions(m):
    f = m.functions
    return ModelFunctions(
        _as_function(f[0], f[1], EVALUATE_TYPE),
        _as_function(f[2], f[3], CONTRACT_TYPE),
        m.evaluate_addresses,
        m.evaluate_shapes,
        m.contract_addresses,
        m.contract_shapes,
        m.kind,
        m.alpha,
    )


@_jit
def entry(request):
    """Run ``request.op`` on the model whose trampolines ``request.model`` addresses."""
    model = _functions(request.model)
    counts, values = np.zeros(4, np.int64), np.zeros(5)
    op, state = request.op, request.state
    if op == EVALUATE:
        code, pos = evaluate(model, request.theta)
        return Result(code, _with_position(state, pos), counts, values)
    if op == START:
        return Result(0, start_state(model, state.position, request.vector), counts, values)
    if op == LEAPFROG:
        new, code, it_p, it_q, res, n = leapfrog(model, state, request.step_size, request.options)
        counts[0], counts[1], counts[2] = it_p, it_q, n
        values[0] = res
        return Result(code, new, counts, values)
    pos, code, accepted, rate, error, energy, steps, its, res, n, cond = transition(
        model, state.position, request.vector, request.log_u, request.step_size,
        request.n_steps, request.options,
    )  # fmt: skip
    counts[0], counts[1], counts[2], counts[3] = steps, its, n, accepted
    values[0], values[1], values[2], values[3], values[4] = res, rate, error, energy, cond
    return Result(code, _with_position(state, pos), counts, values)


@_jit
def _with_position(state, position):
    return IntegratorState(position, state.momentum, state.energy, state.dH_dtheta)


@_jit
def chain_entry(request):
    """Run a chain (:func:`.numba_chain.run_chain`): ``(iterations done, final state)``."""
    return run_chain(
        _functions(request.model), request.chain, request.settings, request.rng,
        request.theta_out, request.floats, request.ints, request.progress, request.stop,
    )  # fmt: skip


# -- the Python side --------------------------------------------------------------------------


def _dummy_position(d: int) -> PositionPoint:
    e1, e2 = np.zeros(0), np.zeros((0, 0))
    return PositionPoint(np.zeros(d), 0.0, np.zeros(d), MetricFactor(e2, e2, 0.0, e1, e2, e1, e2))


def solver_options(options: SolverOptions) -> SolverOptions:
    """``options`` with the field types the kernel was compiled for (an int ``tol`` would not)."""
    return SolverOptions(
        float(options.tol),
        int(options.max_iterations),
        int(options.anderson_memory),
        int(options.newton_iterations),
        float(options.max_energy_error),
        bool(options.reverse_check),
    )


class Bound:
    """One model's functions bound to the kernel's entry points.

    Parameters
    ----------
    evaluate_fn, contract_fn
        The model functions' Numba bodies (``Function.vm.jit_fn``).
    evaluate_extra, contract_extra
        Current values of each function's shared inputs; their dtypes and dimensions are fixed
        here (the trampolines are compiled for them), their values and shapes may change.
    size
        Length of θ.
    kind, alpha
        ``DIRECT`` or ``SOFTABS`` metric, and the SoftAbs sharpness.

    Raises
    ------
    NoKernelError
        When a function's Numba body cannot be called from the kernel.
    """

    def __init__(
        self,
        evaluate_fn: Any,
        contract_fn: Any,
        evaluate_extra: tuple,
        contract_extra: tuple,
        size: int,
        kind: int,
        alpha: float,
    ) -> None:
        theta = np.zeros(size)
        ev, ev_trampoline = _trampoline(evaluate_fn, (theta,), evaluate_extra, contract=False)
        ct, ct_trampoline = _trampoline(
            contract_fn, (theta, np.zeros((size, size))), contract_extra, True
        )
        functions = (*ev, *ct)
        # the code the addresses point into lives as long as these dispatchers
        self._dispatchers = (evaluate_fn, contract_fn, ev_trampoline, ct_trampoline)
        e = np.zeros(0, dtype=np.int64)
        self._model = Model(np.array(functions, dtype=np.int64), e, e.reshape(0, 1), e,
                            e.reshape(0, 1), int(kind), float(alpha))  # fmt: skip
        position = _dummy_position(size)
        state = IntegratorState(position, np.zeros(size), 0.0, np.zeros(size))
        self._template = Request(
            EVALUATE, self._model, theta, state, np.zeros(size), 0.0, 0.0, 0, SolverOptions()
        )
        self.empty_state = state
        self._extra: tuple = ()
        self._call: dict[Any, Any] = {}
        self.set_extra(evaluate_extra, contract_extra)

    def set_extra(self, evaluate_extra: tuple, contract_extra: tuple) -> None:
        """Point the functions at the current values of their shared inputs."""
        ea, es, ek = extra_arrays(evaluate_extra)
        ca, cs, ck = extra_arrays(contract_extra)
        self._extra = (ek, ck)  # the arrays the addresses point into, kept alive
        self._model = self._model._replace(
            evaluate_addresses=ea, evaluate_shapes=es, contract_addresses=ca, contract_shapes=cs
        )
        self._template = self._template._replace(model=self._model)

    def run(self, op: int, **operands: Any) -> Result:
        """Run ``op`` with ``operands`` (the fields of :class:`Request` it reads)."""
        for name, value in operands.items():
            _check(value, getattr(self._template, name), name)
        return self._fast(entry, self._template._replace(op=op, **operands))

    def chain(
        self,
        chain: ChainState,
        settings: ChainSettings,
        rng: np.random.Generator,
        arrays: tuple[np.ndarray, np.ndarray, np.ndarray],
        progress: np.ndarray,
        stop: np.ndarray,
    ) -> tuple[int, ChainState]:
        """Run a chain from ``chain.iteration`` (:func:`chain_entry`)."""
        theta, floats, ints = arrays
        request = ChainRequest(
            self._model, chain, settings, rng, theta, floats, ints, progress, stop
        )
        return self._fast(chain_entry, request)

    def _fast(self, dispatcher: Any, request: tuple) -> Any:
        """Call ``dispatcher``'s compiled overload directly once its type is known.

        The first call goes through Numba's dispatcher (which compiles or loads the entry
        point); later calls go straight to the overload: typing the nested request costs
        milliseconds, the call microseconds. What that skips — that every array has the dtype,
        dimensions and layout the overload was compiled for — :func:`_check` verifies on the
        operands (the template's other fields are fixed here; a chain's are made by the kernel).
        """
        call = self._call.get(dispatcher)
        if call is None:
            signature = (nb.typeof(request),)
            with _compile_lock():
                dispatcher.compile(signature)  # or loads it from the disk cache
            call = self._call[dispatcher] = dispatcher.overloads[signature].entry_point
        return call(request)


@contextlib.contextmanager
def _compile_lock() -> Iterator[None]:
    """Hold the kernel's compile lock: one process compiles, the others then load its cache.

    Processes that start at once (test workers, a pool of chains) would each compile the
    kernel (minutes of CPU each on a new machine); with the lock the first compiles and writes
    the disk cache, the others wait for it and load. A lock that cannot be taken (no ``fcntl``,
    a read-only cache directory) is skipped: each process then compiles for itself.
    """
    cached: Any = entry
    try:
        import fcntl

        handle = open(Path(cached._cache._cache_path) / "pymc_fisher_kernel.lock", "a")  # noqa: SIM115
    except (ImportError, OSError):
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _check(value: Any, like: Any, where: str) -> None:
    """Raise ``TypeError`` unless ``value`` has the type the overload was compiled for.

    An array must have ``like``'s dtype and dimensions and be C-contiguous and aligned (Numba's
    unboxing checks only the item size). A named tuple must be of ``like``'s class, and a
    position's θ is checked as an array: positions and states are made by a kernel, whose
    arrays are all C-contiguous float64 (the reference's too), while θ comes from the caller.
    """
    if isinstance(like, np.ndarray):
        if not (
            isinstance(value, np.ndarray)
            and value.dtype == like.dtype
            and value.ndim == like.ndim
            and value.flags.c_contiguous
            and value.flags.aligned
        ):
            raise TypeError(f"kernel operand {where}: expected a C-contiguous {like.dtype} array "
                            f"of {like.ndim} dimension(s)")  # fmt: skip
    elif type(value) is not type(like):
        raise TypeError(f"kernel operand {where}: expected {type(like).__name__}")
    elif isinstance(like, IntegratorState):
        _check(value.position, like.position, f"{where}.position")
        _check(value.momentum, like.momentum, f"{where}.momentum")
    elif isinstance(like, PositionPoint):
        _check(value.theta, like.theta, f"{where}.theta")
        if type(value.metric) is not MetricFactor:
            raise TypeError(f"kernel operand {where}.metric: expected MetricFactor")


refresh_disk_cache(entry)
