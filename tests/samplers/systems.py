"""Small NumPy Riemannian systems with known answers, for the numeric-core tests."""

from __future__ import annotations

import numpy as np

from pymc_fisher.samplers.core.types import PositionPoint, RiemannianSystem
from pymc_fisher.samplers.metric.operations import Metric, direct_metric


def make_system(logp_grad, matrix, contract, metric: Metric | None = None) -> RiemannianSystem:
    metric = metric or direct_metric()

    def evaluate(theta):
        logp, grad = logp_grad(theta)
        if not np.isfinite(logp):
            return "energy"
        factor = metric.factor(matrix(theta))
        if factor is None:
            return "metric"
        return PositionPoint(np.asarray(theta, dtype=float), float(logp), grad, factor)

    return RiemannianSystem(evaluate, contract)


def sinh_system() -> RiemannianSystem:
    """θ_i = asinh(x_i) with x ~ N(0, I) and metric G = diag(cosh² θ).

    In x-coordinates the Hamiltonian is x²/2 + p_x²/2 with p_x = p / cosh θ, so the exact flow
    is x(t) = x cos t + p_x sin t: a non-separable Hamiltonian with a closed-form trajectory.
    """

    def logp_grad(q):
        s, c = np.sinh(q), np.cosh(q)
        return float(np.sum(-0.5 * s**2 + np.log(c))), -s * c + np.tanh(q)

    def matrix(q):
        return np.diag(np.cosh(q) ** 2)

    def contract(q, w):
        return 2.0 * np.cosh(q) * np.sinh(q) * np.diag(w)

    return make_system(logp_grad, matrix, contract)


def sinh_exact(q0, p0, t):
    x0 = np.sinh(q0)
    px0 = p0 / np.cosh(q0)
    x = x0 * np.cos(t) + px0 * np.sin(t)
    px = -x0 * np.sin(t) + px0 * np.cos(t)
    q = np.arcsinh(x)
    return q, px * np.cosh(q)


def rank_one_system(precision: np.ndarray, scale: float = 0.5) -> RiemannianSystem:
    """Gaussian target with the position-dependent dense metric G(θ) = I + s θθᵀ."""

    def logp_grad(q):
        g = precision @ q
        return float(-0.5 * q @ g), -g

    def matrix(q):
        return np.eye(q.size) + scale * np.outer(q, q)

    def contract(q, w):
        return scale * (w + w.T) @ q

    return make_system(logp_grad, matrix, contract)
