"""Statistical checks of the Riemannian No-U-Turn trajectory (slow tier).

Moment checks: each estimate must lie within ``z * MCSE`` (ArviZ bulk-ESS MCSE) of its closed
form, ``z`` Bonferroni-corrected so that a test with all its checks raises a false alarm with
probability ``FALSE_ALARM = 0.001`` when the sampler is exact (see
``test_rmhmc_statistical.py``, whose helpers are reused).

Simulation-based calibration (Talts et al. 2018) on a small hierarchical model, for the No-U-Turn
trajectory and for the default configuration: for each
replication, parameters are drawn from the prior, data from the model; the chain starts at the
true parameters (a draw from the posterior given those data, so the chain is stationary from
its first draw) and the rank of each true parameter among ``L`` thinned posterior draws must be
uniform on ``0..L``. A chi-square test per parameter at ``alpha = 0.001 / 3`` (Bonferroni over
the three parameters).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest
from pymc.blocking import DictToArrayBijection
from scipy.stats import chi2

from pymc_fisher.samplers.core.chain import chain_arrays
from pymc_fisher.samplers.drivers.step import RMHMC
from tests.samplers import models
from tests.samplers.test_rmhmc_statistical import _check, _gaussian_checks, _sample

pytestmark = pytest.mark.slow

NUTS = {"trajectory": "nuts"}


def test_iid_gaussian_hessian_metric():
    idata = _sample(models.iid_gaussian(4), "hessian", **NUTS)
    _check(idata, _gaussian_checks("x", np.zeros(4), np.ones(4)))


def test_correlated_gaussian_hessian_metric():
    model, cov = models.correlated_gaussian(5)
    idata = _sample(model, "hessian", **NUTS)
    _check(idata, _gaussian_checks("x", np.zeros(5), np.sqrt(np.diag(cov))))


def test_funnel_fisher_metric():
    idata = _sample(models.funnel(5), "fisher", draws=1500, tune=500, **NUTS)
    _check(idata, [("v", None, "mean", 0.0), ("v", None, "sd", 3.0)])


# -- simulation-based calibration ------------------------------------------------------------

N_REPLICATIONS = 100
L_RANKS = 9  # thinned draws per replication: ranks 0..9, 10 bins of expected count 10
THIN = 15
TUNE = 75
SBC_ALPHA = 0.001 / 3


def _hierarchical(y: np.ndarray) -> pm.Model:
    """mu ~ N(0, 1), tau ~ HalfNormal(1), theta_j ~ N(mu, tau), y_j ~ N(theta_j, 1), j < 3."""
    with pm.Model() as model:
        data = pm.Data("y_data", y)
        mu = pm.Normal("mu", 0.0, 1.0)
        tau = pm.HalfNormal("tau", 1.0)
        theta = pm.Normal("theta", mu, tau, shape=3)
        pm.Normal("y", theta, 1.0, observed=data)
    return model


def _count_ranks(counts: dict, draws: list, mu: float, tau: float, theta: np.ndarray) -> None:
    """Add the rank of each true parameter among the thinned draws to its histogram."""
    ranks = {
        "mu": sum(float(d["mu"]) < mu for d in draws),
        "tau": sum(float(d["tau_log__"]) < np.log(tau) for d in draws),
        "theta0": sum(float(d["theta"][0]) < theta[0] for d in draws),
    }
    for k, r in ranks.items():
        counts[k][r] += 1


def _assert_uniform(counts: dict) -> None:
    """A chi-square test of each rank histogram against the uniform, at ``SBC_ALPHA``."""
    expected = N_REPLICATIONS / (L_RANKS + 1)
    critical = chi2.ppf(1.0 - SBC_ALPHA, L_RANKS)
    stats = {k: float(np.sum((c - expected) ** 2 / expected)) for k, c in counts.items()}
    assert all(s < critical for s in stats.values()), (stats, critical, counts)


def test_simulation_based_calibration():
    rng = np.random.default_rng(20261122)
    model = _hierarchical(np.zeros(3))
    with model:
        step = RMHMC(metric="fisher", trajectory="nuts", max_treedepth=6)
    names = step.var_names  # raveled order of the step's variables
    counts = {"mu": np.zeros(L_RANKS + 1), "tau": np.zeros(L_RANKS + 1)}
    counts["theta0"] = np.zeros(L_RANKS + 1)
    for _ in range(N_REPLICATIONS):
        mu, tau = rng.normal(), abs(rng.normal())
        theta = rng.normal(mu, tau, size=3)
        model["y_data"].set_value(rng.normal(theta, 1.0))
        truth = {"mu": mu, "tau_log__": np.log(tau), "theta": theta}
        q = DictToArrayBijection.map({k: np.asarray(truth[k]) for k in names})
        step.setup_chain(np.random.default_rng(rng.integers(2**32)), TUNE, L_RANKS * THIN)
        step.tune = True
        draws = []
        for i in range(TUNE + L_RANKS * THIN):
            if i == TUNE:
                step.tune = False
            q, _ = step.astep(q)
            if i >= TUNE and (i - TUNE + 1) % THIN == 0:
                draws.append(DictToArrayBijection.rmap(q))
        _count_ranks(counts, draws, mu, tau, theta)
    _assert_uniform(counts)


def test_simulation_based_calibration_of_the_default_configuration():
    # pmf.sample's configuration (fixed trajectory, automatic integration time, dual averaging,
    # both jitters) in the compiled chain loop, on the model above; each chain starts at the
    # true parameters, so it is stationary from its first draw and warm-up adapts as it would
    rng = np.random.default_rng(20261208)
    model = _hierarchical(np.zeros(3))
    with model:
        step = RMHMC()
    assert step.kernel.name == "compiled"
    names = step.var_names
    tune, n = 150, L_RANKS * THIN
    settings = step.chain_settings(tune, n)
    counts = {k: np.zeros(L_RANKS + 1) for k in ("mu", "tau", "theta0")}
    for _ in range(N_REPLICATIONS):
        mu, tau = rng.normal(), abs(rng.normal())
        theta = rng.normal(mu, tau, size=3)
        model["y_data"].set_value(rng.normal(theta, 1.0))
        step.kernel.sync()
        truth = {"mu": mu, "tau_log__": np.log(tau), "theta": theta}
        q = DictToArrayBijection.map({k: np.asarray(truth[k]) for k in names})
        start = step.chain_start(step.evaluate_start(np.asarray(q.data, float), "the truth"))
        arrays = chain_arrays(tune + n, step._compiled.size)
        done, _ = step.kernel.chain(
            start, settings, np.random.default_rng(rng.integers(2**32)), arrays, np.zeros(3),
            np.zeros(1, np.int64),
        )  # fmt: skip
        assert done == tune + n
        kept = [DictToArrayBijection.rmap(q._replace(data=arrays.theta[tune + i]))
                for i in range(THIN - 1, n, THIN)]  # fmt: skip
        _count_ranks(counts, kept, mu, tau, theta)
    _assert_uniform(counts)
