from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm
import pytest
from scipy import stats

from pymc_fisher.bench import (
    DataNotFoundError,
    StudyError,
    Target,
    UnknownTargetError,
    as_target,
    available_targets,
    get_target,
    register_target,
    with_reference,
)
from pymc_fisher.bench.data import DATA_ENV_VAR, data_dir, german_credit_data
from pymc_fisher.bench.targets import stochastic_volatility

ROOT = Path(__file__).resolve().parents[2]

REQUIRED = {
    "funnel",
    "eight_schools_centered",
    "eight_schools_noncentered",
    "german_credit",
    "stochastic_volatility",
    "banana",
}


def test_registry_has_the_issue_targets():
    assert set(available_targets()) >= REQUIRED


def test_unknown_target_lists_the_names():
    with pytest.raises(UnknownTargetError, match="funnel"):
        get_target("no-such-model")


def test_names_accept_hyphens():
    assert get_target("eight-schools-centered").name == "eight_schools_centered"


@pytest.mark.parametrize(
    ("name", "free", "dim"),
    [
        ("funnel", {"v", "x"}, 10),
        ("banana", {"x1", "x2"}, 2),
        ("eight_schools_centered", {"mu", "tau", "theta"}, 10),
        ("eight_schools_noncentered", {"mu", "tau", "theta_tilde"}, 10),
        ("german_credit", {"w"}, 25),
    ],
)
def test_models_build_with_finite_density(name, free, dim):
    model = get_target(name).build()
    assert {rv.name for rv in model.free_RVs} == free
    point = model.initial_point()
    assert sum(np.size(v) for v in point.values()) == dim
    assert np.isfinite(model.compile_logp()(point))


def test_funnel_reference_is_exact():
    ref = get_target("funnel").reference
    assert float(ref["v"].mean) == 0.0
    assert float(ref["v"].sd) == 3.0
    np.testing.assert_array_equal(ref["x"].mean, np.zeros(9))
    # sd(x_i)² = E[exp(v)] = exp(9/2) for v ~ N(0, 9)
    np.testing.assert_allclose(ref["x"].sd ** 2, np.exp(4.5))


def test_banana_density_and_reference():
    # exact: the model's log density is the stated one
    model = get_target("banana").build()
    logp = model.compile_logp()
    scale, b = 2.0, 0.5
    for x1, x2 in [(0.3, -1.0), (-2.5, 4.0)]:
        expected = stats.norm.logpdf(x1, 0, scale)
        expected += stats.norm.logpdf(x2, b * (x1**2 - scale**2), 1)
        np.testing.assert_allclose(logp({"x1": x1, "x2": x2}), expected, rtol=1e-8)
    # reference moments against forward simulation of that density
    rng = np.random.default_rng(1)
    n = 400_000
    x1 = rng.normal(0, scale, n)
    x2 = rng.normal(b * (x1**2 - scale**2), 1)
    ref = get_target("banana").reference
    for value, name in ((x1, "x1"), (x2, "x2")):
        # 5 standard errors: false alarm < 1e-6 per check
        assert abs(value.mean() - ref[name].mean) < 5 * ref[name].sd / np.sqrt(n)
        assert abs(value.std() / ref[name].sd - 1) < 0.01


def test_german_credit_design_is_the_papers():
    design, labels, names = german_credit_data()
    raw = pd.read_csv(data_dir() / "german.csv")
    assert design.shape == (1000, 25)
    assert names[0] == "intercept"
    np.testing.assert_array_equal(design[:, 0], 1.0)
    np.testing.assert_allclose(design[:, 1:].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(design[:, 1:].std(axis=0, ddof=1), 1.0)
    np.testing.assert_array_equal(labels, raw["y_raw"] - 1)
    # the model's log density is the paper's: Bernoulli-logit likelihood, w ~ N(0, 100 I)
    model = get_target("german_credit").build()
    w = np.linspace(-0.5, 0.5, 25)
    eta = design @ w
    expected = np.sum(labels * eta - np.logaddexp(0, eta)) + stats.norm.logpdf(w, 0, 10).sum()
    np.testing.assert_allclose(model.compile_logp()({"w": w}), expected, rtol=1e-8)


def test_stochastic_volatility_builds_on_a_prefix():
    model = stochastic_volatility(50)
    assert {rv.name for rv in model.free_RVs} == {"log_beta", "sigma2", "phi_star", "x"}
    point = model.initial_point()
    assert point["x"].shape == (50,)
    assert np.isfinite(model.compile_logp()(point))


def test_data_folder_override(monkeypatch, tmp_path):
    real = data_dir() / "german.csv"
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path))
    with pytest.raises(DataNotFoundError, match=DATA_ENV_VAR):
        get_target("german_credit").build()
    (tmp_path / "gc2011").mkdir()
    frame = pd.read_csv(real).iloc[::2]  # every other row: a file that is not the default one
    frame.to_csv(tmp_path / "gc2011" / "german.csv", index=False)
    design, _, _ = german_credit_data()
    assert design.shape == (500, 25)


def test_the_data_ship_with_the_package(monkeypatch):
    import tomllib

    import pymc_fisher.bench.data as data

    monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    package = Path(data.__file__).parent
    assert data_dir() == data.PACKAGE_DATA == package / "gc2011"
    # setuptools installs them: the package data patterns name every file of the folder
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["pymc_fisher.bench"]
    shipped = {p.relative_to(package) for pattern in patterns for p in package.glob(pattern)}
    assert {p.relative_to(package) for p in (package / "gc2011").iterdir()} <= shipped
    assert isinstance(get_target("german_credit"), Target)  # listing a target reads no data


def test_as_target_accepts_models_and_callables():
    with pm.Model(name="mine") as model:
        pm.Normal("a")
    assert as_target(model).build() is model
    assert as_target(model).name == "mine"

    def my_model():
        with pm.Model() as m:
            pm.Normal("b")
        return m

    target = as_target(my_model)
    assert target.name == "my_model"
    assert target.reference is None
    with pytest.raises(TypeError, match="target"):
        as_target(3)


def test_register_target_refuses_duplicates():
    target = Target("funnel", lambda: None)
    with pytest.raises(StudyError, match="already registered"):
        register_target(target)


def test_with_reference_keeps_the_builder():
    base = get_target("eight_schools_noncentered")
    ref = with_reference(base, {"mu": 4.4}, {"mu": 3.3})
    assert ref.build is base.build
    assert float(ref.reference["mu"].sd) == 3.3
