"""``pmf.stein_discrepancy``: the facade against the numeric core, affine invariance through
the model, the cap on draws, the preconditioner options and the fallback where no mode exists."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pymc as pm
import pytest
import xarray as xr

import pymc_fisher as pmf
from pymc_fisher.stein.kernel import kernel_sums
from tests.models import eight_schools_centered, gaussian, iid_gaussian
from tests.stein.test_draws import tree
from tests.stein.test_kernel import mixture_score


def test_exact_draws_information_preconditioner_is_the_identity_for_a_standard_normal():
    # the information of N(0, I) at its mode is I: the discrepancy is the raw IMQ KSD of (x, −x)
    model = iid_gaussian(3)
    x = np.random.default_rng(0).normal(size=(2, 300, 3))
    ksd = pmf.stein_discrepancy(model, tree(x=x))
    flat = x.reshape(-1, 3)
    sums = kernel_sums(flat, -flat)
    assert ksd.attrs["ksd2_v"] == pytest.approx(sums.v_statistic, rel=1e-10)
    assert float(ksd) == pytest.approx(np.sqrt(sums.v_statistic), rel=1e-10)
    assert ksd.attrs["ksd2_u"] == pytest.approx(sums.u_statistic, rel=1e-9)
    assert ksd.attrs["floor"] == pytest.approx(sums.trace / 600**2, rel=1e-10)
    assert ksd.attrs["n_draws"] == 600
    assert ksd.attrs["dimension"] == 3
    assert "at its mode" in ksd.attrs["preconditioner_source"]
    assert ksd.dims == ()
    assert ksd.name == "ksd"


class Affine(NamedTuple):
    """x ~ N(μ, Σ) and y = A x + b ~ N(Aμ + b, AΣAᵀ), with biased draws of x and their image."""

    x_model: pm.Model
    y_model: pm.Model
    x: np.ndarray
    y: np.ndarray


@pytest.fixture(scope="module")
def affine() -> Affine:
    rng = np.random.default_rng(1)
    mean = np.array([1.0, -2.0, 0.5])
    m = rng.normal(size=(3, 3))
    cov = m @ m.T + 0.3 * np.eye(3)
    a = rng.normal(size=(3, 3)) + 3 * np.eye(3)
    b = np.array([10.0, 0.0, -5.0])
    x = rng.multivariate_normal(mean * 1.2, cov, size=(1, 200))  # biased draws
    return Affine(gaussian(mean, cov), gaussian(a @ mean + b, a @ cov @ a.T), x, x @ a.T + b)


@pytest.mark.parametrize("preconditioner", ["information", "scores", "covariance"])
def test_affine_invariance_through_the_model(affine, preconditioner):
    # every preconditioner that transforms as an information does (Γ ↦ A⁻ᵀ Γ A⁻¹) gives the
    # same discrepancy for the mapped draws of the mapped model
    before = pmf.stein_discrepancy(affine.x_model, tree(x=affine.x), preconditioner=preconditioner)
    after = pmf.stein_discrepancy(affine.y_model, tree(x=affine.y), preconditioner=preconditioner)
    assert float(after) == pytest.approx(float(before), rel=1e-8)


def test_the_identity_preconditioner_is_not_affine_invariant(affine):
    before = pmf.stein_discrepancy(affine.x_model, tree(x=affine.x), preconditioner="identity")
    after = pmf.stein_discrepancy(affine.y_model, tree(x=affine.y), preconditioner="identity")
    assert abs(float(after) / float(before) - 1) > 0.1


def test_max_draws_thins_each_chain_evenly():
    model = iid_gaussian(2)
    x = np.random.default_rng(2).normal(size=(2, 50, 2))
    ksd = pmf.stein_discrepancy(model, tree(x=x), max_draws=30, preconditioner="identity")
    assert (ksd.attrs["thinning_stride"], ksd.attrs["n_draws"]) == (4, 26)
    assert ksd.attrs["n_draws_total"] == 100
    kept = x[:, ::4].reshape(-1, 2)
    assert ksd.attrs["ksd2_v"] == pytest.approx(kernel_sums(kept, -kept).v_statistic, rel=1e-12)


def test_a_given_matrix_labelled_or_not():
    mean, cov = np.zeros(2), np.array([[2.0, 0.5], [0.5, 1.0]])
    model = gaussian(mean, cov)
    x = np.random.default_rng(3).multivariate_normal(mean, cov, size=(1, 100))
    precision = np.linalg.inv(cov)
    plain = pmf.stein_discrepancy(model, tree(x=x), preconditioner=precision)
    labels = ["x[1]", "x[0]"]  # reversed order: selected by label
    labelled = xr.DataArray(
        precision[::-1, ::-1], dims=("rows", "columns"), coords={"rows": labels, "columns": labels}
    )
    by_label = pmf.stein_discrepancy(model, tree(x=x), preconditioner=labelled)
    information = pmf.stein_discrepancy(model, tree(x=x))
    assert float(by_label) == pytest.approx(float(plain), rel=1e-12)
    assert float(information) == pytest.approx(float(plain), rel=1e-8)
    assert plain.attrs["preconditioner"] == "matrix"
    with pytest.raises(ValueError, match=r"shape \(3, 3\); it must be \(2, 2\)"):
        pmf.stein_discrepancy(model, tree(x=x), preconditioner=np.eye(3))
    wrong = labelled.assign_coords(rows=["a", "b"], columns=["a", "b"])
    with pytest.raises(ValueError, match=r"missing: \['x\[0\]', 'x\[1\]'\]"):
        pmf.stein_discrepancy(model, tree(x=x), preconditioner=wrong)
    with pytest.raises(ValueError, match="preconditioner='fisher' is not one of"):
        pmf.stein_discrepancy(model, tree(x=x), preconditioner="fisher")  # type: ignore[arg-type]


def test_no_mode_falls_back_to_scores_with_a_warning():
    # centered eight schools: log p̃ → +∞ as log τ → −∞ with every θ at μ, so no mode exists
    model = eight_schools_centered()
    rng = np.random.default_rng(4)
    mu = rng.normal(4.0, 3.0, size=(1, 200))
    tau = np.abs(rng.normal(0.0, 4.0, size=(1, 200))) + 0.1
    theta = mu[..., None] + tau[..., None] * rng.normal(size=(1, 200, 8))
    idata = xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset(
                {
                    "mu": (("chain", "draw"), mu),
                    "tau": (("chain", "draw"), tau),
                    "theta": (("chain", "draw", "school"), theta),
                }
            )
        }
    )
    with pytest.warns(pmf.PreconditionerFallbackWarning, match="no mode was found"):
        ksd = pmf.stein_discrepancy(model, idata)
    scores = pmf.stein_discrepancy(model, idata, preconditioner="scores")
    assert float(ksd) == float(scores)
    assert ksd.attrs["preconditioner_source"].startswith("mean score outer product (no mode")


def test_the_model_score_of_a_mixture_is_the_mixtures():
    # ties the facade to the numeric blindness test (tests/stein/test_kernel.py)
    with pm.Model() as model:
        pm.NormalMixture("x", w=[0.5, 0.5], mu=[-5.0, 5.0], sigma=1.0)
    x = np.random.default_rng(5).normal(-5.0, 1.0, size=(1, 300))  # all in one mode
    ksd = pmf.stein_discrepancy(model, tree(x=x), preconditioner="identity")
    flat = x.reshape(-1, 1)
    sums = kernel_sums(flat, mixture_score(flat))
    assert ksd.attrs["ksd2_u"] == pytest.approx(sums.u_statistic, rel=1e-8)
