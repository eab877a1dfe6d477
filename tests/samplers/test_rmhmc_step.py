"""The RMHMC step method inside pm.sample: stats, ArviZ, bad input, compound steps, pickling."""

from __future__ import annotations

import cloudpickle
import numpy as np
import pymc as pm
import pytensor.tensor as pt
import pytest
from pymc.blocking import DictToArrayBijection

from pymc_fisher.errors import (
    DiscreteVariableError,
    NonFiniteLogDensityError,
    NotPositiveDefiniteError,
)
from pymc_fisher.samplers.core.options import AdaptationOptions, SolverOptions
from pymc_fisher.samplers.drivers.step import RMHMC
from tests.samplers.models import funnel, iid_gaussian

RIEMANNIAN_STATS = {
    "energy",
    "energy_error",
    "diverging",
    "step_size",
    "step_size_bar",
    "n_steps",
    "acceptance_rate",
    "lp",
    "divergence_kind",
    "fixed_point_iterations",
    "metric_logdet",
    "metric_condition_number",
}


def _sample(model, step, **kwargs):
    kwargs = {
        "draws": 30,
        "tune": 30,
        "chains": 2,
        "cores": 1,
        "progressbar": False,
        "random_seed": 3,
        "compute_convergence_checks": False,
    } | kwargs
    with model:
        return pm.sample(step=step, **kwargs)


@pytest.fixture(scope="module")
def funnel_idata():
    model = funnel(4)
    with model:
        step = RMHMC(metric="softabs")
    return _sample(model, step)


def test_sample_stats_names_and_arviz(funnel_idata):
    import arviz_stats

    stats = funnel_idata.sample_stats
    assert set(stats.data_vars) >= RIEMANNIAN_STATS
    assert stats["diverging"].dtype == bool
    kinds = set(np.unique(stats["divergence_kind"].values))
    assert kinds <= {"none", "energy", "solver", "metric"}
    div = stats["diverging"].values
    np.testing.assert_array_equal(div, stats["divergence_kind"].values != "none")
    assert np.all(stats["metric_condition_number"].values >= 1.0)
    assert np.all(np.isfinite(stats["lp"].values))
    bfmi = arviz_stats.bfmi(funnel_idata)
    assert np.all(np.isfinite(bfmi["energy"].values))
    _, report = arviz_stats.diagnose(funnel_idata, show_diagnostics=False, return_diagnostics=True)
    assert report["divergent"]["n_divergent"] == int(div.sum())


def test_plot_energy_reads_the_stats(funnel_idata):
    import arviz_plots
    import arviz_stats
    import matplotlib
    import matplotlib.pyplot as plt

    matplotlib.use("Agg")
    pc = arviz_plots.plot_energy(funnel_idata, backend="matplotlib")
    # both energy distributions drawn, and one BFMI point per chain at the value of our energies
    assert list(pc.viz["dist"]["energy"].values) == ["marginal", "transition"]
    points = np.asarray(pc.viz["bfmi_points"]["bfmi"].item().get_offsets(), dtype=float)
    bfmi = arviz_stats.bfmi(funnel_idata)["energy"].values
    np.testing.assert_allclose(np.sort(points[:, 0]), np.sort(bfmi))
    plt.close("all")


def test_fresh_adaptation_per_chain():
    model = iid_gaussian(3)
    with model:
        step = RMHMC(metric="hessian", step_size=0.3)
    idata = _sample(model, step, draws=5, tune=10, discard_tuned_samples=False)
    warm = idata.warmup_sample_stats["step_size"].values
    # Each chain starts dual averaging from the initial step size (up to the jitter).
    assert np.all(np.abs(warm[:, 0] / 0.3 - 1.0) <= 0.2 + 1e-12)


def test_data_set_between_chains_is_read():
    """A new chain reads data set with pm.set_data since the step was built (compiled kernel).

    The simulation-based calibration (slow tier) failed when the compiled kernel kept the data
    of the step's construction: each replication sampled the posterior of the first data.
    """
    with pm.Model() as model:
        y = pm.Data("y", np.zeros(3))
        mu = pm.Normal("mu", 0.0, 1.0)
        pm.Normal("obs", mu, 1.0, observed=y)
        step = RMHMC(metric="fisher")
    logp = model.compile_logp()
    for data in (np.zeros(3), np.array([1.0, 2.0, 4.0])):
        pm.set_data({"y": data}, model=model)
        step.setup_chain(np.random.default_rng(1), 0, 1)
        q, stats = step.astep(DictToArrayBijection.map({"mu": np.array(0.5)}))
        point = DictToArrayBijection.rmap(q)
        np.testing.assert_allclose(stats[0]["lp"], logp(point), rtol=1e-12)


def test_callable_metric_and_lp_matches_model():
    model = iid_gaussian(3)
    with model:
        step = RMHMC(metric=lambda theta: 2.0 * pt.eye(3))
    idata = _sample(model, step, draws=10, tune=10, chains=1)
    x = idata.posterior["x"].values[0]
    lp = idata.sample_stats["lp"].values[0]
    np.testing.assert_allclose(lp, -0.5 * np.sum(x**2, axis=1) - 1.5 * np.log(2 * np.pi))
    np.testing.assert_allclose(idata.sample_stats["metric_logdet"].values, 3 * np.log(2.0))


def test_compound_step_with_discrete_variable():
    with pm.Model() as model:
        k = pm.Bernoulli("k", 0.5)
        pm.Normal("x", 2.0 * k, 1.0, shape=2)
    with model:
        steps = [RMHMC(vars=[model["x"]], metric="softabs"), pm.BinaryGibbsMetropolis([k])]
    idata = _sample(model, steps, draws=20, tune=10)
    assert set(idata.posterior["k"].values.ravel()) <= {0, 1}
    assert "divergence_kind" in idata.sample_stats


def test_discrete_variable_is_refused():
    with pm.Model() as model:
        pm.Poisson("k", 3.0)
        pm.Normal("x")
        with pytest.raises(DiscreteVariableError, match="Metropolis"):
            RMHMC(vars=[model["k"], model["x"]], metric="softabs")
        # By default only the continuous variables; pm.sample assigns a step to the others.
        assert [v.name for v in RMHMC(metric="softabs").vars] == ["x"]


def test_non_positive_definite_metric_at_start_is_refused():
    with pm.Model():
        pm.Cauchy("x", 0.0, 1.0, initval=10.0)
        with pytest.raises(NotPositiveDefiniteError, match="softabs"):
            RMHMC(metric="hessian")


def test_non_finite_start_is_refused():
    with pm.Model():
        pm.Normal("x")
        pm.Potential("bad", pt.constant(-np.inf))
        with pytest.raises(NonFiniteLogDensityError, match="initvals"):
            RMHMC(metric="softabs")


def test_unknown_trajectory_and_metric():
    with pm.Model():
        pm.Normal("x")
        with pytest.raises(ValueError, match="trajectory"):
            RMHMC(metric="softabs", trajectory="bogus")
        with pytest.raises(ValueError, match="metric"):
            RMHMC(metric="euclid")


def test_pickle_roundtrip_runs():
    model = funnel(3)
    with model:
        step = RMHMC(metric="softabs")
    clone = cloudpickle.loads(cloudpickle.dumps(step))
    clone.setup_chain(np.random.default_rng(0), 5, 5)
    ip = model.initial_point()
    q = DictToArrayBijection.map({n: ip[n] for n in clone.var_names})
    for _ in range(3):
        q, stats = clone.astep(q)
    assert np.all(np.isfinite(q.data))
    assert stats[0]["n_steps"] >= 1


def test_solver_divergences_get_their_own_advice(caplog):
    """A solver failure is explained as the integrator's limit, once per chain and kind."""
    model = funnel(4)
    with model:
        # one evaluation cannot converge where the metric depends on θ: every transition fails
        step = RMHMC(
            solver=SolverOptions(max_iterations=1, newton_iterations=0),
            adaptation=AdaptationOptions(adapt_step_size=False),
        )
    with caplog.at_level("DEBUG", logger="pymc"):
        idata = _sample(model, step, chains=1, tune=5, draws=30)
    kinds = idata.sample_stats["divergence_kind"].values.ravel()
    assert (kinds == "solver").sum() > 1
    advice = [r for r in caplog.records if "implicit solve" in r.getMessage()]
    assert len(advice) == 1
    assert advice[0].levelname == "WARNING"
    assert "target_accept" in advice[0].getMessage()


def test_auto_path_length_is_recorded_and_a_number_overrides():
    model = iid_gaussian(3)
    with model:
        auto = RMHMC()
        fixed = RMHMC(path_length=2.5)
    assert auto.auto_path_length
    assert not fixed.auto_path_length
    idata = _sample(model, fixed, chains=1)
    assert np.all(idata.sample_stats["path_length"].values == 2.5)
    with model, pytest.raises(ValueError, match="path_length"):
        RMHMC(path_length="long")
