"""The generalized leapfrog and the fixed trajectory compiled with Numba: the compiled kernel.

:mod:`.reference.integrator`, :mod:`.reference.trajectory`, :mod:`.reference.solvers` and
:mod:`.metric.operations` are the reference: NumPy, readable, and able to run any
:class:`~.core.types.RiemannianSystem` (the tests' closed-form systems included). This module is the
same algorithm, step for step — same initial guesses, same Anderson update, same Newton fallback,
same subdivided steps and reversibility check, same divergence kinds and counters — compiled with
Numba, on the same types: :class:`~.core.types.PositionPoint`,
:class:`~.core.types.IntegratorState`, :class:`~.core.types.MetricFactor` and
:class:`~.core.options.SolverOptions` are named tuples that Numba makes and reads as they are. The
tests hold the two to each other transition by transition.

The model reaches the kernel as a :class:`ModelFunctions` tuple: two first-class functions of
fixed types (:mod:`.compiled.binding` makes them from the model's compiled PyTensor functions) and
the addresses and shapes of their shared inputs. Divergence kinds are small integers here
(their index in :data:`~..core.types.DIVERGENCE_KINDS`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numba as nb
import numpy as np

from pymc_fisher.samplers.core.options import LANDING_TOLERANCE, MAX_HALVINGS
from pymc_fisher.samplers.core.types import DIVERGENCE_KINDS, IntegratorState, PositionPoint
from pymc_fisher.samplers.metric.compiled import (
    condition,
    direct_factor,
    kinetic,
    mv,
    pull_back,
    softabs_factor,
    weights,
)

__all__ = [
    "DIRECT",
    "SOFTABS",
    "ModelFunctions",
    "evaluate",
    "integrate",
    "leapfrog",
    "subdivided_leapfrog",
    "transition",
]

DIRECT, SOFTABS = 0, 1
# divergence codes, indexed like the reference's DivergenceKind strings
NONE, ENERGY, SOLVER, METRIC, REVERSAL = (
    DIVERGENCE_KINDS.index(kind) for kind in ("none", "energy", "solver", "metric", "reversal")
)

_jit = nb.njit(cache=True, nogil=True)


class ModelFunctions(NamedTuple):
    """The model and its metric as the kernel calls them.

    Attributes
    ----------
    evaluate
        ``(θ, addresses, shapes) -> (log p, ∇log p, A)``.
    contract
        ``(θ, W, addresses, shapes) -> ∇_θ Σ A ∘ W``.
    evaluate_addresses, evaluate_shapes, contract_addresses, contract_shapes
        Data addresses and shapes of each function's shared inputs (data, the values of
        variables another step samples), read by the functions at each call.
    kind
        ``DIRECT`` (``G = A``) or ``SOFTABS`` (``G`` the SoftAbs of ``A``).
    alpha
        SoftAbs sharpness.
    """

    evaluate: Any
    contract: Any
    evaluate_addresses: np.ndarray
    evaluate_shapes: np.ndarray
    contract_addresses: np.ndarray
    contract_shapes: np.ndarray
    kind: int
    alpha: float


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
def _converged(residual, x, tol):
    return residual <= tol * (1.0 + np.abs(x).max())


# -- functions of the model -----------------------------------------------------------------


@_jit
def evaluate(model, theta):
    """``(code, position)`` at θ; code ``ENERGY``/``METRIC`` when log p or G fails there."""
    logp, grad, A = model.evaluate(theta, model.evaluate_addresses, model.evaluate_shapes)
    code = NONE
    if not (np.isfinite(logp) and np.all(np.isfinite(grad))):
        code = ENERGY
    if model.kind == SOFTABS:
        ok, metric = softabs_factor(A, model.alpha)
    else:
        ok, metric = direct_factor(A)
    if code == NONE and not ok:
        code = METRIC
    return code, PositionPoint(theta, logp, grad, metric)


@_jit
def _contract(model, theta, W):
    return model.contract(theta, W, model.contract_addresses, model.contract_shapes)


@_jit
def hamiltonian_gradient(model, pos, p):
    """``∇_θH = -∇log p + ∇_θ Σ A ∘ W`` (one reverse pass)."""
    return -pos.grad_logp + _contract(model, pos.theta, weights(pos.metric, p))


@_jit
def start_state(model, pos, p):
    """Phase-space state at ``(θ, p)`` (reference: ``integrator_state``)."""
    energy = -pos.logp + kinetic(pos.metric, p)
    return IntegratorState(pos, p, energy, hamiltonian_gradient(model, pos, p))


@_jit
def _newton_momentum(model, pos, p0, eps, guess, options):
    """Newton's method on ``p = p0 - ε/2 ∇_θH(θ, p)`` (reference: ``_newton_momentum``).

    Returns ``(p, ∇_θH, converged, residual, iterations, failed)``.
    """
    d = p0.size
    inverse = pos.metric.inverse
    p = guess.copy()
    grad = np.zeros(d)
    residual = np.inf
    for it in range(1, options.newton_iterations + 1):
        grad = hamiltonian_gradient(model, pos, p)
        r = p - p0 + 0.5 * eps * grad
        residual = np.abs(r).max()
        if not residual < np.inf:
            return p, grad, False, np.inf, it, True
        if residual <= options.tol * (1.0 + np.abs(p).max()):
            return p, grad, True, residual, it, False
        v = mv(inverse, p)
        jac = np.eye(d)
        for j in range(d):
            u = inverse[:, j].copy()
            c = -0.5 * (np.outer(u, v) + np.outer(v, u))
            jac[:, j] += 0.5 * eps * _contract(model, pos.theta, pull_back(pos.metric, c))
        try:
            p = p - np.linalg.solve(jac, r)
        except Exception:  # a singular Jacobian: the solve failed, as in the reference
            return p, grad, False, residual, it, False
    return p, grad, False, residual, options.newton_iterations, False


@_jit
def leapfrog(model, state, eps, options):
    """One generalized-leapfrog step (reference: ``integrator.generalized_leapfrog``).

    Returns ``(state, code, momentum iterations, position iterations, residual, evaluations)``;
    on a divergence the state is the input state.
    """
    pos, p0, dh0 = state.position, state.momentum, state.dH_dtheta
    theta = pos.theta
    d = theta.size
    memory, max_iter, tol = options.anderson_memory, options.max_iterations, options.tol
    m = max(memory, 1)
    n_evals = 0
    # p½ = p - ε/2 ∇_θH(θ, p½)  (implicit in p½), Anderson-accelerated
    # under the reverse check, a guess that is a function of the state alone
    x = p0 + 0.5 * eps * pos.grad_logp if options.reverse_check else p0 - 0.5 * eps * dh0
    dx_hist, df_hist = np.zeros((m, d)), np.zeros((m, d))
    prev_x, prev_f = np.zeros(d), np.zeros(d)
    count, have_prev = 0, False
    grad = dh0
    mom_done, mom_failed, mom_res, mom_it = False, False, np.inf, 0
    solution = x
    for it in range(1, max_iter + 1):
        mom_it = it
        grad = hamiltonian_gradient(model, pos, x)
        fx = p0 - 0.5 * eps * grad
        f = fx - x
        mom_res = np.abs(f).max() if d else 0.0
        solution = x
        if not mom_res < np.inf:
            mom_res, mom_failed = np.inf, True
            break
        if _converged(mom_res, x, tol):
            mom_done = True
            break
        x, count = _anderson(x, fx, f, dx_hist, df_hist, count, prev_x, prev_f, have_prev, memory)
        have_prev = True
    n_evals += mom_it
    if not mom_done and not mom_failed and options.newton_iterations > 0:
        # Picard/Anderson fails where the momentum map is not a contraction; Newton finds the
        # same root (d + 1 reverse passes per Newton step)
        solution, grad, mom_done, mom_res, mom_it, mom_failed = _newton_momentum(
            model, pos, p0, eps, solution, options
        )
        n_evals += mom_it * (1 + d)
    if not mom_done:
        return state, ENERGY if mom_failed else SOLVER, mom_it, 0, mom_res, n_evals
    p_half = solution
    v0 = mv(pos.metric.inverse, p_half)
    # θ' = θ + ε/2 [G⁻¹(θ) + G⁻¹(θ')] p½  (implicit in θ')
    x = theta + eps * v0
    count, have_prev = 0, False
    new_pos = pos
    pos_done, pos_code, pos_res, pos_it = False, NONE, np.inf, 0
    for it in range(1, max_iter + 1):
        pos_it = it
        code, cand = evaluate(model, x)
        if code != NONE:
            pos_code, pos_res = code, np.inf
            break
        new_pos = cand
        fx = theta + 0.5 * eps * (v0 + mv(cand.metric.inverse, p_half))
        f = fx - x
        pos_res = np.abs(f).max() if d else 0.0
        if not pos_res < np.inf:
            pos_code, pos_res = ENERGY, np.inf
            break
        if _converged(pos_res, x, tol):
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
    grad = hamiltonian_gradient(model, new_pos, p_half)
    n_evals += 1
    p_new = p_half - 0.5 * eps * grad
    energy = -new_pos.logp + kinetic(new_pos.metric, p_new)
    new = IntegratorState(new_pos, p_new, energy, grad)
    return new, NONE, mom_it, pos_it, residual, n_evals


@_jit
def _substeps(model, state, eps, k, options):
    """``k`` steps of ``eps / k`` (reference: ``trajectory._substeps``)."""
    current = state
    it_p, it_q, residual, evals = 0, 0, 0.0, 0
    for _ in range(k):
        new, code, a, b, res, n = leapfrog(model, current, eps / k, options)
        it_p, it_q, residual, evals = it_p + a, it_q + b, max(residual, res), evals + n
        if code != NONE:
            return state, code, it_p, it_q, residual, evals
        if not abs(new.energy - state.energy) <= options.max_energy_error:
            return state, ENERGY, it_p, it_q, residual, evals
        current = new
    return current, NONE, it_p, it_q, residual, evals


@_jit
def _returns_to(back, start, tol):
    """Whether a reverse step landed at the start (reference: ``trajectory.returns_to``)."""
    bound = LANDING_TOLERANCE * tol
    gap = np.max(np.abs(back.position.theta - start.position.theta))
    if not gap <= bound * (1.0 + np.max(np.abs(start.position.theta))):
        return False
    gap = np.max(np.abs(back.momentum - start.momentum))
    return gap <= bound * (1.0 + np.max(np.abs(start.momentum)))


@_jit
def subdivided_leapfrog(model, state, eps, options):
    """A step that halves on a failed solve, reversibly (reference: ``subdivided_leapfrog``)."""
    new, code, it_p, it_q, residual, evals = _substeps(model, state, eps, 1, options)
    k = 1
    while code in (SOLVER, ENERGY) and k < 2**MAX_HALVINGS:
        k *= 2
        new, code, a, b, res, n = _substeps(model, state, eps, k, options)
        it_p, it_q, residual, evals = it_p + a, it_q + b, max(residual, res), evals + n
    if code != NONE or (k == 1 and not options.reverse_check):
        return new, code, it_p, it_q, residual, evals
    k_back = 1
    while k_back < k:
        _, back, a, b, res, n = _substeps(model, new, -eps, k_back, options)
        it_p, it_q, residual, evals = it_p + a, it_q + b, max(residual, res), evals + n
        if back not in (SOLVER, ENERGY):
            return state, REVERSAL, it_p, it_q, residual, evals
        k_back *= 2
    if options.reverse_check:  # the reverse with k substeps must succeed, and land at the start
        returned, back, a, b, res, n = _substeps(model, new, -eps, k, options)
        it_p, it_q, residual, evals = it_p + a, it_q + b, max(residual, res), evals + n
        if back != NONE or not _returns_to(returned, state, options.tol):
            return state, REVERSAL, it_p, it_q, residual, evals
    return new, NONE, it_p, it_q, residual, evals


@_jit
def integrate(model, state, eps, n_steps, options):
    """``n_steps`` leapfrog steps, stopping at the first divergence (reference: ``integrate``).

    Returns ``(state, code, steps, fixed-point iterations, max residual, evaluations)``.
    """
    h0 = state.energy
    iterations, residual, evals = 0, 0.0, 0
    for i in range(n_steps):
        new, code, it_p, it_q, res, n = subdivided_leapfrog(model, state, eps, options)
        iterations += it_p + it_q
        residual = max(residual, res)
        evals += n
        if code != NONE:
            return state, code, i + 1, iterations, residual, evals
        state = new
        error = state.energy - h0
        if not np.isfinite(error) or error > options.max_energy_error:
            return state, ENERGY, i + 1, iterations, residual, evals
    return state, NONE, n_steps, iterations, residual, evals


@_jit
def transition(model, pos, z, log_u, eps, n_steps, options):
    """One fixed-length transition from ``pos`` (reference: ``trajectory.transition``).

    ``z`` is the standard normal draw of the momentum ``p = S z`` and ``log_u`` the log of the
    uniform draw of the Metropolis test. Returns ``(position, code, accepted, acceptance rate,
    energy error, energy, steps, fixed-point iterations, max residual, evaluations, condition
    number of the returned position's metric)``; a reversibility rejection returns code
    ``REVERSAL`` (a rejection that keeps detailed balance, not a divergence) with acceptance
    rate 0.
    """
    p0 = mv(pos.metric.sqrt, z)
    start = start_state(model, pos, p0)
    h0 = start.energy
    end, code, steps, iterations, residual, evals = integrate(model, start, eps, n_steps, options)
    evals += 1  # the reverse pass of the start
    if code != NONE:
        error = end.energy - h0 if code == ENERGY else np.inf
        cond = condition(pos.metric)
        return pos, code, False, 0.0, error, h0, steps, iterations, residual, evals, cond
    error = end.energy - h0
    rate = np.exp(min(0.0, -error))
    accepted = log_u < -error
    chosen = end if accepted else start
    cond = condition(chosen.position.metric)
    return (
        chosen.position, NONE, accepted, rate, error, chosen.energy, steps, iterations, residual,
        evals, cond,
    )  # fmt: skip
