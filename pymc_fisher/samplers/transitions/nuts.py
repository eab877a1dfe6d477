"""Riemannian No-U-Turn trajectory: multinomial NUTS on the generalized leapfrog.

The tree builder of Stan's ``base_nuts`` (multinomial sampling, Betancourt 2017) with the
generalized No-U-Turn criterion for Riemannian manifolds (Betancourt 2013): a (sub)trajectory
keeps turning while ``p♯₋ · ρ > 0`` and ``p♯₊ · ρ > 0``, where ``p♯ = G(θ)⁻¹p`` at its two ends
and ``ρ`` is the sum of the momenta over its states. Each merge of two sibling subtrees also
checks the two trajectories made of one sibling plus the adjacent state of the other (the
extra checks of Stan 2.21+, which catch U-turns that fall between the siblings).

Every tree node is one generalized-leapfrog step of the kernel (``Kernel.leapfrog``: the NumPy
reference or the compiled one), in either time direction (a negative step size integrates
backward; the integrator is symmetric). ``p♯`` reuses the
metric factorisation the integrator returns. Divergences of every kind stop the tree: an energy
error above ``max_energy_error`` (or a non-finite energy), an implicit solve that did not
converge (``"solver"``), a metric that is not positive definite (``"metric"``). States of a
divergent or internally U-turning subtree are never proposed.

Numeric core: NumPy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from pymc_fisher.samplers.core.kernel import Kernel
from pymc_fisher.samplers.core.options import SolverOptions
from pymc_fisher.samplers.core.types import DivergenceKind, IntegratorState, NutsInfo, PositionPoint
from pymc_fisher.samplers.metric.operations import draw_momentum, velocity

__all__ = ["build_trajectory", "no_u_turn", "nuts_transition"]


class _Edge(NamedTuple):
    """One end state of a (sub)trajectory with its ``p♯ = G⁻¹p``."""

    state: IntegratorState
    sharp: np.ndarray


class _Subtree(NamedTuple):
    """A valid subtree, ends named relative to the direction it was built in.

    ``inner`` is its first state (next to the existing trajectory), ``outer`` its last one.
    """

    inner: _Edge
    outer: _Edge
    proposal: IntegratorState
    rho: np.ndarray
    log_weight: float
    length: int


class _Tally:
    """Mutable counters shared by the recursion of one transition."""

    def __init__(self, h0: float, record: bool) -> None:
        self.h0 = h0
        self.n_steps = 0
        self.sum_accept = 0.0
        self.iterations = 0
        self.residual = 0.0
        self.evals = 0
        self.divergence: DivergenceKind = "none"
        self.time = {1: 0, -1: 0}
        self.states: dict[int, IntegratorState] | None = {} if record else None


def no_u_turn(sharp_minus: np.ndarray, sharp_plus: np.ndarray, rho: np.ndarray) -> bool:
    """Generalized No-U-Turn criterion: ``p♯₋ · ρ > 0`` and ``p♯₊ · ρ > 0``.

    Parameters
    ----------
    sharp_minus, sharp_plus
        ``G⁻¹p`` at the two ends of a trajectory (the test is symmetric in them).
    rho
        Sum of the momenta of the trajectory's states.

    Returns
    -------
    bool
        ``True`` while the trajectory has not turned back on itself.

    Examples
    --------
    >>> no_u_turn(np.array([1.0]), np.array([0.5]), np.array([2.0]))
    True
    >>> no_u_turn(np.array([1.0]), np.array([-0.5]), np.array([2.0]))
    False
    """
    return bool(sharp_minus @ rho > 0.0) and bool(sharp_plus @ rho > 0.0)


def _leaf(
    kernel: Kernel,
    state: IntegratorState,
    eps: float,
    direction: int,
    tally: _Tally,
    options: SolverOptions,
) -> _Subtree | None:
    """One generalized-leapfrog step as a tree of depth 0 (``None`` when it diverges)."""
    new, report = kernel.leapfrog(state, direction * eps, options)
    tally.n_steps += 1
    tally.iterations += report.momentum_iterations + report.position_iterations
    tally.residual = max(tally.residual, report.residual)
    tally.evals += report.gradient_evaluations
    if report.divergence != "none":
        tally.divergence = report.divergence
        return None
    h = float(new.energy)
    if not np.isfinite(h):
        h = np.inf
    log_weight = tally.h0 - h
    tally.sum_accept += float(np.exp(min(0.0, log_weight)))
    if -log_weight > options.max_energy_error:
        tally.divergence = "energy"
        return None
    tally.time[direction] += direction
    if tally.states is not None:
        tally.states[tally.time[direction]] = new
    edge = _Edge(new, velocity(new.position.metric, new.momentum))
    return _Subtree(edge, edge, new, new.momentum.copy(), log_weight, 1)


def _build_tree(
    kernel: Kernel,
    state: IntegratorState,
    depth: int,
    eps: float,
    direction: int,
    rng: np.random.Generator,
    tally: _Tally,
    options: SolverOptions,
) -> _Subtree | None:
    """Subtree of ``2**depth`` steps from ``state``; ``None`` if it diverges or U-turns.

    Within a subtree the proposal is drawn uniformly in the multinomial weights (Stan).
    """
    if depth == 0:
        return _leaf(kernel, state, eps, direction, tally, options)
    args = (eps, direction, rng, tally, options)
    init = _build_tree(kernel, state, depth - 1, *args)
    if init is None:
        return None
    final = _build_tree(kernel, init.outer.state, depth - 1, *args)
    if final is None:
        return None
    log_weight = float(np.logaddexp(init.log_weight, final.log_weight))
    proposal = init.proposal
    if rng.uniform() < np.exp(final.log_weight - log_weight):
        proposal = final.proposal
    rho = init.rho + final.rho
    # The merged subtree, then each sibling extended by the adjacent state of the other.
    persist = (
        no_u_turn(init.inner.sharp, final.outer.sharp, rho)
        and no_u_turn(init.inner.sharp, final.inner.sharp, init.rho + final.inner.state.momentum)
        and no_u_turn(init.outer.sharp, final.outer.sharp, final.rho + init.outer.state.momentum)
    )
    if not persist:
        return None
    return _Subtree(init.inner, final.outer, proposal, rho, log_weight, init.length + final.length)


def build_trajectory(
    kernel: Kernel,
    start: IntegratorState,
    step_size: float,
    rng: np.random.Generator,
    *,
    max_treedepth: int = 10,
    options: SolverOptions,
    directions: Sequence[int] | None = None,
    record: bool = False,
) -> tuple[IntegratorState, NutsInfo, list[IntegratorState]]:
    """Build a No-U-Turn trajectory from a phase-space state and draw a state from it.

    Parameters
    ----------
    kernel
        The integrator (its ``leapfrog``).
    start
        Initial state ``(θ, p)`` (momentum already drawn).
    step_size
        Step size ε > 0.
    rng
        Random generator (directions and the multinomial draws).
    max_treedepth
        At most this many doublings (``2**max_treedepth - 1`` steps).
    options
        Implicit-solver tolerances; a state whose energy exceeds ``H₀`` by more than
        ``options.max_energy_error`` is a divergence (``"energy"``).
    directions
        Time directions (``+1``/``-1``) of the successive doublings instead of random ones
        (for tests); must have at least ``max_treedepth`` entries.
    record
        Also return the states of the accepted trajectory, in time order.

    Returns
    -------
    IntegratorState, NutsInfo, list
        The drawn state, the statistics, and the trajectory's states (empty unless ``record``).

    Notes
    -----
    Biased progressive sampling between the old trajectory and a new subtree (the new subtree's
    proposal replaces the current one with probability ``min(1, w_new / w_old)``), uniform
    multinomial sampling inside subtrees, as Stan's ``base_nuts`` (Betancourt 2017, appendix A).
    The ends of the whole trajectory are kept in time order (``minus`` earliest, ``plus``
    latest), so each doubling checks the merged trajectory and both extended siblings.

    References
    ----------
    Betancourt, M. (2013). Generalizing the No-U-Turn Sampler to Riemannian manifolds.
    arXiv:1304.1920. Betancourt, M. (2017). A conceptual introduction to Hamiltonian Monte
    Carlo. arXiv:1701.02434.
    """
    tally = _Tally(start.energy, record)
    if tally.states is not None:
        tally.states[0] = start
    edge = _Edge(start, velocity(start.position.metric, start.momentum))
    minus, plus = edge, edge
    rho = start.momentum.copy()
    sample = start
    log_weight = 0.0
    valid_range = (0, 0)
    depth = 0
    with np.errstate(over="ignore", under="ignore"):
        while depth < max_treedepth:
            if directions is not None:
                direction = int(directions[depth])
            else:
                direction = 1 if rng.uniform() > 0.5 else -1
            origin = plus if direction == 1 else minus
            sub = _build_tree(
                kernel, origin.state, depth, step_size, direction, rng, tally, options
            )
            if sub is None:
                break
            depth += 1
            valid_range = (tally.time[-1], tally.time[1])
            # Biased progressive sampling (Betancourt 2017, app. A.3.2): favour the new subtree.
            if rng.uniform() < np.exp(sub.log_weight - log_weight):
                sample = sub.proposal
            log_weight = float(np.logaddexp(log_weight, sub.log_weight))
            old_rho = rho
            rho = old_rho + sub.rho
            if direction == 1:
                left_rho, right_rho = old_rho, sub.rho
                left_in, right_in = plus, sub.inner  # the two states where the siblings meet
                minus_end, plus_end = minus, sub.outer
                plus = sub.outer
            else:
                left_rho, right_rho = sub.rho, old_rho
                left_in, right_in = sub.inner, minus
                minus_end, plus_end = sub.outer, plus
                minus = sub.outer
            persist = (
                no_u_turn(minus_end.sharp, plus_end.sharp, rho)
                and no_u_turn(minus_end.sharp, right_in.sharp, left_rho + right_in.state.momentum)
                and no_u_turn(left_in.sharp, plus_end.sharp, right_rho + left_in.state.momentum)
            )
            if not persist:
                break
    error = float(sample.energy - start.energy)
    info = NutsInfo(
        accepted=sample is not start,
        acceptance_rate=tally.sum_accept / max(tally.n_steps, 1),
        energy_error=error,
        energy=float(sample.energy),
        divergence=tally.divergence,
        n_steps=tally.n_steps,
        fixed_point_iterations=tally.iterations,
        fixed_point_residual=tally.residual,
        gradient_evaluations=tally.evals,
        tree_depth=depth,
        reached_max_treedepth=depth >= max_treedepth,
    )
    states: list[IntegratorState] = []
    if tally.states is not None:
        lo, hi = valid_range
        states = [tally.states[t] for t in range(lo, hi + 1)]
    return sample, info, states


def nuts_transition(
    kernel: Kernel,
    point: PositionPoint,
    step_size: float,
    rng: np.random.Generator,
    max_treedepth: int,
    options: SolverOptions,
) -> tuple[PositionPoint, NutsInfo]:
    """One Riemannian No-U-Turn transition (the ``trajectory="nuts"`` of the step method).

    Parameters
    ----------
    kernel
        The integrator.
    point
        Current position (evaluated).
    step_size
        Step size ε.
    rng
        Random generator (momentum, directions, multinomial draws).
    max_treedepth
        At most this many doublings of the trajectory.
    options
        Implicit-solver tolerances and the divergence threshold.

    Returns
    -------
    PositionPoint, NutsInfo
        The next position and the statistics.

    Notes
    -----
    The momentum is drawn from ``N(0, G(θ))``; see :func:`build_trajectory`.

    Examples
    --------
    >>> from pymc_fisher.samplers.core.types import RiemannianSystem
    >>> from pymc_fisher.samplers.reference.kernel import reference_kernel
    >>> from pymc_fisher.samplers.metric.operations import direct_metric
    >>> from pymc_fisher.samplers.core.options import SolverOptions
    >>> metric = direct_metric()
    >>> def evaluate(q):
    ...     return PositionPoint(q, float(-0.5 * q @ q), -q, metric.factor(np.eye(q.size)))
    >>> kernel = reference_kernel(RiemannianSystem(evaluate, lambda q, w: np.zeros_like(q)))
    >>> rng = np.random.default_rng(0)
    >>> new, info = nuts_transition(kernel, evaluate(np.zeros(2)), 0.5, rng, 10, SolverOptions())
    >>> info.tree_depth > 0 and info.divergence == "none"
    True
    """
    p0 = draw_momentum(point.metric, rng)
    start = kernel.start(point, p0)
    sample, info, _ = build_trajectory(
        kernel, start, step_size, rng, max_treedepth=max_treedepth, options=options
    )
    # + the reverse pass of the start state
    info = info._replace(gradient_evaluations=info.gradient_evaluations + 1)
    return sample.position, info
