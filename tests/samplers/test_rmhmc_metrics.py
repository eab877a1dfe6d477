"""Metric bundles: the ½ log det G term, SoftAbs derivatives at repeated eigenvalues."""

from __future__ import annotations

import numpy as np
import pytest

from pymc_fisher.linalg import softabs_divided_differences, softabs_values
from pymc_fisher.samplers.metric.operations import (
    condition_number,
    contraction_weights,
    direct_metric,
    draw_momentum,
    kinetic_energy,
    softabs_metric,
)


def _hessian_fn(theta):
    """A symmetric matrix function with H(1, 1, 1) = 2 I (a triple eigenvalue)."""
    a, b, c = theta
    return np.array(
        [
            [1 + a**2, (a - b) * c, 0.0],
            [(a - b) * c, 1 + b**2, (b - 1) * a],
            [0.0, (b - 1) * a, c**2 + 1],
        ]
    )


def _fd_gradient(f, x, h=1e-6):
    out = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        out[i] = (f(x + e) - f(x - e)) / (2 * h)
    return out


def _contract_fd(matrix_fn, theta, w, h=1e-6):
    return _fd_gradient(lambda t: np.sum(matrix_fn(t) * w), theta, h)


def test_kinetic_energy_has_half_logdet():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(4, 4))
    g = a @ a.T + 4 * np.eye(4)
    f = direct_metric().factor(g)
    p = rng.normal(size=4)
    logdet = np.linalg.slogdet(g)[1]
    assert kinetic_energy(f, np.zeros(4)) == pytest.approx(0.5 * logdet, rel=1e-12)
    assert kinetic_energy(f, p) == pytest.approx(0.5 * logdet + 0.5 * p @ np.linalg.solve(g, p))


@pytest.mark.parametrize("metric", [direct_metric(), softabs_metric(alpha=2.0)])
@pytest.mark.parametrize("theta", [np.array([1.0, 1.0, 1.0]), np.array([0.3, -1.2, 0.8])])
def test_metric_derivative_matches_finite_differences(metric, theta):
    """∇_θ[½ log det G + ½ pᵀG⁻¹p] by weights on A vs central differences of the energy."""
    p = np.array([0.4, -1.1, 0.7])

    def energy(t):
        return kinetic_energy(metric.factor(_hessian_fn(t)), p)

    factor = metric.factor(_hessian_fn(theta))
    w = contraction_weights(factor, p)
    analytic = _contract_fd(_hessian_fn, theta, w)
    assert np.all(np.isfinite(w))
    np.testing.assert_allclose(analytic, _fd_gradient(energy, theta), rtol=1e-6, atol=1e-7)
    # p = 0 isolates the ½ log det G term.
    w0 = contraction_weights(factor, np.zeros(3))
    half_logdet = _fd_gradient(lambda t: 0.5 * metric.factor(_hessian_fn(t)).logdet, theta)
    np.testing.assert_allclose(_contract_fd(_hessian_fn, theta, w0), half_logdet, atol=1e-7)


def _divided(lam, alpha):
    g, dg = softabs_values(lam, alpha)
    return g, softabs_divided_differences(lam, g, dg)


def test_softabs_finite_at_repeated_and_zero_eigenvalues():
    for lam in (np.ones(5), np.zeros(4), np.array([-2.0, -2.0, 2.0, 1e-9, 0.0, 50.0, 50.0])):
        g, d = _divided(lam, 1e3)
        assert np.all(np.isfinite(g))
        assert np.all(np.isfinite(d))
        assert np.all(g > 0)
    # The limit formula is continuous: nearly equal eigenvalues give the same D.
    _, d_eq = _divided(np.array([1.0, 1.0]), 3.0)
    _, d_near = _divided(np.array([1.0, 1.0 + 1e-4]), 3.0)
    np.testing.assert_allclose(d_eq, d_near, atol=1e-4)


def test_softabs_is_abs_for_large_alpha_and_positive_definite():
    h = np.diag([-3.0, 0.0, 2.0])
    f = softabs_metric(alpha=1e6).factor(h)
    np.testing.assert_allclose(f.eigenvalues, [3.0, 1e-6, 2.0], rtol=1e-6)
    assert condition_number(f) == pytest.approx(3e6, rel=1e-6)


def test_direct_metric_rejects_indefinite_and_draws_with_covariance_g():
    assert direct_metric().factor(np.diag([1.0, -1.0])) is None
    g = np.array([[2.0, 0.5], [0.5, 1.0]])
    f = direct_metric().factor(g)
    rng = np.random.default_rng(0)
    draws = np.array([draw_momentum(f, rng) for _ in range(4000)])
    # Entrywise sd of a sample covariance of 4000 draws is < 0.05 here; 0.2 is > 4 sd.
    np.testing.assert_allclose(np.cov(draws.T), g, atol=0.2)
