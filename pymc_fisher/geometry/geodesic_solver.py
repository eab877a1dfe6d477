"""Boundary-value solve of the geodesic equation of a Riemannian metric (numeric core).

Pure NumPy/SciPy: the metric ``G(θ)`` and the geodesic acceleration ``a(θ, v) = −Γ(θ)[v, v]``
come in as callables, so this module imports neither PyMC nor PyTensor's model code.

The geodesic joining ``θ_a`` and ``θ_b`` is the stationary path of the action
``S = ∫₀¹ ½ θ̇ᵀ G(θ) θ̇ dt``; its Euler–Lagrange equation is the geodesic equation
``θ̈ᵏ + Γᵏᵢⱼ θ̇ⁱ θ̇ʲ = 0``, solved as the first-order system ``y = (θ, v)`` with
``θ(0) = θ_a``, ``θ(1) = θ_b`` by ``scipy.integrate.solve_bvp`` (a collocation method).
Along a geodesic the speed ``√(θ̇ᵀGθ̇)`` is constant; its length is the Fisher–Rao distance.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from scipy import integrate

__all__ = ["GeodesicSolution", "minimize_action", "path_length", "solve_geodesic"]

Acceleration = Callable[[np.ndarray, np.ndarray], np.ndarray]
Metric = Callable[[np.ndarray], np.ndarray]
# (θ, v) -> (vᵀG(θ)v, ∇_θ(vᵀG(θ)v), G(θ)v)
Energy = Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray, np.ndarray]]


class GeodesicSolution(NamedTuple):
    """A solved geodesic and the solver's report.

    Attributes
    ----------
    t
        Times in ``[0, 1]`` where the path is given.
    theta
        The path, ``(len(t), k)``.
    velocity
        ``θ̇`` along the path, ``(len(t), k)``.
    length
        ``∫ √(θ̇ᵀ G θ̇) dt``: the Fisher–Rao distance when the solve converged.
    speed_spread
        ``(max − min) / mean`` of the speed along the path; 0 for an exact geodesic.
    converged
        Whether the collocation solve met its tolerance.
    residual
        Largest relative residual of the collocation equations.
    nodes
        Mesh nodes used.
    message
        The solver's message.
    """

    t: np.ndarray
    theta: np.ndarray
    velocity: np.ndarray
    length: float
    speed_spread: float
    converged: bool
    residual: float
    nodes: int
    message: str


def path_length(
    metric: Metric, theta: np.ndarray, velocity: np.ndarray, t: np.ndarray
) -> tuple[float, np.ndarray]:
    """``∫ √(θ̇ᵀ G(θ) θ̇) dt`` by Simpson's rule, and the speed at each time."""
    speed = np.array(
        [np.sqrt(max(float(v @ metric(x) @ v), 0.0)) for x, v in zip(theta, velocity, strict=True)]
    )
    return float(integrate.simpson(speed, x=t)), speed


def minimize_action(
    energy: Energy,
    theta_a: np.ndarray,
    theta_b: np.ndarray,
    *,
    segments: int = 32,
    maxiter: int = 500,
    gtol: float = 1e-6,
) -> tuple[np.ndarray, bool]:
    """Minimise the discretised action over the interior nodes of a path (BFGS).

    With nodes ``θ_0 = θ_a, …, θ_N = θ_b``, ``h = 1/N``, midpoints ``m_i`` and velocities
    ``v_i = (θ_{i+1} − θ_i)/h``, the midpoint rule gives ``S = Σ_i ½ h v_iᵀ G(m_i) v_i``, with
    ``∂S/∂θ_i = ¼h (g_{i−1} + g_i) + G(m_{i−1}) v_{i−1} − G(m_i) v_i`` where
    ``g = ∇_θ(vᵀGv)`` at the midpoint. Returns the nodes ``(N + 1, k)`` and whether BFGS
    converged; the result is a starting path for the collocation solve.
    """
    from scipy import optimize

    theta_a = np.asarray(theta_a, dtype=float)
    theta_b = np.asarray(theta_b, dtype=float)
    k, n = theta_a.size, segments
    h = 1.0 / n
    line = theta_a + np.outer(np.linspace(0.0, 1.0, n + 1), theta_b - theta_a)

    def objective(interior: np.ndarray) -> tuple[float, np.ndarray]:
        nodes = np.vstack([theta_a, interior.reshape(n - 1, k), theta_b])
        mids = 0.5 * (nodes[1:] + nodes[:-1])
        vels = (nodes[1:] - nodes[:-1]) / h
        total, g, gv = 0.0, np.empty((n, k)), np.empty((n, k))
        for i in range(n):
            e, g[i], gv[i] = energy(mids[i], vels[i])
            total += 0.5 * h * e
        if not np.isfinite(total):
            return np.inf, np.zeros_like(interior)
        grad = 0.25 * h * (g[:-1] + g[1:]) + gv[:-1] - gv[1:]
        return total, grad.reshape(-1)

    with np.errstate(all="ignore"):
        res = optimize.minimize(
            objective,
            line[1:-1].reshape(-1),
            jac=True,
            method="BFGS",  # dense BFGS: few unknowns; scipy's L-BFGS-B is slower per step here
            options={"maxiter": maxiter, "gtol": gtol},
        )
    nodes = np.vstack([theta_a, res.x.reshape(n - 1, k), theta_b])
    return nodes, bool(res.success)


def solve_geodesic(
    acceleration: Acceleration,
    metric: Metric,
    theta_a: np.ndarray,
    theta_b: np.ndarray,
    *,
    nodes: int = 21,
    tol: float = 1e-8,
    max_nodes: int = 5000,
    evaluation_points: int = 401,
    initial_path: np.ndarray | None = None,
) -> GeodesicSolution:
    """Solve the geodesic boundary-value problem between ``theta_a`` and ``theta_b``.

    Parameters
    ----------
    acceleration
        ``a(θ, v) = −Γ(θ)[v, v]``, the geodesic equation's right-hand side.
    metric
        ``G(θ)``, for the length.
    theta_a, theta_b
        End points.
    nodes
        Initial mesh size; the initial guess is the straight line in these coordinates.
    tol
        ``solve_bvp``'s relative tolerance on the collocation residuals.
    max_nodes
        Mesh refinement limit.
    evaluation_points
        Points (odd) where the solution is evaluated for the length quadrature.
    initial_path
        Nodes ``(m, k)`` at equally spaced times to start from (e.g. from
        ``minimize_action``); default the straight line on ``nodes`` points.

    Returns
    -------
    GeodesicSolution
    """
    theta_a = np.asarray(theta_a, dtype=float)
    theta_b = np.asarray(theta_b, dtype=float)
    k = theta_a.size

    def fun(_t: np.ndarray, y: np.ndarray) -> np.ndarray:
        theta, v = y[:k], y[k:]
        acc = np.empty_like(v)
        for j in range(y.shape[1]):
            acc[:, j] = acceleration(theta[:, j], v[:, j])
        return np.vstack([v, acc])

    def bc(ya: np.ndarray, yb: np.ndarray) -> np.ndarray:
        return np.concatenate([ya[:k] - theta_a, yb[:k] - theta_b])

    if initial_path is None:
        initial_path = theta_a + np.outer(np.linspace(0.0, 1.0, nodes), theta_b - theta_a)
    mesh = np.linspace(0.0, 1.0, len(initial_path))
    velocity_guess = np.gradient(initial_path, mesh, axis=0)
    guess = np.vstack([initial_path.T, velocity_guess.T])
    with np.errstate(all="ignore"):
        sol = integrate.solve_bvp(fun, bc, mesh, guess, tol=tol, max_nodes=max_nodes)
    t = np.linspace(0.0, 1.0, evaluation_points)
    y = sol.sol(t)
    theta, velocity = y[:k].T, y[k:].T
    length, speed = path_length(metric, theta, velocity, t)
    mean = float(np.mean(speed))
    spread = float((speed.max() - speed.min()) / mean) if mean > 0 else 0.0
    residual = float(np.max(sol.rms_residuals)) if sol.rms_residuals.size else 0.0
    return GeodesicSolution(
        t=t,
        theta=theta,
        velocity=velocity,
        length=length,
        speed_spread=spread,
        converged=bool(sol.success) and bool(np.all(np.isfinite(theta))),
        residual=residual,
        nodes=int(sol.x.size),
        message=str(sol.message),
    )
