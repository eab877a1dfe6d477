"""``pmf.check_model`` and ``pymc-fisher check``: what the package can do with a model."""

import textwrap

import numpy as np
import pandas as pd
import pymc as pm
import pytest

import pymc_fisher as pmf
from pymc_fisher.cli import main
from tests.corpus.models import build


@pytest.fixture(scope="module")
def normal_check():
    with pm.Model():
        mu = pm.Normal("mu", 0.0, 10.0)
        sigma = pm.HalfNormal("sigma", 1.0)
        pm.Normal("y", mu, sigma, observed=np.array([0.1, -0.4, 0.8, 1.2]))
        return pmf.check_model()  # the model from the context


def test_one_row_per_factor(normal_check):
    assert isinstance(normal_check, pd.DataFrame)
    assert list(normal_check["variable"]) == ["mu", "sigma", "y"]
    assert list(normal_check["role"]) == ["free", "free", "observed"]
    assert list(normal_check["distribution"]) == ["Normal", "HalfNormal", "Normal"]
    assert list(normal_check["coordinate"]) == ["identity", "log", ""]
    assert list(normal_check["size"]) == [1, 1, 4]
    assert set(normal_check["information"]) == {"closed form"}


def test_facts_of_a_regular_model(normal_check):
    facts = normal_check.facts
    assert facts["parameters"].startswith("2 ")
    for key in ("expected_information", "observed_information", "empirical_information"):
        assert facts[key].startswith("yes"), facts[key]
    assert facts["mode"].startswith("yes"), facts["mode"]
    assert facts["rmhmc_metric"].startswith("yes: positive definite"), facts["rmhmc_metric"]


def test_printed_table_shows_rows_and_facts(normal_check):
    text = str(normal_check)
    assert "HalfNormal" in text
    assert "closed form" in text
    assert "rmhmc_metric" in text
    assert "detail" not in text  # details go to the notes, not a wide column


def test_no_likelihood():
    # Neal's funnel: a prior only; in (v, x) its density has a mode, at x = 0, v = -9 * 9 / 2
    table = pmf.check_model(build("neals_funnel"))
    assert set(table["role"]) == {"free"}
    assert table.facts["likelihood_information"].startswith("no: the model has no observed")
    assert table.facts["mode"].startswith("yes"), table.facts["mode"]
    assert table.facts["rmhmc_metric"].startswith("yes"), table.facts["rmhmc_metric"]


def test_no_mode_is_a_typed_answer():
    # centered eight schools: log p grows without bound as log tau -> -inf with theta = mu
    # (a prior-only funnel, HalfNormal tau with 8 thetas, kept fit_laplace searching for
    # minutes: noted in the closing note, not fixed yet)
    from tests.samplers.models import eight_schools_centered

    table = pmf.check_model(eight_schools_centered())
    assert table.facts["mode"].startswith("no: ModeNotFoundError"), table.facts["mode"]


def test_missing_closed_form_is_named():
    # a distribution nobody registers (the rows follow the registry, whatever it holds)
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 1.0)
        # Rice: PyTensor cannot differentiate its log density twice, so no rule applies
        pm.Rice("y", nu=pm.math.exp(mu), sigma=1.0, observed=np.array([0.5, 1.0]))
    table = pmf.check_model(model)
    row = table.set_index("variable").loc["y"]
    assert row["information"] == "none"
    assert "no deterministic rule" in row["detail"]
    assert "'y'" in table.facts["rmhmc_metric"]
    assert table.facts["rmhmc_metric"].startswith("no")
    assert table.facts["expected_information"].startswith("Monte Carlo only")
    assert "notes:" in str(table)


def test_potential_has_a_row():
    # the rows alone (facts=False): the Laplace fit and the metric of this model take minutes
    table = pmf.check_model(build("weibull_aft_potential"), facts=False)
    assert table.facts == {}
    row = table.set_index("variable").loc["y_censored"]
    assert row["role"] == "potential"
    assert row["distribution"] == "Potential"
    assert row["information"] == "local rule"  # a Potential is not a density


def test_each_rule_is_named():
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 1.0)
        pm.Normal("a", mu, 1.0, observed=[0.1])  # closed form
        pm.Uniform("b", mu - 5.0, mu + 5.0, observed=[0.2])  # quantile quadrature
        # local rule (no closed form)
        pm.DirichletMultinomial("c", n=5, a=pm.math.exp(mu) * [1.0, 2.0], observed=[[2, 3]])
    table = pmf.check_model(model, facts=False).set_index("variable")
    assert table.loc[["mu", "a", "b", "c"], "information"].tolist() == [
        "closed form", "closed form", "quadrature", "local rule",
    ]  # fmt: skip


def _write(tmp_path, body: str):
    path = tmp_path / "my_model.py"
    path.write_text(textwrap.dedent(body))
    return str(path)


MODEL_FILE = """
    import numpy as np
    import pymc as pm

    with pm.Model() as {name}:
        mu = pm.Normal("mu", 0.0, 10.0)
        pm.Normal("y", mu, 1.0, observed=np.array([0.5, 1.5]))
"""


@pytest.mark.parametrize("name", ["model", "anything"])
def test_cli_check_finds_the_model(tmp_path, capsys, name):
    assert main(["check", _write(tmp_path, MODEL_FILE.format(name=name))]) == 0
    out = capsys.readouterr().out
    assert "mu" in out
    assert "closed form" in out
    assert "rmhmc_metric" in out


def test_cli_check_two_models_is_an_error(tmp_path, capsys):
    body = MODEL_FILE.format(name="first") + MODEL_FILE.format(name="second").replace(
        "import numpy as np\n    import pymc as pm\n", ""
    )
    assert main(["check", _write(tmp_path, body)]) == 2
    err = capsys.readouterr().err
    assert "2 pm.Model objects (first, second)" in err
    assert "`model`" in err


def test_cli_check_missing_file(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope.py")]) == 2
    assert "no file" in capsys.readouterr().err


def test_mv_student_t_car_and_icar_take_their_closed_forms():
    from scipy import sparse

    w = np.array([[0, 1, 0, 1], [1, 0, 1, 1], [0, 1, 0, 1], [1, 1, 1, 0]])
    with pm.Model() as model:
        nu = pm.Gamma("nu", 2.0, 0.2)
        s = pm.HalfNormal("s", 1.0)
        alpha = pm.Uniform("alpha", -1.0, 1.0)
        x = pm.MvStudentT("x", nu=nu, mu=np.zeros(3), chol=s * np.eye(3))
        pm.MvStudentT("y", nu=nu, mu=x, scale=np.eye(3), observed=np.zeros((5, 3)))
        c = pm.CAR("c", mu=np.zeros(4), W=w, alpha=alpha, tau=s)
        # a sparse W (PyMC itself warns when it has to broadcast one over a batch)
        pm.CAR("z", mu=c, W=sparse.csr_matrix(w), alpha=alpha, tau=2.0, observed=np.ones(4))
        pm.ICAR("phi", W=w, sigma=s)
    table = pmf.check_model(model, facts=False).set_index("variable")
    rows = ["x", "y", "c", "z", "phi"]
    assert table.loc[rows, "information"].tolist() == ["closed form"] * 5
    info = pmf.fisher_information(model, include_prior=True)
    assert np.all(np.isfinite(info.values))
    assert np.linalg.eigvalsh(info.values).min() > 0


def test_interval_distributions_have_closed_forms():
    # free values under PyMC's interval transform, and observed values with parameters in θ
    with pm.Model() as model:
        a = pm.Normal("a", 0.0, 1.0)
        pm.Uniform("u", 0.0, 2.0)
        pm.Uniform("u_moving", a - 1.0, a + 3.0)  # bounds in θ: still standard logistic in y
        pm.Pareto("pareto", alpha=3.0, m=1.5)
        pm.Triangular("triangular", lower=0.0, c=1.0, upper=3.0)
        pm.TruncatedNormal("tn", mu=0.0, sigma=1.0, lower=-1.0, upper=2.0)
        pm.TruncatedNormal("tn_lower", mu=0.0, sigma=1.0, lower=-1.0)
        pm.TruncatedNormal("tn_upper", mu=0.0, sigma=1.0, upper=2.0)
        pm.Pareto("y_pareto", alpha=pm.math.exp(a) + 1.0, m=0.5, observed=[1.0, 2.0])
        pm.Triangular("y_tri", lower=0.0, c=3 * pm.math.sigmoid(a), upper=3.0, observed=[1.0])
        pm.TruncatedNormal("y_tn", mu=a, sigma=1.0, lower=-1.0, upper=2.0, observed=[0.5])
    table = pmf.check_model(model, facts=False).set_index("variable")
    assert set(table["information"]) == {"closed form"}, table["information"]
    assert table.loc["tn", "coordinate"] == "Interval"


def test_logit_normal_skew_normal_kumaraswamy_have_closed_forms():
    # LogitNormal is a CustomDist (a new Op class per variable, found by name and inner graph)
    # with no default transform; SkewNormal's α terms are a fixed Gauss-Hermite rule
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 1.0)
        s = pm.HalfNormal("s", 1.0)
        alpha = pm.Normal("alpha", 1.0, 1.0)
        pm.SkewNormal("sk", mu=mu, sigma=s, alpha=alpha)
        pm.LogitNormal("ln", mu=mu, sigma=s)
        pm.SkewNormal("y", mu=mu, sigma=s, alpha=alpha, observed=[0.1, 0.5, 1.3])
        pm.LogitNormal("z", mu=mu, sigma=s, observed=[0.2, 0.6])
        pm.Kumaraswamy("k", a=pm.math.exp(mu) + 0.5, b=2.0 * s, observed=[0.3, 0.7])
    table = pmf.check_model(model, facts=False).set_index("variable")
    assert set(table["information"]) == {"closed form"}, table["information"]
    assert table.loc["ln", "coordinate"] == "identity"  # PyMC gives it no transform
    info = pmf.fisher_information(model, include_prior=True)
    assert np.all(np.isfinite(info.values))
    assert np.linalg.eigvalsh(info.values).min() > 0


def test_zero_sum_normal_takes_its_closed_form():
    # free under the ZeroSumTransform: σ free or constant, a batch with a σ per row, two zero-sum
    # axes; observed with σ free
    with pm.Model() as model:
        s = pm.HalfNormal("s", 1.0)
        t = pm.HalfNormal("t", 1.0, shape=2)
        pm.ZeroSumNormal("a", sigma=s, shape=(3, 5))
        pm.ZeroSumNormal("b", sigma=t[:, None], shape=(2, 4))
        pm.ZeroSumNormal("c", sigma=2.0, shape=(3, 4), n_zerosum_axes=2)
        pm.ZeroSumNormal("y", sigma=s, observed=np.array([[0.3, -0.1, -0.2], [1.0, -0.5, -0.5]]))
    table = pmf.check_model(model, facts=False).set_index("variable")
    rows = ["a", "b", "c", "y"]
    assert table.loc[rows, "information"].tolist() == ["closed form"] * 4
    assert table.loc[["a", "b", "c"], "coordinate"].tolist() == ["ZeroSumTransform"] * 3
    info = pmf.fisher_information(model, include_prior=True)
    assert np.all(np.isfinite(info.values))
    assert np.linalg.eigvalsh(info.values).min() > 0
    # at s = 1: HalfNormal's 2, a's 2 · 12 and y's 2 · 4 in log s (d = Π(n_i − 1) per element)
    np.testing.assert_allclose(info.sel(rows="s_log__", columns="s_log__").values, 34.0)
