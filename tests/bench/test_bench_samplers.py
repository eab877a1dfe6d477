"""Sampler adapters: registry, and each adapter run for real on a tiny target."""

import functools
import math

import numpy as np
import pytest

from pymc_fisher.bench import (
    InlineExecutor,
    RunSettings,
    UnknownSamplerError,
    available_samplers,
    get_sampler,
    register_sampler,
    run_one,
    run_study,
)
from pymc_fisher.bench.errors import StudyError
from pymc_fisher.bench.samplers import sample_rmhmc

TINY = RunSettings(draws=40, tune=40, chains=2, seed=5)


def test_registry_names():
    names = set(available_samplers())
    assert {"nuts", "nutpie", "fisher", "laplace", "rmhmc", "rmhmc-fisher"} <= names
    assert {"rmhmc-hessian", "rmhmc-nuts", "rmhmc-softabs-nuts"} <= names
    with pytest.raises(UnknownSamplerError, match="rmhmc"):
        get_sampler("hmc-with-typo")


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("rmhmc-fisher", {"metric": "fisher", "trajectory": "fixed"}),
        ("rmhmc-softabs", {"metric": "softabs", "trajectory": "fixed"}),
        ("rmhmc-hessian", {"metric": "hessian", "trajectory": "fixed"}),
        ("rmhmc-nuts", {"metric": "fisher", "trajectory": "nuts"}),
        ("rmhmc-softabs-nuts", {"metric": "softabs", "trajectory": "nuts"}),
    ],
)
def test_rmhmc_variants_pass_their_options(name, options):
    fn = get_sampler(name)
    assert fn.func is sample_rmhmc
    assert fn.keywords == options


def test_register_sampler_by_name(tmp_path):
    def mine(model, settings):
        # the function travels pickled, so it reports through the file system
        (tmp_path / f"called-{settings.seed}").touch()
        return get_sampler("nuts")(model, settings)

    register_sampler("test-mine", mine)
    with pytest.raises(StudyError, match="already registered"):
        register_sampler("test-mine", mine)
    table = run_study(["gaussian"], "test-mine", seeds=[4], executor=InlineExecutor(),
                      progress=False, chains=1, draws=30, tune=30)  # fmt: skip
    assert [p.name for p in tmp_path.iterdir()] == ["called-4"]
    assert get_sampler("TEST-MINE") is mine
    assert list(table["sampler"]) == ["test-mine"]


def test_a_bare_datatree_sampler_is_timed_by_the_runner():
    def bare(model, settings):
        return get_sampler("nuts")(model, settings).tree

    row, _ = run_one("gaussian", ("bare", bare), TINY)
    assert math.isnan(row["compile_seconds"])
    assert row["wall_seconds"] > 0


def test_nuts_adapter_times_compile_apart():
    row, tree = run_one("gaussian", "nuts", TINY)
    assert row["compile_seconds"] > 0
    assert tree["posterior"].sizes["draw"] == TINY.draws
    assert tree["warmup_sample_stats"].sizes["draw"] == TINY.tune


def test_nutpie_adapter_times_compile_apart():
    row, tree = run_one("gaussian", "nutpie", TINY)
    assert row["compile_seconds"] > 0
    assert row["grad_evals"] == int(
        tree["sample_stats"]["n_steps"].sum() + tree["warmup_sample_stats"]["n_steps"].sum()
    )
    assert tree["posterior"].sizes["draw"] == TINY.draws


def test_laplace_baseline_row():
    row, tree = run_one("gaussian", "laplace", TINY)
    n = TINY.chains * TINY.draws
    assert tree["posterior"]["x"].shape == (TINY.chains, TINY.draws, 3)
    assert row["ess_bulk_min"] == row["ess_tail_min"] == n
    assert math.isnan(row["rhat_max"])
    assert math.isnan(row["compile_seconds"])
    assert row["grad_evals"] is None
    assert row["divergences"] == 0
    # the Laplace approximation of independent normals is exact: z ~ N(0, 1) on 3 elements,
    # |z| < 4.9 has a false-alarm rate of 3e-6
    assert row["max_bias_z"] < 4.9


def test_rmhmc_adapter_runs():
    settings = RunSettings(draws=30, tune=30, chains=1, seed=2)
    row, tree = run_one("gaussian", "rmhmc", settings)
    assert row["compile_seconds"] > 0
    assert np.isfinite(row["max_bias_z"])
    # every gradient counts, the implicit solves' included: the step's own statistic, summed
    recorded = sum(
        int(tree[g]["gradient_evaluations"].sum()) for g in ("sample_stats", "warmup_sample_stats")
    )
    steps = sum(int(tree[g]["n_steps"].sum()) for g in ("sample_stats", "warmup_sample_stats"))
    assert row["grad_evals"] == recorded
    assert recorded > steps >= settings.draws + settings.tune  # at least one step per draw


def test_rmhmc_step_adapter_runs_the_same_chain():
    # pmf.sample's chains start jittered; unjittered, they are pm.sample(step=RMHMC())'s
    register_sampler(
        "rmhmc-unjittered", functools.partial(sample_rmhmc, jitter=False), overwrite=True
    )
    settings = RunSettings(draws=30, tune=30, chains=1, seed=2)
    rows = [run_one("gaussian", name, settings) for name in ("rmhmc-unjittered", "rmhmc-step")]
    (fast, fast_tree), (step, step_tree) = rows
    assert fast["grad_evals"] == step["grad_evals"]
    np.testing.assert_allclose(
        fast_tree.posterior["x"].values, step_tree.posterior["x"].values, atol=1e-9
    )


def test_rmhmc_nuts_trajectory_adapter():
    row, _ = run_one("gaussian", "rmhmc-nuts", RunSettings(draws=30, tune=30, chains=1, seed=2))
    assert row["grad_evals"] >= 60


@pytest.mark.slow
def test_nuts_is_unbiased_on_the_gaussian_target():
    # z ~ N(0, 1) per element (MCSE from the chains); 3 elements, |z| < 4.9 false alarm 3e-6
    table = run_study(["gaussian"], ["nuts", "nutpie"], seeds=[0], chains=4, draws=1000,
                      tune=1000, executor=InlineExecutor(), progress=False)  # fmt: skip
    assert (table["max_bias_z"] < 4.9).all()
    assert (table["rhat_max"] < 1.02).all()
