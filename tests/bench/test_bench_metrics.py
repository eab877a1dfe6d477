import math

import arviz_stats as azs
import numpy as np
import pytest
import xarray as xr

from pymc_fisher.bench import Reference, StudyError, bias_z, summarize_run
from pymc_fisher.bench.metrics import grad_evals


def _standardised(rng, shape):
    """Draws with sample mean exactly 0 and sample sd (ddof=1) exactly 1, per column."""
    e = rng.normal(size=shape).reshape(-1, *shape[2:])
    e = (e - e.mean(axis=0)) / e.std(axis=0, ddof=1)
    return e.reshape(shape)


def _tree(posterior, **groups):
    return xr.DataTree.from_dict({"posterior": posterior, **groups})


def test_bias_z_iid_known_answer():
    rng = np.random.default_rng(0)
    chains, draws = 2, 500
    delta = np.array([0.01, -0.03])
    x = np.array([1.0, 2.0]) + delta + 0.5 * _standardised(rng, (chains, draws, 2))
    ds = xr.Dataset({"x": (("chain", "draw", "k"), x)})
    z = bias_z(ds, {"x": Reference(np.array([1.0, 2.0]))}, iid=True)
    # mean − ref = delta exactly, sd = 0.5 exactly, MCSE = 0.5 / sqrt(n)
    np.testing.assert_allclose(z, delta / (0.5 / math.sqrt(chains * draws)))


def test_bias_z_mcmc_uses_the_chains_mcse():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 5000))
    ds = xr.Dataset({"a": (("chain", "draw"), x)})
    z = bias_z(ds, {"a": 0.1})
    mcse = float(azs.mcse(ds, sample_dims=["chain", "draw"], method="mean")["a"])
    np.testing.assert_allclose(z, (x.mean() - 0.1) / mcse)
    # independent draws: the ESS-based MCSE is sd/√n up to the error of the ESS estimate
    # (a few percent at n = 20000); 10% leaves a false-alarm rate far below 1e-6
    np.testing.assert_allclose(mcse, x.std(ddof=1) / math.sqrt(x.size), rtol=0.1)


def test_bias_z_names_missing_variables():
    ds = xr.Dataset({"a": (("chain", "draw"), np.zeros((1, 4)))})
    with pytest.raises(StudyError, match="'b'"):
        bias_z(ds, {"b": 0.0})


def test_grad_evals_counts_warmup_and_draws():
    stats = xr.Dataset({"n_steps": (("chain", "draw"), np.full((2, 10), 3.0))})
    warm = xr.Dataset({"n_steps": (("chain", "draw"), np.full((2, 5), 7.0))})
    post = xr.Dataset({"a": (("chain", "draw"), np.zeros((2, 10)))})
    assert grad_evals(_tree(post, sample_stats=stats, warmup_sample_stats=warm)) == 60 + 70
    assert grad_evals(_tree(post)) is None


def test_grad_evals_prefers_the_recorded_gradient_evaluations():
    # RMHMC: 3 leapfrog steps per draw, 17 gradients (the implicit solves' iterations included)
    def stats(n, steps, grads):
        return xr.Dataset(
            {
                "n_steps": (("chain", "draw"), np.full((2, n), steps)),
                "gradient_evaluations": (("chain", "draw"), np.full((2, n), grads)),
            }
        )

    post = xr.Dataset({"a": (("chain", "draw"), np.zeros((2, 10)))})
    tree = _tree(post, sample_stats=stats(10, 3, 17), warmup_sample_stats=stats(5, 4, 30))
    assert grad_evals(tree) == 2 * 10 * 17 + 2 * 5 * 30
    # warm-up without the statistic (e.g. discarded): still not mixed with n_steps
    tree = _tree(
        post,
        sample_stats=stats(10, 3, 17),
        warmup_sample_stats=xr.Dataset({"n_steps": (("chain", "draw"), np.full((2, 5), 4))}),
    )
    assert grad_evals(tree) == 2 * 10 * 17


def test_comparisons_divide_the_smaller_of_bulk_and_tail_ess():
    # AR(1) draws with heavy tails: bulk and tail ESS differ, and the ratio columns follow the
    # smaller one, whichever it is
    rng = np.random.default_rng(3)
    e = rng.standard_t(df=3, size=(2, 1000))
    x = np.empty_like(e)
    x[:, 0] = e[:, 0]
    for t in range(1, x.shape[1]):
        x[:, t] = 0.9 * x[:, t - 1] + e[:, t]
    post = xr.Dataset({"a": (("chain", "draw"), x)})
    stats = xr.Dataset(
        {
            "n_steps": (("chain", "draw"), np.full((2, 1000), 2)),
            "gradient_evaluations": (("chain", "draw"), np.full((2, 1000), 9)),
        }
    )
    row = summarize_run(
        _tree(post, sample_stats=stats), var_names=["a"], wall_seconds=4.0, compile_seconds=0.0
    )
    dims = ["chain", "draw"]
    bulk = float(azs.ess(post, sample_dims=dims, method="bulk")["a"])
    tail = float(azs.ess(post, sample_dims=dims, method="tail")["a"])
    assert not np.isclose(bulk, tail)
    assert row["ess_min"] == pytest.approx(min(bulk, tail))
    assert row["grad_evals"] == 2 * 1000 * 9
    assert row["ess_per_gradient"] == pytest.approx(min(bulk, tail) / (2 * 1000 * 9))
    assert row["ess_per_second"] == pytest.approx(min(bulk, tail) / 4.0)


def test_summarize_run_mcmc_columns():
    rng = np.random.default_rng(2)
    post = xr.Dataset(
        {
            "a": (("chain", "draw"), rng.normal(size=(2, 400))),
            "d": (("chain", "draw"), np.ones((2, 400))),
        }
    )
    diverging = np.zeros((2, 400), bool)
    diverging[0, :3] = True
    stats = xr.Dataset(
        {
            "n_steps": (("chain", "draw"), np.full((2, 400), 5.0)),
            "diverging": (("chain", "draw"), diverging),
        }
    )
    row = summarize_run(
        _tree(post, sample_stats=stats),
        var_names=["a"],  # the deterministic "d" (constant: ESS NaN) is not a free variable
        wall_seconds=2.0,
        compile_seconds=1.0,
        reference={"a": Reference(np.array(0.0))},
    )
    ess = float(azs.ess(post[["a"]], sample_dims=["chain", "draw"], method="bulk")["a"])
    assert row["ess_bulk_min"] == pytest.approx(ess)
    assert row["grad_evals"] == 4000
    tail = float(azs.ess(post[["a"]], sample_dims=["chain", "draw"], method="tail")["a"])
    assert row["ess_tail_min"] == pytest.approx(tail)
    assert row["ess_per_gradient"] == pytest.approx(min(ess, tail) / 4000)
    assert row["ess_per_second"] == pytest.approx(min(ess, tail) / 2.0)
    assert row["divergences"] == 3
    assert 0.99 < row["rhat_max"] < 1.05
    assert np.isfinite(row["max_bias_z"])


def test_summarize_run_iid_and_no_reference():
    post = xr.Dataset({"a": (("chain", "draw"), np.arange(10.0).reshape(1, 10))})
    row = summarize_run(
        _tree(post), var_names=["a"], wall_seconds=0.5, compile_seconds=math.nan, iid=True
    )
    assert row["ess_bulk_min"] == row["ess_tail_min"] == row["ess_min"] == 10
    assert math.isnan(row["rhat_max"])
    assert math.isnan(row["max_bias_z"])
    assert row["grad_evals"] is None
    assert row["divergences"] == 0


def test_ksd_column_is_the_stein_discrepancy_of_at_most_1000_draws():
    import pymc_fisher as pmf
    from tests.models import iid_gaussian

    model = iid_gaussian(2)
    post = xr.Dataset(
        {"x": (("chain", "draw", "k"), np.random.default_rng(2).normal(size=(2, 800, 2)))}
    )
    row = summarize_run(
        _tree(post), var_names=["x"], wall_seconds=1.0, compile_seconds=0.0, model=model
    )
    expected = pmf.stein_discrepancy(model, _tree(post), max_draws=1000)
    assert expected.attrs["n_draws"] == 800  # every second draw of each chain
    assert row["ksd"] == float(expected)
    without = summarize_run(_tree(post), var_names=["x"], wall_seconds=1.0, compile_seconds=0.0)
    assert math.isnan(without["ksd"])


def test_ksd_column_without_a_mode_uses_the_identity_not_the_draws_scores():
    import pymc_fisher as pmf
    from pymc_fisher.bench.metrics import stein_column
    from tests.models import eight_schools_centered

    model = eight_schools_centered()  # log p → ∞ as τ → 0: no mode
    rng = np.random.default_rng(3)
    tau = np.abs(rng.normal(0.0, 4.0, size=(1, 100))) + 0.1
    mu = rng.normal(4.0, 3.0, size=(1, 100))
    theta = mu[..., None] + tau[..., None] * rng.normal(size=(1, 100, 8))
    post = xr.Dataset(
        {
            "mu": (("chain", "draw"), mu),
            "tau": (("chain", "draw"), tau),
            "theta": (("chain", "draw", "school"), theta),
        }
    )
    value = stein_column(model, _tree(post))  # no warning escapes (filterwarnings = error)
    assert value == float(pmf.stein_discrepancy(model, _tree(post), preconditioner="identity"))
