"""pmf.sample: the same chains as pm.sample(step=RMHMC()), its DataTree layout, and the paths
where a chain fails, the user interrupts, or the compiled kernel cannot run the model."""

from __future__ import annotations

import functools
import logging
import time

import numpy as np
import pymc as pm
import pytest

import pymc_fisher as pmf
from pymc_fisher.samplers.core.chain import FLOAT_STATS, chain_arrays
from pymc_fisher.samplers.core.kernel import KernelFallbackWarning
from pymc_fisher.samplers.core.options import AdaptationOptions
from pymc_fisher.samplers.drivers import runner
from pymc_fisher.samplers.drivers.step import RMHMC
from pymc_fisher.samplers.transitions.iteration import run_chain
from tests.models import python_op_model
from tests.samplers.models import eight_schools_centered, funnel

RUN = {"progressbar": False, "compute_convergence_checks": False}
RMHMC_RUN = {**RUN, "method": "rmhmc"}


def _model_with_dims_data_and_deterministics():
    x = np.linspace(-1.0, 1.0, 12)
    y = 0.5 + 2.0 * x + np.random.default_rng(0).normal(scale=0.3, size=12)
    with pm.Model(coords={"coef": ["a", "b"], "obs": range(12)}) as model:
        xd = pm.Data("x", x, dims="obs")
        beta = pm.Normal("beta", 0.0, 2.0, dims="coef")
        sigma = pm.HalfNormal("sigma", 1.0)
        mu = pm.Deterministic("mu", beta[0] + beta[1] * xd, dims="obs")
        pm.Normal("y", mu, sigma, observed=y, dims="obs")
    return model


def test_chains_equal_pm_sample_with_the_same_random_numbers():
    # fixed step size and path: the same transitions from the same generators, to rounding
    model = eight_schools_centered()
    options = {
        "step_size": 0.3, "path_length": 2.0,
        "adaptation": AdaptationOptions(adapt_step_size=False),
    }  # fmt: skip
    ours = pmf.sample(
        60, tune=20, chains=2, cores=1, model=model, random_seed=7, jitter=False, **RMHMC_RUN,
        **options,
    )  # fmt: skip
    with model:
        theirs = pm.sample(
            60, tune=20, chains=2, cores=1, random_seed=7, step=RMHMC(**options), **RUN
        )
    for name in ("mu", "tau", "theta"):
        np.testing.assert_allclose(ours.posterior[name], theirs.posterior[name], atol=1e-9)
    for name in ("energy", "n_steps", "gradient_evaluations", "acceptance_rate"):
        np.testing.assert_allclose(ours.sample_stats[name], theirs.sample_stats[name], atol=1e-9)


def test_adapted_chains_equal_pm_sample():
    # with the defaults too: the same adaptation code (register_jitable) in both loops
    model = funnel(4)
    ours = pmf.sample(50, tune=150, chains=1, model=model, random_seed=3, jitter=False, **RMHMC_RUN)
    with model:
        theirs = pm.sample(50, tune=150, chains=1, random_seed=3, step=RMHMC(), **RUN)
    np.testing.assert_allclose(ours.posterior["v"], theirs.posterior["v"], atol=1e-8)
    np.testing.assert_allclose(
        ours.sample_stats["path_length"], theirs.sample_stats["path_length"], rtol=1e-10
    )


def test_compiled_chain_loop_equals_the_python_loop():
    # the compiled loop (adaptation, jitter, recording in Numba) against chain.run_chain over
    # the same compiled transitions: the same chain to rounding (the transitions themselves
    # are held to the NumPy reference in test_rmhmc_kernel)
    model = eight_schools_centered()
    with model:
        step = RMHMC()
    assert step.kernel.name == "compiled"
    settings = step.chain_settings(120, 30)
    start = step.chain_start(step.evaluate_start(step._start_theta, "the start"))
    outs = []
    for run in (step.kernel.chain, functools.partial(run_chain, step.kernel)):
        arrays = chain_arrays(150, step._compiled.size)
        progress = np.zeros(3)
        done, _ = run(
            start, settings, np.random.default_rng(5), arrays, progress, np.zeros(1, np.int64)
        )
        assert done == 150 == progress[0]
        outs.append(arrays)
    np.testing.assert_allclose(outs[0].theta, outs[1].theta, atol=1e-10)
    np.testing.assert_allclose(outs[0].floats, outs[1].floats, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(outs[0].ints, outs[1].ints)


def test_reference_kernel_chain_runs_and_stops_when_told():
    model = funnel(3)
    with model:
        step = RMHMC(compiled=False)
    assert step.kernel.name == "reference"
    start = step.chain_start(step.evaluate_start(step._start_theta, "the start"))
    settings = step.chain_settings(20, 20)
    arrays, progress = chain_arrays(40, step._compiled.size), np.zeros(3)
    done, state = step.kernel.chain(
        start, settings, np.random.default_rng(0), arrays, progress, np.zeros(1, np.int64)
    )
    assert done == 40 == progress[0] == state.iteration
    assert np.isfinite(arrays.theta).all()
    assert len(np.unique(arrays.theta[:, 0])) > 10  # it moves
    step_sizes = arrays.floats[:20, FLOAT_STATS.index("step_size")]
    assert np.ptp(step_sizes) > 0  # and adapts its step size in warm-up
    done, state = step.kernel.chain(
        start, settings, np.random.default_rng(0), chain_arrays(40, 3), np.zeros(3),
        np.ones(1, np.int64),
    )  # fmt: skip
    assert done == 0  # stop was set before the first iteration
    assert state is start


def test_datatree_layout_is_pm_sample_s():
    model = _model_with_dims_data_and_deterministics()
    kwargs = {"draws": 20, "tune": 20, "chains": 2, "random_seed": 1, **RUN}
    ours = pmf.sample(model=model, cores=1, discard_tuned_samples=False, method="rmhmc", **kwargs)
    with model:
        theirs = pm.sample(step=RMHMC(), cores=1, discard_tuned_samples=False, **kwargs)
    assert set(ours.children) == set(theirs.children)
    for group in theirs.children:
        a, b = ours[group].to_dataset(), theirs[group].to_dataset()
        extra = {"perf_counter_diff"} if "sample_stats" in group else set()
        assert set(a.data_vars) == set(b.data_vars) - extra, group
        for name in a.data_vars:
            assert a[name].dims == b[name].dims, (group, name)
        assert a.sizes == b.sizes, group
        for name, coord in b.coords.items():
            np.testing.assert_array_equal(a.coords[name].values, coord.values)
    assert ours.posterior["mu"].dims == ("chain", "draw", "obs")


def test_same_draws_whatever_cores():
    model = funnel(3)
    one = pmf.sample(30, tune=30, chains=3, cores=1, model=model, random_seed=11, **RMHMC_RUN)
    two = pmf.sample(30, tune=30, chains=3, cores=2, model=model, random_seed=11, **RMHMC_RUN)
    np.testing.assert_array_equal(one.posterior["v"], two.posterior["v"])


def test_interrupt_returns_what_was_drawn(monkeypatch):
    calls = {"n": 0}

    def interrupt():
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        time.sleep(0.05)

    monkeypatch.setattr(runner, "_wait", interrupt)
    model = eight_schools_centered()
    idata = pmf.sample(20000, tune=0, chains=2, cores=2, model=model, random_seed=2, **RMHMC_RUN)
    n = idata.posterior.sizes["draw"]
    assert 0 < n < 20000
    assert np.isfinite(idata.posterior["tau"].values).all()
    assert idata.sample_stats.sizes["draw"] == n


def test_a_failing_chain_is_reported_and_the_others_kept(caplog):
    model = eight_schools_centered()
    bad = {"tau_log__": np.array(np.inf)}
    with caplog.at_level(logging.WARNING, logger="pymc"):
        idata = pmf.sample(
            20, tune=20, chains=3, cores=1, model=model, random_seed=4,
            initvals=[None, bad, None], **RMHMC_RUN,
        )  # fmt: skip
    assert idata.posterior["chain"].values.tolist() == [0, 2]  # not renumbered
    assert idata.sample_stats["chain"].values.tolist() == [0, 2]
    assert "chain 1" in idata.attrs["failed_chains"]
    assert any("chain 1" in r.getMessage() for r in caplog.records)
    with pytest.raises(pmf.ChainFailedError, match="chain 0"):
        pmf.sample(10, tune=10, chains=1, model=model, initvals=bad, **RMHMC_RUN)


def test_functions_the_kernel_cannot_call_run_in_processes():
    model = python_op_model()
    with pytest.warns(KernelFallbackWarning, match="PythonOnlyLogCosh"):
        idata = pmf.sample(20, tune=20, chains=2, cores=2, model=model, random_seed=1, **RMHMC_RUN)
    assert idata.posterior["x"].shape == (2, 20, 2)
    assert np.isfinite(idata.posterior["x"].values).all()


def test_a_chain_that_raises_mid_run_keeps_its_draws(monkeypatch):
    # one worker thread (cores=1) runs the chains in order: chain 1 raises at once, chain 2
    # after 10 draws; chain 2's draws are kept beside chain 0's, whose number is unchanged
    real = runner._phases
    calls = []

    def phases(chain, state, settings, rng, arrays, progress, stop):
        calls.append(None)
        if len(calls) == 2:
            raise RuntimeError("boom at the start")
        if len(calls) == 3:
            real(chain, state, settings._replace(draws=10), rng, arrays, progress, stop)
            raise RuntimeError("boom after 10 draws")
        return real(chain, state, settings, rng, arrays, progress, stop)

    monkeypatch.setattr(runner, "_phases", phases)
    idata = pmf.sample(30, tune=20, chains=3, cores=1, model=funnel(3), random_seed=5, **RMHMC_RUN)
    assert idata.posterior["chain"].values.tolist() == [0, 2]
    assert idata.posterior.sizes["draw"] == 10  # 2 chains x 30 iterations beat 1 x 50
    assert np.isfinite(idata.posterior["v"].values).all()
    assert "boom at the start" in idata.attrs["failed_chains"]
    assert "boom after 10 draws" in idata.attrs["failed_chains"]


def test_chains_start_jittered_unless_told_not_to(monkeypatch):
    starts = []
    real = RMHMC.chain_start

    def chain_start(self, position):
        starts.append(position.theta.copy())
        return real(self, position)

    monkeypatch.setattr(RMHMC, "chain_start", chain_start)
    model = eight_schools_centered()
    kwargs = {"chains": 3, "cores": 1, "model": model, "random_seed": 8, **RMHMC_RUN}
    pmf.sample(5, tune=0, **kwargs)
    jittered, starts[:] = list(starts), []
    pmf.sample(5, tune=0, jitter=False, **kwargs)
    plain = list(starts)
    theta0 = np.concatenate([np.ravel(v) for v in model.initial_point().values()])
    for a in plain:
        np.testing.assert_array_equal(np.sort(a), np.sort(theta0))
    for i in range(3):
        # pm.sample's U(-1, 1) on every value (theta's default is mu's: jittered twice)
        assert np.abs(jittered[i] - plain[i]).min() > 0
        for j in range(i):
            assert not np.allclose(jittered[i], jittered[j])


def test_options_that_do_not_apply_to_a_whole_model_run_are_refused():
    model = funnel(3)
    with pytest.raises(ValueError, match=r"\['vars'\].*pm.sample\(step=pmf.RMHMC"):
        pmf.sample(10, model=model, vars=[model["v"]], **RMHMC_RUN)
    with pytest.raises(ValueError, match="check_start"):
        pmf.sample(10, model=model, check_start=False, **RMHMC_RUN)
    with pytest.raises(ValueError, match="no_such_option"):
        pmf.sample(10, model=model, no_such_option=1, **RMHMC_RUN)


def test_every_event_is_a_statistic():
    model = funnel(3)
    capped = pmf.sample(
        20, tune=0, chains=1, model=model, random_seed=3, max_steps=2, step_size=0.05,
        path_length=1.0, **RMHMC_RUN,
    )  # fmt: skip
    stats = capped.sample_stats
    assert stats["reached_max_steps"].dtype == bool
    assert stats["reached_max_steps"].all()  # T/ε = 20 steps wanted, 2 allowed
    assert (stats["n_steps"] == 2).all()
    free = pmf.sample(
        20, tune=0, chains=1, model=model, random_seed=3, step_size=0.05, path_length=1.0,
        **RMHMC_RUN,
    )  # fmt: skip
    assert not free.sample_stats["reached_max_steps"].any()
    assert free.sample_stats["reversal"].dtype == bool
    # a reversal is a rejection, not a divergence
    assert not (free.sample_stats["reversal"] & free.sample_stats["diverging"]).any()


@pytest.mark.slow  # worker processes start and compile the model: tens of seconds
def test_interrupt_on_the_process_path_returns_what_was_drawn(monkeypatch):
    # No-U-Turn chains run in processes; they write their draws into the parent's memory map,
    # so a Ctrl-C (here: from the polling loop, once both chains drew 5) keeps them
    from pymc_fisher.samplers.drivers.progress import ChainProgress

    seen: dict = {}
    real_update = ChainProgress.update

    def update(self, progress, failed):
        seen["done"] = np.array(progress[:, 0])
        return real_update(self, progress, failed)

    def interrupt():
        if "done" in seen and seen["done"].min() >= 5:
            raise KeyboardInterrupt
        time.sleep(0.05)

    monkeypatch.setattr(ChainProgress, "update", update)
    monkeypatch.setattr(runner, "_wait", interrupt)
    idata = pmf.sample(
        20000, tune=0, chains=2, cores=2, model=funnel(3), random_seed=2, trajectory="nuts",
        mp_ctx="spawn", **RMHMC_RUN,
    )  # fmt: skip
    n = idata.posterior.sizes["draw"]
    assert 5 <= n < 20000
    assert idata.attrs["interrupted"] == 1
    assert np.isfinite(idata.posterior["v"].values).all()
    assert (idata.sample_stats["tree_depth"] > 0).all()  # real No-U-Turn draws, not zeros


def test_no_u_turn_chains_build_trees_whichever_kernel_runs():
    # the compiled kernel's chain loop runs fixed trajectories only: a No-U-Turn chain runs the
    # Python loop over the compiled leapfrog (it ran fixed trajectories before)
    idata = pmf.sample(
        20, tune=10, chains=1, cores=1, model=funnel(3), random_seed=4, trajectory="nuts",
        **RMHMC_RUN,
    )  # fmt: skip
    assert (idata.sample_stats["tree_depth"] > 0).all()
