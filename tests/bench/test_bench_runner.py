"""run_study: known-answer bias z, real samplers on two tiny targets, resume, executors."""

import json
import math

import arviz_stats as azs
import numpy as np
import pymc as pm
import pytest
import xarray as xr

from pymc_fisher.bench import (
    COLUMNS,
    InlineExecutor,
    Reference,
    RunFailedError,
    RunSettings,
    SamplerRun,
    StudyError,
    Target,
    UnknownSamplerError,
    load_run,
    load_study,
    run_study,
)

SMALL = {"chains": 2, "draws": 60, "tune": 60}


def shifted():
    with pm.Model() as model:
        pm.Normal("a", 2.0, 1.0)
    return model


SHIFTED = Target("shifted", shifted, {"a": Reference(np.array(2.0))})
DELTA = 0.02  # the fake sampler's bias, added to every element's true mean
TRUE_MEANS = {"gaussian": {"x": np.array([1.0, -2.0, 0.5])}, "shifted": {"a": np.array(2.0)}}


def fake_sampler(model, settings: RunSettings):
    """Independent draws with sample mean exactly truth + DELTA and sample sd exactly 1."""
    rng = np.random.default_rng(settings.seed)
    n = settings.chains * settings.draws
    data = {}
    truth = TRUE_MEANS["gaussian" if "x" in model.named_vars else "shifted"]
    for name, mean in truth.items():
        e = rng.normal(size=(n, *mean.shape))
        e = (e - e.mean(axis=0)) / e.std(axis=0, ddof=1)
        x = (mean + DELTA + e).reshape(settings.chains, settings.draws, *mean.shape)
        dims = ("chain", "draw", *(f"{name}_dim_{i}" for i in range(mean.ndim)))
        data[name] = (dims, x)
    tree = xr.DataTree.from_dict({"posterior": xr.Dataset(data)})
    return SamplerRun(tree, 0.25, 2.0, iid=True)


def test_bias_z_known_answer_on_two_targets():
    table = run_study(
        ["gaussian", SHIFTED],
        [("fake", fake_sampler)],
        seeds=[0, 1],
        executor=InlineExecutor(),
        progress=False,
        **SMALL,
    )
    assert list(table.columns) == list(COLUMNS)
    assert list(table["target"]) == ["gaussian", "gaussian", "shifted", "shifted"]
    n = SMALL["chains"] * SMALL["draws"]
    # mean − reference = DELTA exactly; MCSE = sd/√n = 1/√n exactly
    np.testing.assert_allclose(table["max_bias_z"], DELTA * math.sqrt(n), rtol=1e-10)
    np.testing.assert_allclose(table["ess_bulk_min"], n)
    np.testing.assert_allclose(table["ess_per_second"], n / 2.0)
    np.testing.assert_allclose(table["compile_seconds"], 0.25)
    assert table["rhat_max"].isna().all()
    assert (table["ksd"] > 0).all()  # every run scored against its model (NaN would fail)


def test_real_samplers_on_two_tiny_targets(tmp_path):
    table = run_study(
        ["gaussian", "banana"],
        ["nuts"],
        seeds=[3, 4],
        executor=InlineExecutor(),
        out=tmp_path,
        progress=False,
        **SMALL,
    )
    assert table.shape == (4, len(COLUMNS))
    assert list(table["seed"]) == [3, 4, 3, 4]
    assert table[["wall_seconds", "compile_seconds", "ess_bulk_min"]].gt(0).all().all()
    assert (table["grad_evals"] >= SMALL["chains"] * (SMALL["draws"] + SMALL["tune"])).all()
    from pymc_fisher.bench.targets import get_target

    for row in table.itertuples():
        tree = load_run(tmp_path, row.target, row.sampler, row.seed)
        # bias z recomputed from the saved draws, independently of the runner
        ref = get_target(row.target).reference
        post = tree["posterior"].to_dataset()
        mcse = azs.mcse(post[list(ref)], sample_dims=["chain", "draw"], method="mean")
        z = [
            np.ravel((post[k].mean(["chain", "draw"]).values - r.mean) / mcse[k].values)
            for k, r in ref.items()
        ]
        assert row.max_bias_z == pytest.approx(np.max(np.abs(np.concatenate(z))))
        n_steps = sum(
            float(tree[g]["n_steps"].sum()) for g in ("sample_stats", "warmup_sample_stats")
        )
        assert row.grad_evals == n_steps
        assert row.divergences == int(tree["sample_stats"]["diverging"].sum())
    assert (
        load_study(tmp_path)
        .sort_values(["target", "seed"])
        .reset_index(drop=True)
        .equals(table.sort_values(["target", "seed"]).reset_index(drop=True))
    )


def _counting_sampler(log_dir, fail_seed=None, error=RuntimeError):
    def sampler(model, settings):
        if settings.seed == fail_seed:
            raise error("simulated crash")
        (log_dir / f"call-{settings.seed}-{len(list(log_dir.iterdir()))}").touch()
        return fake_sampler(model, settings)

    return sampler


def test_resume_after_interruption(tmp_path):
    out, log = tmp_path / "study", tmp_path / "log"
    log.mkdir()
    kwargs = {"seeds": [0, 1, 2, 3], "executor": InlineExecutor(), "out": out, "progress": False}
    # first session is interrupted (Ctrl-C) in seed 2: runs 0 and 1 are saved, 2 and 3 are not
    interrupted = _counting_sampler(log, fail_seed=2, error=KeyboardInterrupt)
    with pytest.raises(KeyboardInterrupt):
        run_study([SHIFTED], [("fake", interrupted)], **kwargs, **SMALL)
    assert len(load_study(out)) == 2
    first = {p.name for p in log.iterdir()}
    assert len(first) == 2
    # a crash while saving: the tree is on disk but its row is not, so that run counts as unfinished
    (out / "runs" / "shifted__fake__seed1.json").unlink()
    table = run_study([SHIFTED], [("fake", _counting_sampler(log))], **kwargs, **SMALL)
    assert list(table["seed"]) == [0, 1, 2, 3]
    new_calls = sorted(p.name.split("-")[1] for p in log.iterdir() if p.name not in first)
    assert new_calls == ["1", "2", "3"]  # seed 0 not repeated, nothing lost
    # a third session has nothing left to do (a run would raise)
    again = run_study([SHIFTED], [("fake", _counting_sampler(log, fail_seed=0))], **kwargs, **SMALL)
    assert again.equals(table)
    saved = json.loads((out / "runs" / "shifted__fake__seed3.json").read_text())
    assert saved["settings"] == {"draws": 60, "tune": 60, "chains": 2}


def test_a_row_saved_without_a_current_column_is_run_again(tmp_path):
    log = tmp_path / "log"
    log.mkdir()
    kwargs = {"seeds": [0], "executor": InlineExecutor(), "out": tmp_path / "s", "progress": False}
    run_study([SHIFTED], [("fake", _counting_sampler(log))], **kwargs, **SMALL)
    path = tmp_path / "s" / "runs" / "shifted__fake__seed0.json"
    record = json.loads(path.read_text())
    del record["row"]["ess_min"]  # as saved before the column existed
    path.write_text(json.dumps(record))
    table = run_study([SHIFTED], [("fake", _counting_sampler(log))], **kwargs, **SMALL)
    assert len(list(log.iterdir())) == 2
    assert table["ess_min"].notna().all()


def test_resume_refuses_other_settings(tmp_path):
    kwargs = {"executor": InlineExecutor(), "out": tmp_path, "progress": False}
    run_study([SHIFTED], [("fake", fake_sampler)], seeds=[0], **kwargs, **SMALL)
    with pytest.raises(StudyError, match="another out folder"):
        run_study(
            [SHIFTED], [("fake", fake_sampler)], seeds=[0], chains=2, draws=61, tune=60, **kwargs
        )


def test_failed_run_stops_the_study(tmp_path):
    with pytest.raises(RunFailedError, match="shifted__fake__seed1") as info:
        run_study(
            [SHIFTED],
            [("fake", _counting_sampler(tmp_path, fail_seed=1))],
            seeds=[0, 1],
            executor=InlineExecutor(),
            progress=False,
            **SMALL,
        )
    assert isinstance(info.value.__cause__, RuntimeError)


def test_failed_run_can_be_warned_about(tmp_path):
    with pytest.warns(UserWarning, match="simulated crash"):
        table = run_study(
            [SHIFTED],
            [("fake", _counting_sampler(tmp_path, fail_seed=1))],
            seeds=[0, 1],
            executor=InlineExecutor(),
            progress=False,
            on_error="warn",
            **SMALL,
        )
    assert list(table["seed"]) == [0]


def test_bad_input():
    with pytest.raises(UnknownSamplerError, match="nutpie"):
        run_study(["gaussian"], ["nope"], seeds=[0], **SMALL)
    with pytest.raises(StudyError, match="unique"):
        run_study(["gaussian", "gaussian"], ["nuts"], seeds=[0], **SMALL)
    with pytest.raises(StudyError, match="at least one"):
        run_study(["gaussian"], ["nuts"], seeds=[], **SMALL)


def test_progress_lines(capsys):
    run_study([SHIFTED], [("fake", fake_sampler)], seeds=[0, 1], executor=InlineExecutor(), **SMALL)
    err = capsys.readouterr().err
    assert "[1/2] shifted__fake__seed" in err
    assert "[2/2]" in err


def test_default_process_pool_with_a_user_lambda(tmp_path):
    # the user's model is a lambda: it reaches the spawned workers through cloudpickle
    target = Target("lam", lambda: shifted(), {"a": Reference(np.array(2.0))})
    table = run_study([target], ["nuts"], seeds=[1], out=tmp_path, progress=False, **SMALL)
    assert list(table["seed"]) == [1]
    assert table["ess_bulk_min"].gt(0).all()
    assert (tmp_path / "runs" / "lam__nuts__seed1.zarr").is_dir()


def test_dask_executor(tmp_path):
    import distributed  # a test dependency: CI must exercise the Dask path, never skip it

    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        table = run_study(
            ["gaussian", SHIFTED],
            ["nuts"],
            seeds=[0],
            executor=client.get_executor(),
            out=tmp_path,
            progress=False,
            **SMALL,
        )
    assert list(table["target"]) == ["gaussian", "shifted"]
    assert table["ess_bulk_min"].gt(0).all()
    assert len(load_study(tmp_path)) == 2
