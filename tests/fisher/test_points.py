"""A point's bad values are named: NaN or infinite entries, and values outside the support."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest

import pymc_fisher as pmf


def _model() -> pm.Model:
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 10.0, shape=3)
        sigma = pm.HalfNormal("sigma", 2.0)
        pm.Normal("y", mu.sum(), sigma, observed=np.array([0.3, -0.2]))
    return model


@pytest.mark.parametrize("kind", ["expected", "observed", "empirical"])
def test_a_nan_entry_names_the_variable_and_the_entry(kind):
    point = {"mu": [0.0, np.nan, 1.0], "sigma": 1.0}
    # the likelihood y is the first non-finite term; the error must name mu, the input at fault
    with pytest.raises(pmf.NonFinitePointError, match=r"'mu' \(nan at \(1,\)\)"):
        pmf.fisher_information(_model(), point, kind=kind)


def test_an_infinite_unconstrained_value_is_named():
    with pytest.raises(pmf.NonFinitePointError, match=r"'sigma_log__' \(inf\)"):
        pmf.fisher_information(_model(), {"mu": np.zeros(3), "sigma_log__": np.inf})


def test_a_value_outside_the_support_is_named():
    with pytest.raises(pmf.NonFinitePointError, match=r"\['sigma'\] is outside"):
        pmf.fisher_information(_model(), {"mu": np.zeros(3), "sigma": -1.0})


def test_other_variables_of_a_trace_may_be_nan():
    # a draw from a trace carries Deterministics and data too; only free variables are checked
    with pm.Model() as model:
        mu = pm.Normal("mu")
        pm.Deterministic("half", mu / 2)
        pm.Normal("y", mu, 1.0, observed=[0.0])
    info = pmf.fisher_information(model, {"mu": 0.0, "half": np.nan})
    np.testing.assert_allclose(info.values, [[1.0]])
