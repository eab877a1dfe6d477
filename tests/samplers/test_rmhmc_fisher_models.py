"""``pmf.RMHMC()`` (default ``"fisher"`` metric) constructs on models with the priors that used to
raise ``NoClosedFormError``, and its metric at the initial point is finite and positive definite."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest
from pymc.distributions.transforms import ordered

import pymc_fisher as pmf


def _half_student_t():
    with pm.Model() as model:
        tau = pm.HalfStudentT("tau", nu=3, sigma=2.5)
        mu = pm.Normal("mu", 0, 5)
        theta = pm.Normal("theta", mu, tau, shape=4)
        pm.Normal("y", theta, 1.0, observed=[0.5, -1.0, 2.0, 0.1])
    return model


def _uniform_fixed():
    with pm.Model() as model:
        sigma = pm.Uniform("sigma", 0, 10)
        pm.Normal("y", 0.0, sigma, observed=[0.5, -1.0, 2.0])
    return model


def _uniform_parameter_bounds():
    with pm.Model() as model:
        lo = pm.Normal("lo", 0, 1)
        x = pm.Uniform("x", lower=lo, upper=lo + 2)
        pm.Normal("y", x, 1.0, observed=[0.3, 0.7])
    return model


def _ordered():
    with pm.Model() as model:
        cut = pm.Normal("cut", 0, 2, shape=3, transform=ordered, initval=[-1.0, 0.0, 1.0])
        pm.OrderedLogistic("y", eta=0.0, cutpoints=cut, observed=[0, 1, 2, 3, 3, 1])
    return model


def _dirichlet():
    with pm.Model() as model:
        w = pm.Dirichlet("w", a=np.array([2.0, 3.0, 4.0]))
        pm.Categorical("y", p=w, observed=[0, 1, 2, 2, 1])
    return model


def _lkj_cholesky_cov():
    with pm.Model() as model:
        chol, _, _ = pm.LKJCholeskyCov(
            "chol", n=2, eta=2.0, sd_dist=pm.Exponential.dist(1.0, shape=2), compute_corr=True
        )
        mu = pm.Normal("mu", 0, 2, shape=2)
        pm.MvNormal("y", mu, chol=chol, observed=np.array([[0.1, 0.3], [-0.5, 0.2], [1.0, 0.8]]))
    return model


def _random_walk():
    with pm.Model() as model:
        sigma = pm.HalfNormal("sigma", 1.0)
        x = pm.GaussianRandomWalk(
            "x", sigma=sigma, init_dist=pm.Normal.dist(0, 1), steps=4, shape=5
        )
        pm.Poisson("y", mu=pm.math.exp(x), observed=[1, 2, 0, 3, 2])
    return model


def _zero_inflated_potential():
    with pm.Model() as model:
        psi = pm.Beta("psi", 2, 2)
        mu = pm.LogNormal("mu", 0, 1)
        pm.Potential("soft_constraint", -((mu - 2) ** 2))
        pm.ZeroInflatedPoisson("y", psi=psi, mu=mu, observed=[0, 0, 3, 1, 4, 0])
    return model


MODELS = {
    "HalfStudentT": _half_student_t,
    "Uniform-fixed": _uniform_fixed,
    "Uniform-parameter-bounds": _uniform_parameter_bounds,
    "ordered": _ordered,
    "Dirichlet": _dirichlet,
    "LKJCholeskyCov": _lkj_cholesky_cov,
    "GaussianRandomWalk": _random_walk,
    "ZeroInflatedPoisson-Potential": _zero_inflated_potential,
}


# PyMC's initial-point function for LKJCholeskyCov holds a Scan whose inner graph the C linker
# compiles; PyTensor then announces, once per process, that it found no BLAS to link. The case
# is slow (about 2.5 minutes on one core): the local rule's metric derivative is a third
# derivative of the LKJ density, which takes that long to compile.
_LKJ = [
    pytest.mark.filterwarnings("ignore:PyTensor could not link to a BLAS:UserWarning"),
    pytest.mark.slow,
]


#: Each model compiles its metric's derivative in Numba, 5-60 s on a new machine: the default
#: tier keeps these, the slow tier runs every family.
DEFAULT_TIER = {"HalfStudentT", "Uniform-fixed", "Uniform-parameter-bounds", "GaussianRandomWalk"}


def _marks(name: str) -> list:
    if name == "LKJCholeskyCov":
        return _LKJ
    return [] if name in DEFAULT_TIER else [pytest.mark.slow]


@pytest.mark.parametrize("name", [pytest.param(n, marks=_marks(n)) for n in MODELS])
def test_rmhmc_constructs_and_its_metric_is_positive_definite(name: str) -> None:
    model = MODELS[name]()
    with model:
        step = pmf.RMHMC()  # checks the metric at the initial point (positive definite)
    assert step.metric_name == "fisher"
    metric = pmf.fisher_information(model, include_prior=True).values
    assert np.all(np.isfinite(metric))
    np.linalg.cholesky(metric)  # raises if not positive definite
