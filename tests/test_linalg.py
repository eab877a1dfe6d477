"""Cholesky-first helpers: positive-definiteness, regularisation policies, Gaussian draws."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pymc_fisher.errors import NotPositiveDefiniteError
from pymc_fisher.linalg import (
    cholesky,
    covariance,
    describe_non_positive_directions,
    gaussian_draws,
    gaussian_logpdf,
    is_positive_definite,
    minimal_jitter,
    regularized_precision,
    softabs,
)


def spd(n: int, seed: int = 0) -> np.ndarray:
    a = np.random.default_rng(seed).normal(size=(n, n))
    return a @ a.T + n * np.eye(n)


def test_positive_definiteness_ignores_parameter_scales():
    a = spd(4)
    scales = np.array([1e-6, 1.0, 1e4, 1e8])
    assert is_positive_definite(scales[:, None] * a * scales[None, :])
    assert not is_positive_definite(np.array([[1.0, 1.0], [1.0, 1.0]]))
    assert not is_positive_definite(np.diag([1.0, -1e-3]))
    assert not is_positive_definite(np.array([[1.0, np.nan], [np.nan, 1.0]]))


def test_softabs_maps_eigenvalues_and_keeps_vectors():
    a = spd(3, seed=1)
    values, vectors = np.linalg.eigh(a)
    signed = (vectors * (values * np.array([-1, 1, 0]))) @ vectors.T  # eigenvalues −λ₁, λ₂, 0
    out = softabs(signed, alpha=1e3)
    out_values, out_vectors = np.linalg.eigh(out)
    expected = np.sort([values[0] / np.tanh(1e3 * values[0]), values[1], 1e-3])
    np.testing.assert_allclose(out_values, expected, rtol=1e-12)
    np.testing.assert_allclose(np.abs(out_vectors.T @ vectors).max(axis=1), 1.0, atol=1e-10)


def test_minimal_jitter_is_minimal_to_one_percent():
    a = np.diag([4.0, 1.0, -0.5])
    tau = minimal_jitter(a)
    eye = np.eye(3)
    assert is_positive_definite(a + tau * eye)
    assert not is_positive_definite(a + 0.98 * tau * eye)
    assert 0.5 < tau < 0.51
    assert minimal_jitter(spd(3)) == 0.0


def test_error_names_negative_and_flat_directions_by_label():
    a = np.array([[2.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 1.0, 1.0]])
    text = describe_non_positive_directions(a, ["x", "y", "z"])
    assert text.startswith("flat along 0.707·y − 0.707·z")
    with pytest.raises(NotPositiveDefiniteError, match=r"negative along .*x"):
        regularized_precision(np.diag([-1.0, 3.0]), ["x", "w"], policy="error")


@pytest.mark.parametrize("policy", ["jitter", "softabs"])
def test_policies_return_positive_definite_and_report(policy):
    a = np.array([[1.0, 1.0], [1.0, 1.0]])
    out, report = regularized_precision(a, ["a", "b"], policy=policy)
    assert is_positive_definite(out)
    assert not report.positive_definite
    assert report.policy == policy
    assert "flat along" in report.message
    np.testing.assert_allclose(report.eigenvalues, [0.0, 2.0], atol=1e-12)


def test_warn_policy_warns_and_jitters():
    with pytest.warns(UserWarning, match="Adding .* to the diagonal"):
        out, report = regularized_precision(np.diag([1.0, 0.0]), ["a", "b"], policy="warn")
    assert report.jitter > 0
    np.testing.assert_allclose(out, np.diag([1.0, 0.0]) + report.jitter * np.eye(2))


def test_positive_definite_input_is_returned_unchanged():
    a = spd(3)
    out, report = regularized_precision(a, ["a", "b", "c"], policy="error")
    np.testing.assert_array_equal(out, a)
    assert report.policy == "none"
    assert report.jitter == 0.0


def test_covariance_logpdf_and_draws_from_the_cholesky_factor():
    p = spd(4, seed=3)
    factor = cholesky(p)
    cov = covariance(factor)
    np.testing.assert_allclose(cov @ p, np.eye(4), atol=1e-12)
    mean = np.arange(4.0)
    x = np.random.default_rng(0).normal(size=(5, 4))
    np.testing.assert_allclose(
        gaussian_logpdf(x, mean, factor), stats.multivariate_normal(mean, cov).logpdf(x)
    )
    # draws are μ + U⁻¹z: U(x − μ) recovers the standard normals exactly
    draws = gaussian_draws(mean, factor, 3, np.random.default_rng(1))
    z = np.random.default_rng(1).standard_normal((4, 3))
    np.testing.assert_allclose((draws - mean) @ factor.upper.T, z.T, atol=1e-12)
    with pytest.raises(NotPositiveDefiniteError):
        cholesky(np.diag([1.0, -1.0]))
