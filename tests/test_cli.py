"""The pymc-fisher command line, end to end with small settings."""

import subprocess
import sys

import pandas as pd
import pytest

from pymc_fisher.bench import COLUMNS
from pymc_fisher.cli import main

SMALL = ["--chains", "2", "--draws", "40", "--tune", "40"]


def test_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "funnel" in out
    assert "rmhmc-softabs" in out


def test_compare_end_to_end(tmp_path, capsys):
    out = tmp_path / "study"
    argv = ["compare", "gaussian", "banana", "--samplers", "nuts", "--seeds", "2"]
    assert main([*argv, *SMALL, "--workers", "0", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "ess_per_second" in printed.out
    assert "[2/2]" in printed.err
    table = pd.read_csv(out / "study.csv")
    assert list(table.columns) == list(COLUMNS)
    assert sorted(zip(table["target"], table["seed"], strict=True)) == [
        ("banana", 2),
        ("gaussian", 2),
    ]
    figures = {p.name for p in (out / "figures").iterdir()}
    assert "ess_per_second.png" in figures
    assert {"rank_gaussian__nuts__seed2.png", "rank_banana__nuts__seed2.png"} <= figures
    # the same command again resumes: nothing is rerun, the table is the same
    assert main([*argv, *SMALL, "--workers", "0", "--out", str(out), "--no-figures"]) == 0
    assert "resuming: 2 finished" in capsys.readouterr().err
    pd.testing.assert_frame_equal(pd.read_csv(out / "study.csv"), table)


def test_unknown_target_is_a_usage_error(tmp_path, capsys):
    assert main(["compare", "nope", "--out", str(tmp_path)]) == 2
    assert "no target named 'nope'" in capsys.readouterr().err


def test_bad_seeds_are_rejected():
    with pytest.raises(SystemExit):
        main(["compare", "funnel", "--seeds", "a,b"])


def test_module_entry_point(tmp_path):
    # `python -m pymc_fisher.cli` reaches main() (the process pool is tested in tests/bench)
    result = subprocess.run(
        [sys.executable, "-m", "pymc_fisher.cli", "compare", "gaussian", "--samplers", "nuts",
         *SMALL, "--workers", "0", "--no-figures", "--quiet", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "gaussian" in result.stdout
    assert (tmp_path / "study.csv").is_file()


def test_demo_small(tmp_path, capsys, monkeypatch):
    # the demo's wiring: funnel, nutpie, pmf.sample's defaults and RMHMC with the given
    # settings. RMHMC itself runs through the same adapter in tests/bench
    # (test_rmhmc_adapter_runs) and the whole demo in the slow tier; here RMHMC's and
    # pmf.sample's adapters are stand-ins, so the test does not compile the kernel
    import pymc_fisher.bench.samplers as samplers

    record = tmp_path / "rmhmc-call.txt"

    def rmhmc_stand_in(model, settings):
        # the function travels pickled, so it reports through the file system
        names = ",".join(rv.name for rv in model.free_RVs)
        record.write_text(f"{names} {settings.chains} {settings.draws} {settings.tune}")
        return samplers.get_sampler("nuts")(model, settings)

    monkeypatch.setitem(samplers._SAMPLERS, "rmhmc", rmhmc_stand_in)
    monkeypatch.setitem(samplers._SAMPLERS, "fisher", samplers.get_sampler("nutpie"))
    tiny = ["--chains", "1", "--draws", "20", "--tune", "20"]
    assert main(["demo", *tiny, "--workers", "0", "--no-figures", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr()
    table = pd.read_csv(tmp_path / "study.csv")
    assert set(table["target"]) == {"funnel"}
    assert list(table["sampler"]) == ["nutpie", "fisher", "rmhmc"]
    assert record.read_text() == "v,x 1 20 20"
    assert "demo: funnel" in printed.err


@pytest.mark.slow
def test_demo_default_settings_finish(tmp_path):
    # the README's main job, as a user runs it (two processes)
    result = subprocess.run(
        [sys.executable, "-m", "pymc_fisher.cli", "demo", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "funnel" in result.stdout
