"""pmf.identifiability against closed forms: rank, null directions named in parameter terms,
the likelihood's information against the prior's, and typed errors.

Model parameters are float64 arrays, not Python floats: PyTensor makes a Python float that
float32 represents exactly (1.5, 2.0) a float32 constant, so PyMC's ``log(sigma)`` is then off
by about 1e-8, which would blur the closed forms.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest

import pymc_fisher as pmf
from pymc_fisher.identifiability import default_rtol, describe_direction, spectrum

F = np.float64
Y = np.array([0.5, 1.5, 1.0, -0.3])
N = len(Y)
PRIOR_SD = F(3.0)


@pytest.fixture(scope="module")
def sum_model() -> pm.Model:
    """y ~ N(a + b, 1): a + b is identified, a − b is not; N(0, 3) priors on both."""
    with pm.Model() as model:
        a = pm.Normal("a", F(0.0), PRIOR_SD)
        b = pm.Normal("b", F(0.0), PRIOR_SD)
        pm.Deterministic("s", a + b)
        pm.Normal("y", a + b, F(1.0), observed=Y)
    return model


def test_the_sum_model_has_rank_one_and_names_a_minus_b(sum_model):
    report = pmf.identifiability(sum_model)
    assert report.attrs["rank"] == 1
    assert list(report.coords["parameter"].values) == ["a", "b"]
    # I = N [[1, 1], [1, 1]]: eigenvalues 0 and 2N, null direction (1, −1)/√2
    np.testing.assert_allclose(report.eigenvalues.values, [0.0, 2 * N], atol=1e-12)
    np.testing.assert_allclose(
        report.eigenvectors.sel(direction=0).values, np.array([1.0, -1.0]) / np.sqrt(2), atol=1e-12
    )
    assert report.identified.values.tolist() == [False, True]
    verdict = report.attrs["verdict"]
    assert "a + b is identified; a − b is not" in verdict
    assert "Only the prior pins down a − b" in verdict
    # the prior's information along (1, −1)/√2 is 1/σ², the likelihood's 0
    np.testing.assert_allclose(report.prior_information.values, [PRIOR_SD**-2] * 2, rtol=1e-12)
    np.testing.assert_allclose(report.likelihood_information.values, [0.0, 2 * N], atol=1e-12)
    assert report.attrs["tolerance"] == pytest.approx(default_rtol(sum_model) * 2 * N)


def test_the_default_point_is_the_laplace_mode(sum_model):
    report = pmf.identifiability(sum_model)
    fit = pmf.fit_laplace(sum_model, draws=30, random_seed=0)
    np.testing.assert_allclose(report.point.values, fit.fit.mean_vector.values, atol=1e-10)


def test_with_the_prior_the_posterior_has_full_rank_and_the_prior_is_named(sum_model):
    report = pmf.identifiability(sum_model, {"a": 0.1, "b": 0.2}, include_prior=True)
    assert report.attrs["rank"] == 2
    np.testing.assert_allclose(
        report.eigenvalues.values, [PRIOR_SD**-2, 2 * N + PRIOR_SD**-2], rtol=1e-12
    )
    verdict = report.attrs["verdict"]
    assert "full rank 2" in verdict
    assert "Only the prior pins down a − b" in verdict


def test_a_flat_prior_leaves_the_direction_to_nothing():
    with pm.Model() as model:
        a = pm.Flat("a")
        b = pm.Flat("b")
        pm.Normal("y", a + b, F(1.0), observed=Y)
    report = pmf.identifiability(model, {"a": 0.0, "b": 0.0})
    assert report.attrs["rank"] == 1
    assert "Neither the likelihood nor the prior pins down a − b" in report.attrs["verdict"]
    np.testing.assert_allclose(report.prior_information.values, 0.0, atol=0)


def test_a_parameter_outside_the_likelihood_is_identified_by_its_prior_only():
    with pm.Model() as model:
        a = pm.Normal("a", F(0.0), F(1.0))
        pm.Normal("c", F(0.0), F(2.0))
        pm.Normal("y", a, F(0.5), observed=Y)
    report = pmf.identifiability(model, {"a": 0.3, "c": 0.0})
    assert report.attrs["rank"] == 1
    np.testing.assert_allclose(report.eigenvalues.values, [0.0, N / 0.25], atol=1e-12)
    np.testing.assert_allclose(np.abs(report.eigenvectors.sel(direction=0).values), [0, 1])
    np.testing.assert_allclose(report.prior_information.sel(direction=0), 0.25, rtol=1e-12)
    assert "a is identified; c is not" in report.attrs["verdict"]
    assert "Only the prior pins down c" in report.attrs["verdict"]


def test_a_regression_is_fully_identified_with_labelled_coefficients():
    rng = np.random.default_rng(3)
    x = np.column_stack([np.ones(30), rng.normal(size=(30, 2))])
    sigma = F(0.7)
    coords = {"coef": ["Intercept", "x1", "x2"]}
    with pm.Model(coords=coords) as model:
        beta = pm.Normal("beta", F(0.0), F(5.0), dims="coef")
        pm.Normal("y", x @ beta, sigma, observed=x @ [1.0, -0.5, 0.2] + rng.normal(size=30))
    report = pmf.identifiability(model)
    assert report.attrs["rank"] == 3
    assert list(report.coords["parameter"].values) == ["beta[Intercept]", "beta[x1]", "beta[x2]"]
    expected = np.linalg.eigvalsh(x.T @ x) / sigma**2  # the observed information Xᵀ X / σ²
    np.testing.assert_allclose(report.eigenvalues.values, expected, rtol=1e-12)
    assert "full rank 3: every direction is identified" in report.attrs["verdict"]


def test_a_vector_parameter_is_named_entry_by_entry():
    with pm.Model() as model:
        b = pm.Normal("b", F(0.0), F(1.0), shape=3)
        pm.Normal("y", b[0] + b[1], F(1.0), observed=Y)
    report = pmf.identifiability(model, {"b": np.zeros(3)})
    assert report.attrs["rank"] == 1
    assert list(report.coords["parameter"].values) == ["b[0]", "b[1]", "b[2]"]
    assert "b[0] + b[1] is identified; b[0] − b[1] and b[2] are not" in report.attrs["verdict"]


def test_expected_information_is_exactly_singular_where_observed_is_not():
    # y ~ N(a b, 1): expected information N [b², ab; ab, a²] has the null direction (a, −b)
    with pm.Model() as model:
        a = pm.Normal("a", F(0.0), F(3.0))
        b = pm.Normal("b", F(0.0), F(3.0))
        pm.Normal("y", a * b, F(1.0), observed=Y)
    point = {"a": 2.0, "b": 1.0}
    expected = pmf.identifiability(model, point, kind="expected")
    assert expected.attrs["kind"] == "expected"
    assert expected.attrs["rank"] == 1
    np.testing.assert_allclose(expected.eigenvalues.values, [0.0, N * 5.0], atol=1e-12)
    np.testing.assert_allclose(
        expected.eigenvectors.sel(direction=0).values, np.array([2.0, -1.0]) / np.sqrt(5)
    )
    assert "a − 0.5·b is not" in expected.attrs["verdict"]
    # the observed information keeps Σ(y − ab) along the off-diagonal: −∇² = E − r [[0,1],[1,0]]
    residual = float(np.sum(Y - 2.0))
    observed = pmf.identifiability(model, point)
    closed = np.linalg.eigvalsh(N * np.array([[1.0, 2.0], [2.0, 4.0]]) - residual * (1 - np.eye(2)))
    np.testing.assert_allclose(observed.eigenvalues.values, closed, rtol=1e-12)
    assert observed.attrs["rank"] == 2
    assert closed[0] < 0  # Σ(y − ab) = −5.3: a saddle of the likelihood, said in the verdict
    assert "negative along" in observed.attrs["verdict"]


def test_a_discrete_free_variable_is_a_typed_error_naming_it():
    with pm.Model() as model:
        k = pm.Poisson("k", F(3.0))
        pm.Normal("y", k, F(1.0), observed=Y)
    with pytest.raises(pmf.DiscreteVariableError, match="'k'"):
        pmf.identifiability(model)


def test_a_point_naming_unknown_variables_is_a_typed_error(sum_model):
    with pytest.raises(pmf.MissingPointValueError, match="'c'"):
        pmf.identifiability(sum_model, {"a": 0.0, "b": 0.0, "c": 1.0})
    with pytest.raises(pmf.MissingPointValueError, match=r"\['b'\]"):
        pmf.identifiability(sum_model, {"a": 0.0})


def test_options_are_checked(sum_model):
    with pytest.raises(ValueError, match="kind='empirical'"):
        pmf.identifiability(sum_model, kind="empirical")  # type: ignore[arg-type]


def test_a_model_without_data_has_nothing_to_identify():
    with pm.Model() as model:
        pm.Normal("a", F(0.0), F(1.0))
    with pytest.raises(pmf.NoObservedVariablesError):
        pmf.identifiability(model, {"a": 0.0})


def test_spectrum_tolerance_is_relative_to_the_largest_eigenvalue():
    matrix = np.diag([1e-9, 1.0, 1e3])
    assert spectrum(matrix, rtol=1e-13).rank == 3
    assert spectrum(matrix, rtol=1e-12).rank == 2  # 1e-9 ≤ 1e-12 · 1e3
    assert spectrum(-matrix, rtol=1e-13).rank == 3  # the numerical rank counts |λ|
    assert spectrum(np.zeros((2, 2)), rtol=1e-8).rank == 0


def test_direction_names_put_the_first_largest_component_at_plus_one():
    assert describe_direction(np.array([-1.0, 1.0]) / np.sqrt(2), ["a", "b"]) == "a − b"
    assert describe_direction(np.array([0.0, -2.0, 1.0]), ["a", "b", "c"]) == "b − 0.5·c"
