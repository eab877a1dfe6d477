"""``pmf.sample(method="nuts" | "auto")``: the DataTree, the choice, and exactness (slow tier).

The exactness checks compare posterior means and standard deviations with known values,
allowing ``z * MCSE`` (ArviZ's MCSE; a Monte Carlo reference adds its own in quadrature), with
``z`` Bonferroni-corrected so that each test raises a false alarm with probability 0.001 when
the sampler is exact.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest
from scipy.stats import norm

import pymc_fisher as pmf
from pymc_fisher.sampling import _choose
from tests.corpus.models import CORPUS
from tests.corpus.reference import load_reference, summary_stats
from tests.models import (
    EIGHT_SCHOOLS_SIGMA,
    EIGHT_SCHOOLS_Y,
    eight_schools_centered,
    eight_schools_reference,
    funnel,
)

RUN = {"progressbar": False, "compute_convergence_checks": False}
FALSE_ALARM = 0.001
MIN_ESS = 100


def _model_with_dims_data_and_deterministics() -> pm.Model:
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(4), 5)
    x = rng.normal(size=20)
    coords = {"group": list("abcd"), "obs": np.arange(20)}
    with pm.Model(coords=coords) as model:
        x_data = pm.Data("x", x, dims="obs")
        mu = pm.Normal("mu", 0.0, 1.0)
        sigma = pm.HalfNormal("sigma", 1.0)
        a = pm.Normal("a", mu, sigma, dims="group")
        b = pm.Normal("b", 0.0, 1.0)
        pm.Deterministic("effect", a * 2.0, dims="group")
        pm.Normal("y", a[groups] + b * x_data, 1.0, observed=rng.normal(size=20), dims="obs")
    return model


def test_datatree_is_pm_sample_s() -> None:
    """Groups, variables, dims and coords of nutpie's run of the original model, and no more."""
    model = _model_with_dims_data_and_deterministics()
    kwargs = {"draws": 30, "tune": 30, "chains": 2, "cores": 1, "random_seed": 3, **RUN}
    ours = pmf.sample(model=model, method="nuts", idata_kwargs={"log_likelihood": True}, **kwargs)
    theirs = pm.sample(model=model, nuts_sampler="nutpie", **kwargs)
    pm.compute_log_likelihood(theirs, model=model, progressbar=False)
    assert set(ours.children) == set(theirs.children)
    for group in theirs.children:
        a, b = ours[group].to_dataset(), theirs[group].to_dataset()
        if group == "sample_stats":
            assert set(b.data_vars) <= set(a.data_vars)
            continue
        assert set(a.data_vars) == set(b.data_vars), group
        for name in b.data_vars:
            assert a[name].dims == b[name].dims, (group, name)
        for dim in b.dims:
            np.testing.assert_array_equal(a[dim].values, b[dim].values)
    assert ours.attrs["method"] == "nuts"
    assert ours.attrs["noncentered"] == ["a"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("neals_funnel", "nuts"),  # no data: ρ = 0
        ("eight_schools_centered", "nuts"),  # ρ = 0.21
        ("radon_centered", "nutpie"),  # ρ = 14
        ("hierarchical_logistic_centered", "nutpie"),  # ρ = 7.25
        ("german_credit", "nutpie"),  # no latent block
    ],
)
def test_auto_by_the_data_to_prior_ratio(name: str, expected: str) -> None:
    method, _ = _choose(CORPUS[name].build(), {})
    assert method == expected


def test_data_to_prior_ratio_is_the_closed_form() -> None:
    """Eight schools at the initial point (τ = 5): ρ_j = τ²/σ_j², median over the schools."""
    from pymc_fisher.reparam.dominance import data_to_prior_ratio

    ratio = data_to_prior_ratio(eight_schools_centered())
    tau = float(np.exp(eight_schools_centered().initial_point()["tau_log__"]))
    np.testing.assert_allclose(
        ratio["theta"], np.median(tau**2 / EIGHT_SCHOOLS_SIGMA**2), rtol=1e-12
    )


def test_auto_non_centres_a_hierarchy_and_leaves_a_regression_to_nutpie() -> None:
    method, reason = _choose(funnel(5), {})
    assert method == "nuts"
    assert "x" in reason
    method, reason = _choose(CORPUS["german_credit"].build(), {})
    assert method == "nutpie"
    assert "no latent block" in reason


def test_auto_records_its_choice() -> None:
    with pm.Model() as model:
        pm.Normal("x", 0.0, 1.0, shape=2)
    idata = pmf.sample(20, tune=20, chains=1, model=model, random_seed=1, **RUN)
    assert idata.attrs["method"] == "nutpie"
    assert "no latent block" in idata.attrs["method_reason"]


def _z(n_checks: int) -> float:
    return float(norm.ppf(1.0 - FALSE_ALARM / (2.0 * n_checks)))


def _check(posterior, checks, ref_mcse=None) -> None:
    """checks: (var, index, "mean" | "sd", truth); ``ref_mcse`` the truth's own MCSE."""
    from arviz_stats.base import array_stats

    z = _z(len(checks))
    failures = []
    for k, (var, idx, kind, truth) in enumerate(checks):
        x = np.asarray(posterior[var], dtype=float)  # (chain, draw, ...)
        if idx is not None:
            x = x[(slice(None), slice(None), *np.atleast_1d(idx))]
        ess = float(array_stats.ess(x, method="bulk", chain_axis=0, draw_axis=1))
        assert ess >= MIN_ESS, f"{var}[{idx}]: bulk ESS {ess:.0f} < {MIN_ESS}"
        est = float(x.mean()) if kind == "mean" else float(x.std())
        mcse = float(array_stats.mcse(x, method=kind, chain_axis=0, draw_axis=1))
        tol = z * np.hypot(mcse, 0.0 if ref_mcse is None else ref_mcse[k])
        if abs(est - truth) > tol:
            failures.append(f"{var}[{idx}] {kind}: {est:.4f} vs {truth:.4f} (tol {tol:.4f})")
    assert not failures, failures


@pytest.mark.slow
@pytest.mark.parametrize("method", ["nuts", "auto"])
@pytest.mark.parametrize("d", [10, 50])
def test_funnel_is_exact(method: str, d: int) -> None:
    """v ~ N(0, 3) and x_i | v ~ N(0, e^{v/2}): E v = 0, sd v = 3, E x_i = 0."""
    idata = pmf.sample(model=funnel(d), method=method, chains=4, cores=2, random_seed=5, **RUN)
    assert int(idata.sample_stats.diverging.sum()) == 0
    checks = [("v", None, "mean", 0.0), ("v", None, "sd", 3.0), ("x", 0, "mean", 0.0)]
    _check(idata.posterior, checks)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["nuts", "auto"])
def test_eight_schools_weak_data_is_exact(method: str) -> None:
    """μ, τ and log τ against their moments by quadrature (θ integrated out in closed form)."""
    ref = eight_schools_reference()
    idata = pmf.sample(
        model=eight_schools_centered(), method=method, chains=4, cores=2, random_seed=7, **RUN
    )
    posterior = idata.posterior.assign(log_tau=np.log(idata.posterior["tau"]))
    checks = [
        ("mu", None, "mean", ref["mu_mean"]),
        ("mu", None, "sd", ref["mu_sd"]),
        ("log_tau", None, "mean", ref["tau_log___mean"]),
        ("log_tau", None, "sd", ref["tau_log___sd"]),
    ]
    _check(posterior, checks)


@pytest.mark.slow
def test_eight_schools_strong_data_is_exact() -> None:
    """The data ten times as precise, τ fixed: θ_j | y is Gaussian in closed form."""
    sigma = EIGHT_SCHOOLS_SIGMA / 10.0
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 5.0)
        theta = pm.Normal("theta", mu, 4.0, shape=8)
        pm.Normal("y", theta, sigma, observed=EIGHT_SCHOOLS_Y)
    # joint Gaussian posterior of (mu, theta): precision Q, b = Σ y/σ²
    q = np.zeros((9, 9))
    q[0, 0] = 1 / 25 + 8 / 16
    q[0, 1:] = q[1:, 0] = -1 / 16
    q[1:, 1:] = np.diag(1 / 16 + 1 / sigma**2)
    b = np.concatenate([[0.0], EIGHT_SCHOOLS_Y / sigma**2])
    cov = np.linalg.inv(q)
    mean = cov @ b
    idata = pmf.sample(model=model, method="nuts", chains=4, cores=2, random_seed=2, **RUN)
    checks = [("mu", None, "mean", mean[0]), ("mu", None, "sd", np.sqrt(cov[0, 0]))]
    checks += [("theta", j, "mean", mean[1 + j]) for j in range(8)]
    _check(idata.posterior, checks)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["german_credit", "nile_local_level", "radon_centered"])
def test_matches_the_stored_nutpie_reference(name: str) -> None:
    """Every scalar's mean against a long nutpie run of the corpus (its MCSE in quadrature)."""
    ref = load_reference(name)
    idata = pmf.sample(
        model=CORPUS[name].build(), method="nuts", chains=4, cores=2, random_seed=9, **RUN
    )
    checks, ref_mcse = [], []
    for var, draws in ref.draws.items():
        stats = summary_stats(draws)
        for idx in np.ndindex(stats["mean"].shape):
            index = None if idx == () else idx
            checks.append((var, index, "mean", float(stats["mean"][idx])))
            ref_mcse.append(float(stats["mcse"][idx]))
    _check(idata.posterior, checks, ref_mcse)


def test_without_nutpie_pymc_s_nuts_samples_the_reparametrised_model(monkeypatch) -> None:
    """nutpie absent: a warning that says so, PyMC's NUTS, the original variables only."""
    import pymc_fisher.sampling as sampling

    monkeypatch.setattr(sampling, "nutpie_available", lambda: False)
    with pytest.warns(pmf.NutpieFallbackWarning, match="pip install nutpie"):
        idata = pmf.sample(
            20, tune=20, chains=1, cores=1, model=funnel(3), method="nuts", random_seed=1, **RUN
        )
    assert set(idata.posterior.data_vars) == {"v", "x"}
    assert idata.attrs["method"] == "nuts"
