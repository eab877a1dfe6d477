"""The generalized leapfrog compiled with Numba: the fast path of :mod:`.integrator`.

:mod:`.integrator`, :mod:`.solvers` and :mod:`.metrics` are the reference: NumPy, readable, and
able to run any :class:`~.integrator.RiemannianSystem` (the tests' closed-form systems included).
Run from Python they spend most of a step calling small functions (measured: ~80% of a funnel
transition outside the compiled model functions). This module is the same algorithm, step for
step — same initial guesses, same Anderson update, same Newton fallback, same divergence kinds
and counters — compiled with Numba behind one entry point (an evaluation, a leapfrog step or a
whole fixed trajectory), calling the model's Numba-compiled PyTensor functions directly; the
metric's factors are in :mod:`.kernel_metrics`. The tests check it against the reference
trajectory by trajectory.

A position is the tuple ``(θ, log p, ∇log p, G⁻¹, S, log det G, Q, g, λ, D)`` (``S Sᵀ = G``;
``Q, g, λ, D``: SoftAbs eigenvectors, metric eigenvalues, Hessian eigenvalues and divided
differences, empty for a direct metric except ``g``, the diagonal of a diagonal metric). A state
is ``(position, p, H, ∇_θH)``.

Model functions are PyTensor's Numba bodies, which take their inputs as one tuple:
``evaluate((θ,) + extra[0]) -> (log p, ∇log p, A)`` and
``contract((θ, W) + extra[1]) -> (∇_θ Σ A ∘ W,)``, ``extra`` the values of each function's shared
inputs. :class:`Bound` binds one model's functions to the kernel's :func:`entry`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba as nb
import numpy as np
from numba.core import cgutils, types
from numba.extending import intrinsic

from pymc_fisher.samplers.kernel_metrics import (
    direct_factor,
    kinetic,
    mv,
    pull_back,
    softabs_factor,
    weights,
)
from pymc_fisher.samplers.trajectory import MAX_HALVINGS

__all__ = [
    "DIRECT",
    "KINDS",
    "SOFTABS",
    "Bound",
    "NoKernelError",
    "condition",
    "evaluate",
    "function_pointer",
    "integrate",
    "leapfrog",
    "transition",
]

DIRECT, SOFTABS = 0, 1
# divergence codes, indexed like the reference's DivergenceKind strings
NONE, ENERGY, SOLVER, METRIC, REVERSAL = 0, 1, 2, 3, 4
KINDS = ("none", "energy", "solver", "metric", "reversal")

_jit = nb.njit(cache=True, nogil=True)


@_jit
def _anderson(x, fx, f, dx_hist, df_hist, count, prev_x, prev_f, have_prev, memory):
    """Next Anderson iterate (reference: ``solve_fixed_point``); updates the histories in place."""
    if memory > 0 and have_prev:
        if np.abs(f).max() > np.abs(prev_f).max():
            count = 0  # the safeguard: forget the history, take a Picard step from here
        else:
            if count == memory:  # drop the oldest difference
                for k in range(memory - 1):
                    dx_hist[k, :] = dx_hist[k + 1, :]
                    df_hist[k, :] = df_hist[k + 1, :]
                count -= 1
            dx_hist[count, :] = x - prev_x
            df_hist[count, :] = f - prev_f
            count += 1
    prev_x[:] = x
    prev_f[:] = f
    if count == 0:
        return fx.copy(), count
    dF = df_hist[:count].T.copy()
    gram = dF.T @ dF
    ridge = 1e-10 * np.trace(gram) + 1e-300
    for k in range(count):
        gram[k, k] += ridge
    try:
        gamma = np.linalg.solve(gram, dF.T @ f)
    except Exception:  # Numba raises LinAlgError; the reference takes a Picard step
        return fx.copy(), count
    return fx - (dx_hist[:count].T + dF) @ gamma, count


@_jit
def _converged(residual, x, atol, rtol):
    return residual <= atol or residual <= atol + rtol * np.abs(x).max()


# -- functions of the model -----------------------------------------------------------------


@_jit
def evaluate(fn, extra, theta, kind, alpha):
    """``(code, position)`` at θ; code ``ENERGY``/``METRIC`` when log p or G fails there."""
    out = fn((theta,) + extra[0])
    logp = out[0].item()
    grad = np.ascontiguousarray(out[1])
    A = np.ascontiguousarray(out[2])
    code = NONE
    if not (np.isfinite(logp) and np.all(np.isfinite(grad))):
        code = ENERGY
    if kind == SOFTABS:
        ok, inverse, sqrt, logdet, Q, g, lam, D = softabs_factor(A, alpha)
    else:
        ok, inverse, sqrt, logdet, Q, g = direct_factor(A)
        lam, D = np.empty(0), np.empty((0, 0))
    if code == NONE and not ok:
        code = METRIC
    return code, (theta, logp, grad, inverse, sqrt, logdet, Q, g, lam, D)


@_jit
def _dh_dtheta(ct, extra, pos, p):
    """``∇_θH = -∇log p + ∇_θ Σ A ∘ W`` (one reverse pass)."""
    W = weights(pos[3], pos[6], pos[7], pos[9], p)
    return -pos[2] + ct((pos[0], W) + extra[1])[0]


@_jit
def _newton_momentum(ct, extra, pos, p0, eps, guess, atol, rtol, newton_iter):
    """Newton's method on ``p = p0 - ε/2 ∇_θH(θ, p)`` (reference: ``_newton_momentum``).

    Returns ``(p, ∇_θH, converged, residual, iterations, failed)``.
    """
    d = p0.size
    inverse, Q, D = pos[3], pos[6], pos[9]
    p = guess.copy()
    grad = np.zeros(d)
    residual = np.inf
    for it in range(1, newton_iter + 1):
        grad = _dh_dtheta(ct, extra, pos, p)
        r = p - p0 + 0.5 * eps * grad
        residual = np.abs(r).max()
        if not residual < np.inf:
            return p, grad, False, np.inf, it, True
        if residual <= atol + rtol * np.abs(p).max():
            return p, grad, True, residual, it, False
        v = mv(inverse, p)
        jac = np.eye(d)
        for j in range(d):
            u = inverse[:, j].copy()
            c = -0.5 * (np.outer(u, v) + np.outer(v, u))
            jac[:, j] += 0.5 * eps * ct((pos[0], pull_back(Q, D, c)) + extra[1])[0]
        try:
            p = p - np.linalg.solve(jac, r)
        except Exception:  # a singular Jacobian: the solve failed, as in the reference
            return p, grad, False, residual, it, False
    return p, grad, False, residual, newton_iter, False


@_jit
def leapfrog(fn, ct, extra, kind, alpha, state, eps, atol, rtol, max_iter, memory, newton_iter):
    """One generalized-leapfrog step (reference: ``integrator.generalized_leapfrog``).

    Returns ``(state, code, momentum iterations, position iterations, residual, evaluations)``;
    on a divergence the state is the input state.
    """
    pos, p0, _, dh0 = state
    theta = pos[0]
    d = theta.size
    m = max(memory, 1)
    n_evals = 0
    # p½ = p - ε/2 ∇_θH(θ, p½)  (implicit in p½), Anderson-accelerated
    x = p0 - 0.5 * eps * dh0
    dx_hist, df_hist = np.zeros((m, d)), np.zeros((m, d))
    prev_x, prev_f = np.zeros(d), np.zeros(d)
    count, have_prev = 0, False
    grad = dh0
    mom_done, mom_failed, mom_res, mom_it = False, False, np.inf, 0
    solution = x
    for it in range(1, max_iter + 1):
        mom_it = it
        grad = _dh_dtheta(ct, extra, pos, x)
        fx = p0 - 0.5 * eps * grad
        f = fx - x
        mom_res = np.abs(f).max() if d else 0.0
        solution = x
        if not mom_res < np.inf:
            mom_res, mom_failed = np.inf, True
            break
        if _converged(mom_res, x, atol, rtol):
            mom_done = True
            break
        x, count = _anderson(x, fx, f, dx_hist, df_hist, count, prev_x, prev_f, have_prev, memory)
        have_prev = True
    n_evals += mom_it
    if not mom_done and not mom_failed and newton_iter > 0:
        # Picard/Anderson fails where the momentum map is not a contraction; Newton finds the
        # same root (d + 1 reverse passes per Newton step)
        solution, grad, mom_done, mom_res, mom_it, mom_failed = _newton_momentum(
            ct, extra, pos, p0, eps, solution, atol, rtol, newton_iter
        )
        n_evals += mom_it * (1 + d)
    if not mom_done:
        return state, ENERGY if mom_failed else SOLVER, mom_it, 0, mom_res, n_evals
    p_half = solution
    v0 = mv(pos[3], p_half)
    # θ' = θ + ε/2 [G⁻¹(θ) + G⁻¹(θ')] p½  (implicit in θ')
    x = theta + eps * v0
    count, have_prev = 0, False
    new_pos = pos
    pos_done, pos_code, pos_res, pos_it = False, NONE, np.inf, 0
    for it in range(1, max_iter + 1):
        pos_it = it
        code, cand = evaluate(fn, extra, x, kind, alpha)
        if code != NONE:
            pos_code, pos_res = code, np.inf
            break
        new_pos = cand
        fx = theta + 0.5 * eps * (v0 + mv(cand[3], p_half))
        f = fx - x
        pos_res = np.abs(f).max() if d else 0.0
        if not pos_res < np.inf:
            pos_code, pos_res = ENERGY, np.inf
            break
        if _converged(pos_res, x, atol, rtol):
            pos_done = True
            break
        x, count = _anderson(x, fx, f, dx_hist, df_hist, count, prev_x, prev_f, have_prev, memory)
        have_prev = True
    n_evals += pos_it
    residual = max(mom_res, pos_res)
    if pos_code != NONE:
        return state, pos_code, mom_it, pos_it, residual, n_evals
    if not pos_done:
        return state, SOLVER, mom_it, pos_it, residual, n_evals
    # p' = p½ - ε/2 ∇_θH(θ', p½)  (explicit)
    grad = _dh_dtheta(ct, extra, new_pos, p_half)
    n_evals += 1
    p_new = p_half - 0.5 * eps * grad
    energy = -new_pos[1] + kinetic(new_pos[3], new_pos[5], p_new)
    return (new_pos, p_new, energy, grad), NONE, mom_it, pos_it, residual, n_evals


@_jit
def _substeps(
    fn, ct, extra, kind, alpha, state, eps, k, atol, rtol, max_iter, memory, newton_iter,
    max_energy_error,
):  # fmt: skip
    """``k`` steps of ``eps / k`` (reference: ``trajectory._substeps``)."""
    current = state
    it_p, it_q, residual, evals = 0, 0, 0.0, 0
    for _ in range(k):
        new, code, a, b, res, n = leapfrog(
            fn, ct, extra, kind, alpha, current, eps / k, atol, rtol, max_iter, memory,
            newton_iter,
        )  # fmt: skip
        it_p, it_q, residual, evals = it_p + a, it_q + b, max(residual, res), evals + n
        if code != NONE:
            return state, code, it_p, it_q, residual, evals
        if not abs(new[2] - state[2]) <= max_energy_error:
            return state, ENERGY, it_p, it_q, residual, evals
        current = new
    return current, NONE, it_p, it_q, residual, evals


@_jit
def subdivided_leapfrog(
    fn, ct, extra, kind, alpha, state, eps, atol, rtol, max_iter, memory, newton_iter,
    max_energy_error,
):  # fmt: skip
    """A step that halves on a failed solve, reversibly (reference: ``subdivided_leapfrog``)."""
    new, code, it_p, it_q, residual, evals = _substeps(
        fn, ct, extra, kind, alpha, state, eps, 1, atol, rtol, max_iter, memory, newton_iter,
        max_energy_error,
    )  # fmt: skip
    k = 1
    while code in (SOLVER, ENERGY) and k < 2**MAX_HALVINGS:
        k *= 2
        new, code, a, b, res, n = _substeps(
            fn, ct, extra, kind, alpha, state, eps, k, atol, rtol, max_iter, memory,
            newton_iter, max_energy_error,
        )  # fmt: skip
        it_p, it_q, residual, evals = it_p + a, it_q + b, max(residual, res), evals + n
    if code != NONE or k == 1:
        return new, code, it_p, it_q, residual, evals
    k_back = 1
    while k_back < k:
        _, back, a, b, res, n = _substeps(
            fn, ct, extra, kind, alpha, new, -eps, k_back, atol, rtol, max_iter, memory,
            newton_iter, max_energy_error,
        )  # fmt: skip
        it_p, it_q, residual, evals = it_p + a, it_q + b, max(residual, res), evals + n
        if back not in (SOLVER, ENERGY):
            return state, REVERSAL, it_p, it_q, residual, evals
        k_back *= 2
    return new, NONE, it_p, it_q, residual, evals


@_jit
def integrate(
    fn, ct, extra, kind, alpha, state, eps, n_steps, max_energy_error,
    atol, rtol, max_iter, memory, newton_iter,
):  # fmt: skip
    """``n_steps`` leapfrog steps, stopping at the first divergence (reference: ``integrate``).

    Returns ``(state, code, steps, fixed-point iterations, max residual, evaluations)``.
    """
    h0 = state[2]
    iterations, residual, evals = 0, 0.0, 0
    for i in range(n_steps):
        new, code, it_p, it_q, res, n = subdivided_leapfrog(
            fn, ct, extra, kind, alpha, state, eps, atol, rtol, max_iter, memory, newton_iter,
            max_energy_error,
        )  # fmt: skip
        iterations += it_p + it_q
        residual = max(residual, res)
        evals += n
        if code != NONE:
            return state, code, i + 1, iterations, residual, evals
        state = new
        error = state[2] - h0
        if not np.isfinite(error) or error > max_energy_error:
            return state, ENERGY, i + 1, iterations, residual, evals
    return state, NONE, n_steps, iterations, residual, evals


@_jit
def condition(pos):
    """Spectral condition number of ``G`` (reference: ``metrics.condition_number``)."""
    g = pos[7]
    if g.size == 0:
        S = pos[4]  # S Sᵀ with both operands C-ordered: Numba's @ is slow on a transposed view
        g = np.linalg.eigvalsh(S @ np.ascontiguousarray(S.T))
    g = np.abs(g)
    lo = g.min()
    return g.max() / lo if lo > 0.0 else np.inf


@_jit
def transition(
    fn, ct, extra, kind, alpha, pos, z, log_u, eps, n_steps, max_energy_error,
    atol, rtol, max_iter, memory, newton_iter,
):  # fmt: skip
    """One fixed-length transition from ``pos`` (reference: ``trajectory.fixed_transition``).

    ``z`` is the standard normal draw of the momentum ``p = S z`` and ``log_u`` the log of the
    uniform draw of the Metropolis test. Returns ``(position, code, accepted, acceptance rate,
    energy error, energy, steps, fixed-point iterations, max residual, evaluations, condition
    number of the returned position's metric)``.
    """
    p0 = mv(pos[4], z)
    h0 = -pos[1] + kinetic(pos[3], pos[5], p0)
    start = (pos, p0, h0, _dh_dtheta(ct, extra, pos, p0))
    end, code, steps, iterations, residual, evals = integrate(
        fn, ct, extra, kind, alpha, start, eps, n_steps, max_energy_error,
        atol, rtol, max_iter, memory, newton_iter,
    )  # fmt: skip
    evals += 1  # the reverse pass of the start
    if code == REVERSAL:  # a rejection that keeps detailed balance, not a divergence
        return pos, NONE, False, 0.0, np.inf, h0, steps, iterations, residual, evals, condition(pos)
    if code != NONE:
        error = end[2] - h0 if code == ENERGY else np.inf
        return pos, code, False, 0.0, error, h0, steps, iterations, residual, evals, condition(pos)
    error = end[2] - h0
    rate = np.exp(min(0.0, -error))
    accepted = log_u < -error
    chosen = end if accepted else start
    return (
        chosen[0], NONE, accepted, rate, error, chosen[2], steps, iterations, residual, evals,
        condition(chosen[0]),
    )  # fmt: skip


# -- entry points ---------------------------------------------------------------------------
#
# A model function reaches the kernel as two addresses (its cfunc wrapper and its Numba-callconv
# body) and its signature; :func:`_as_function` rebuilds the first-class function inside. Passing
# the dispatcher itself would make Numba link and re-optimise the model's code into every caller
# (measured: seconds per caller per model); a pointer costs one indirect call and the kernel is
# compiled once per signature, cached on disk.


@intrinsic
def _as_function(typingctx, c_addr, jit_addr, fnty_ref):
    fnty = fnty_ref.instance_type

    def codegen(context, builder, signature, args):
        sfunc = cgutils.create_struct_proxy(fnty)(context, builder)
        voidptr = context.get_value_type(types.voidptr)
        sfunc.c_addr = builder.inttoptr(args[0], voidptr)
        sfunc.jit_addr = builder.inttoptr(args[1], voidptr)
        sfunc.py_addr = cgutils.get_null_value(voidptr)
        return sfunc._getvalue()

    return fnty(types.int64, types.int64, fnty_ref), codegen


EVALUATE, LEAPFROG, INTEGRATE, TRANSITION = 0, 1, 2, 3


@_jit
def entry(
    op, fa, fj, ft, ca, cj, ctt, extra, kind, alpha, state, theta, eps, n_steps,
    max_energy_error, atol, rtol, max_iter, memory, newton_iter, z, log_u,
):  # fmt: skip
    """The kernel's one entry point, the model functions given by address.

    ``op``: ``EVALUATE`` (at ``theta``; the position comes back in ``state``, whose other
    entries are passed through), ``LEAPFROG`` (one step of size ``eps``), ``INTEGRATE``
    (``n_steps``) or ``TRANSITION`` (a whole fixed-length transition from ``state``'s position
    with momentum draw ``z`` and Metropolis draw ``log_u``). Returns
    ``(state, code, a, b, residual, evaluations)`` with ``a, b`` the momentum and position
    iterations of a leapfrog step, or the steps and fixed-point iterations of a trajectory; a
    transition returns in the momentum's place ``[accepted, acceptance rate, energy error,
    condition number]`` and in the energy's the returned energy. One function, not four: Numba
    re-optimises everything a compiled function calls, so each entry point would compile the
    leapfrog again.
    """
    fn, ct = _as_function(fa, fj, ft), _as_function(ca, cj, ctt)
    if op == EVALUATE:
        code, pos = evaluate(fn, extra, theta, kind, alpha)
        return (pos, state[1], state[2], state[3]), code, 0, 0, 0.0, 0
    if op == TRANSITION:
        pos, code, accepted, rate, error, energy, steps, its, res, evals, cond = transition(
            fn, ct, extra, kind, alpha, state[0], z, log_u, eps, n_steps, max_energy_error,
            atol, rtol, max_iter, memory, newton_iter,
        )  # fmt: skip
        stats = np.array([1.0 if accepted else 0.0, rate, error, cond])
        return (pos, stats, energy, state[3]), code, steps, its, res, evals
    if op == LEAPFROG:
        return leapfrog(
            fn, ct, extra, kind, alpha, state, eps, atol, rtol, max_iter, memory, newton_iter
        )
    return integrate(
        fn, ct, extra, kind, alpha, state, eps, n_steps, max_energy_error,
        atol, rtol, max_iter, memory, newton_iter,
    )  # fmt: skip


class NoKernelError(TypeError):
    """The model's functions cannot be called from the kernel (the reference runs instead)."""


def function_pointer(dispatcher: Any, args: tuple) -> tuple[int, int, types.FunctionType]:
    """``(cfunc address, body address, type)`` of a PyTensor Numba body compiled for ``args``.

    PyTensor's bodies are ``def f(*inputs)``: their one signature is the tuple of the inputs'
    types.
    """
    dispatcher(*args)  # compiles (or loads from PyTensor's cache) for these argument types
    cres = dispatcher.overloads.get((nb.typeof(args),))
    if cres is None:  # e.g. an op in object mode: PyTensor then compiles f(x, y, ...)
        raise NoKernelError("the function's Numba body does not take its inputs as one tuple")
    library, desc = cres.library, cres.fndesc
    return (
        library.get_pointer_to_function(desc.llvm_cfunc_wrapper_name),
        library.get_pointer_to_function(desc.llvm_func_name),
        types.FunctionType(cres.signature),
    )


def _empty_state(size: int) -> tuple:
    """A state of the kernel's types, to pass where ``op`` ignores the state."""
    e1, e2 = np.empty(0), np.empty((0, 0))
    pos = (np.zeros(size), 0.0, e1, e2, e2, 0.0, e2, e1, e1, e2)
    return (pos, e1, 0.0, e1)


class Bound:
    """One model's functions bound to the kernel's entry point.

    Parameters
    ----------
    evaluate_fn, contract_fn
        The model functions' Numba dispatchers (``Function.vm.jit_fn``).
    extra
        Values of each function's shared inputs (``(for evaluate, for contract)``); their types
        are fixed here, the values may change between calls.
    size
        Length of θ.

    Notes
    -----
    After the first call has fixed the argument types, the entry point is called through its
    compiled overload: Numba's dispatch on a type argument costs ~9 µs a call, the overload
    ~2 µs (measured), which matters once per leapfrog step of a No-U-Turn tree.
    """

    def __init__(self, evaluate_fn: Any, contract_fn: Any, extra: tuple, size: int) -> None:
        theta = np.zeros(size)
        self._functions = (
            *function_pointer(evaluate_fn, (theta, *extra[0])),
            *function_pointer(contract_fn, (theta, np.zeros((size, size)), *extra[1])),
        )
        self._empty = _empty_state(size)
        self._theta = theta
        self._call: Callable[..., Any] | None = None

    def _run(self, args: tuple) -> tuple:
        full = (args[0], *self._functions, *args[1:])
        if self._call is None:
            out = entry(*full)
            overload: Any = entry.overloads[tuple(nb.typeof(a) for a in full)]
            self._call = overload.entry_point
            return out
        return self._call(*full)

    def evaluate(self, extra: tuple, theta: np.ndarray, kind: int, alpha: float) -> tuple:
        """``(code, position)`` at ``theta``."""
        out = self._run(
            (EVALUATE, extra, kind, alpha, self._empty, theta, 0.0, 0, 0.0, 0.0, 0.0, 0, 0, 0,
             self._theta, 0.0)
        )  # fmt: skip
        return out[1], out[0][0]

    def leapfrog(
        self, extra: tuple, kind: int, alpha: float, state: tuple, eps: float,
        atol: float, rtol: float, max_iter: int, memory: int, newton_iter: int,
    ) -> tuple:  # fmt: skip
        """:func:`leapfrog`: ``(state, code, momentum its, position its, residual, evals)``."""
        return self._run(
            (LEAPFROG, extra, kind, alpha, state, self._theta, eps, 0, 0.0,
             atol, rtol, max_iter, memory, newton_iter, self._theta, 0.0)
        )  # fmt: skip

    def integrate(
        self, extra: tuple, kind: int, alpha: float, state: tuple, eps: float, n_steps: int,
        max_energy_error: float, atol: float, rtol: float, max_iter: int, memory: int,
        newton_iter: int,
    ) -> tuple:  # fmt: skip
        """:func:`integrate`: ``(state, code, steps, iterations, residual, evaluations)``."""
        return self._run(
            (INTEGRATE, extra, kind, alpha, state, self._theta, eps, n_steps, max_energy_error,
             atol, rtol, max_iter, memory, newton_iter, self._theta, 0.0)
        )  # fmt: skip

    def transition(
        self, extra: tuple, kind: int, alpha: float, pos: tuple, z: np.ndarray, log_u: float,
        eps: float, n_steps: int, max_energy_error: float, atol: float, rtol: float,
        max_iter: int, memory: int, newton_iter: int,
    ) -> tuple:  # fmt: skip
        """:func:`transition` from the position ``pos``.

        Returns ``(position, code, [accepted, rate, error, condition], energy, steps,
        iterations, residual, evaluations)``.
        """
        state = (pos, self._empty[1], 0.0, self._empty[3])
        out = self._run(
            (TRANSITION, extra, kind, alpha, state, self._theta, eps, n_steps, max_energy_error,
             atol, rtol, max_iter, memory, newton_iter, z, log_u)
        )  # fmt: skip
        (new_pos, stats, energy, _), code, steps, its, res, evals = out
        return new_pos, code, stats, energy, steps, its, res, evals
