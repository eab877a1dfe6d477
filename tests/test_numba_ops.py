"""Numba lowerings of PyTensor's polygammas: SciPy's values, and no object mode in a model."""

from __future__ import annotations

import warnings

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.graph.replace import vectorize_graph
from pytensor.tensor.blockwise import Blockwise
from scipy import special

from pymc_fisher.numba_ops import polygamma
from pymc_fisher.samplers.drivers.step import RMHMC

# positive arguments over eight decades and negative non-integers (the recurrence's other side)
X = np.concatenate([np.geomspace(1e-4, 1e4, 200), 0.37 - np.geomspace(1e-3, 50, 100)])


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_polygamma_is_scipys(n):
    got = np.array([polygamma(n, x) for x in X])
    # relative 1e-13: the series is exact to rounding; the recurrence's sums lose a few ulps
    np.testing.assert_allclose(got, special.polygamma(n, X), rtol=1e-13)


def test_polygamma_at_poles_and_infinities_is_scipys():
    for n in (1, 2):
        for x in (0.0, -1.0, -3.0, np.inf):
            assert polygamma(n, x) == special.polygamma(n, x)
    assert np.isnan(polygamma(1, np.nan))
    assert np.isnan(polygamma(1, -np.inf))


def test_trigamma_and_its_derivative_compile_without_object_mode():
    x = pt.vector("x")
    y = pt.sum(pt.tri_gamma(x))
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*object mode.*")
        fn = pytensor.function([x], [y, pytensor.grad(y, x)], mode="NUMBA")
    values = np.array([0.3, 2.5, 40.0])
    value, grad = fn(values)
    np.testing.assert_allclose(value, special.polygamma(1, values).sum(), rtol=1e-14)
    np.testing.assert_allclose(grad, special.polygamma(2, values), rtol=1e-14)


@pytest.mark.slow  # compiles a model's third derivatives in Numba: a minute on a new machine
def test_rmhmc_on_a_local_rule_with_trigamma_runs_the_compiled_kernel():
    # the Dirichlet-multinomial's expected information is the local rule (trigammas of a · c)
    with pm.Model():
        fractions = pm.Dirichlet("fractions", a=np.ones(3))
        concentration = pm.LogNormal("concentration", 1.0, 1.0)
        pm.DirichletMultinomial(
            "counts", n=20, a=fractions * concentration, observed=[[10, 6, 4], [8, 8, 4]]
        )
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a KernelFallbackWarning fails the test
            step = RMHMC()
            assert step.kernel.name == "compiled"


def test_a_batched_diag_compiles_without_object_mode():
    # vectorizing pt.diag makes a Blockwise{AllocDiag}, as the gradient of a batched op does
    v, x = pt.vector("v"), pt.tensor3("x")
    y = vectorize_graph(pt.diag(v, k=-1), {v: x})
    assert isinstance(y.owner.op, Blockwise)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*object mode.*")
        fn = pytensor.function([x], y, mode="NUMBA")
    assert not any(isinstance(node.op, Blockwise) for node in fn.maker.fgraph.apply_nodes)
    values = np.arange(12.0).reshape(2, 2, 3)
    expected = np.zeros((2, 2, 4, 4))
    for i in range(2):
        for j in range(2):
            expected[i, j] = np.diag(values[i, j], k=-1)
    np.testing.assert_array_equal(fn(values), expected)


def gp_poisson_model() -> pm.Model:
    """A latent Gaussian process Poisson regression, f = chol(K) f̃ (non-centered)."""
    x = np.linspace(0.0, 10.0, 12)
    counts = np.array([1, 2, 2, 4, 6, 5, 3, 2, 2, 1, 0, 1])
    with pm.Model() as model:
        ls = pm.Gamma("ls", 2.0, 1.0)
        eta = pm.HalfNormal("eta", 1.0)
        sq = (x[:, None] - x[None, :]) ** 2
        cov = eta**2 * pt.exp(-0.5 * sq / ls**2) + 1e-6 * pt.eye(x.size)
        f_tilde = pm.Normal("f_tilde", 0.0, 1.0, shape=x.size)
        f = pm.Deterministic("f", pt.linalg.cholesky(cov) @ f_tilde)
        pm.Poisson("y", pt.exp(f), observed=counts)
    return model


@pytest.mark.slow  # compiles a model's third derivatives in Numba: a minute on a new machine
def test_rmhmc_on_a_latent_gaussian_process_runs_the_compiled_kernel():
    with gp_poisson_model(), warnings.catch_warnings():
        warnings.simplefilter("error")  # a KernelFallbackWarning fails the test
        step = RMHMC()
        assert step.kernel.name == "compiled"
