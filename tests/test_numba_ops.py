"""Numba lowerings of PyTensor's polygammas: SciPy's values, and no object mode in a model."""

from __future__ import annotations

import warnings

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import special

from pymc_fisher.numba_ops import polygamma
from pymc_fisher.samplers.step import RMHMC

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
