"""``pmf.reparametrize``: the same posterior in new coordinates, checked without sampling.

The exact checks: the new model's log density is the original's at ``θ(u)`` plus
``log |det ∂θ/∂u|`` (the Jacobian from PyTensor, not from the map's own formula); its
Deterministics are what PyMC's own transforms give at ``θ(u)``; the funnel becomes the
non-centred funnel and eight schools' latent block its exact Gaussian conditional.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest

import pymc_fisher as pmf
from pymc_fisher.fisher.model_graph import graph_of
from pymc_fisher.reparam.transform import unconstrained_point_graph
from pymc_fisher.reparam.whiten import fit_whitening
from tests.corpus.models import CORPUS
from tests.models import EIGHT_SCHOOLS_SIGMA, EIGHT_SCHOOLS_Y, eight_schools_centered, funnel

#: Corpus models that cover each construct the transformation meets: a non-centred block under
#: a Gaussian likelihood (radon), under a Bernoulli likelihood (hierarchical logistic), with no
#: likelihood (the funnel); a simplex, an ordered vector, a Potential, a random walk; plain
#: regressions (whitening only).
MODELS = [
    "neals_funnel",
    "eight_schools_centered",
    "radon_centered",
    "hierarchical_logistic_centered",
    "smoking_meta_analysis",
    "dirichlet_multinomial",
    "ordinal_regression",
    "weibull_aft_potential",
    "nile_local_level",
    "german_credit",
]


def _functions(model: pm.Model, new: pm.Model):
    """``u -> (log p_new, θ(u), ∂θ/∂u)`` and ``θ -> log p`` of the original (with Jacobian)."""
    (u,) = new.value_vars
    theta = unconstrained_point_graph(new)
    jac = pytensor.gradient.jacobian(theta, u, vectorize=True)
    new_fn = pytensor.function([u], [new.logp(), theta, jac], on_unused_input="ignore")
    mg = graph_of(model)
    old_fn = pytensor.function([mg.theta], mg.logp(), on_unused_input="ignore")
    return new_fn, old_fn, mg


#: The largest graphs (15-30 s each on a new machine) run in the slow tier.
LARGE = {"radon_centered", "dirichlet_multinomial", "ordinal_regression"}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=[pytest.mark.slow] if n in LARGE else []) for n in MODELS]
)
def test_log_density_is_the_original_plus_the_log_jacobian(name: str) -> None:
    model = CORPUS[name].build()
    new = pmf.reparametrize(model)
    new_fn, old_fn, _ = _functions(model, new)
    rng = np.random.default_rng(3)
    size = new.value_vars[0].type.shape[0]
    for _ in range(3):
        u = rng.normal(0.0, 0.5, size=size)
        logp_new, theta, jac = new_fn(u)
        expected = old_fn(theta) + np.linalg.slogdet(jac)[1]
        assert np.isfinite(logp_new)
        np.testing.assert_allclose(logp_new, expected, rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("name", ["radon_centered", "dirichlet_multinomial", "ordinal_regression"])
def test_deterministics_are_the_original_values(name: str) -> None:
    """The original free variables come back as PyMC's own transforms give them at ``θ(u)``."""
    model = CORPUS[name].build()
    new = pmf.reparametrize(model)
    new_fn, _, mg = _functions(model, new)
    (u,) = new.value_vars
    names = [rv.name for rv in model.free_RVs]
    det_fn = pytensor.function(
        [u], new.replace_rvs_by_values([new[n] for n in names]), on_unused_input="ignore"
    )
    # the original model's own constrained values (PyMC's transforms) from its value variables
    outputs = [v for v in model.unobserved_value_vars if v.name in names]
    old_fn = pytensor.function(model.value_vars, outputs, on_unused_input="ignore")
    u0 = np.random.default_rng(5).normal(0.0, 0.5, size=u.type.shape[0])
    theta = new_fn(u0)[1]
    point = mg.layout.unravel(theta)
    old = old_fn(*[point[v.name] for v in model.value_vars])
    new_values = dict(zip(names, det_fn(u0), strict=True))
    for value, out in zip(old, outputs, strict=True):
        np.testing.assert_allclose(new_values[out.name], value, rtol=1e-12, atol=1e-12)


def test_layout_names_dims_and_coords() -> None:
    model = CORPUS["radon_noncentered"].build()
    with model:
        pm.Deterministic("twice_b", 2 * model["b"])
    new = pmf.reparametrize(model)
    assert [rv.name for rv in new.free_RVs] == ["fisher_z"]
    assert {rv.name for rv in model.free_RVs} | {"twice_b"} <= {d.name for d in new.deterministics}
    assert [o.name for o in new.observed_RVs] == [o.name for o in model.observed_RVs]
    for name, dims in model.named_vars_to_dims.items():
        assert new.named_vars_to_dims.get(name) == dims
    for dim, coords in model.coords.items():
        assert tuple(new.coords[dim]) == tuple(coords)
    np.testing.assert_array_equal(
        new.rvs_to_values[new["y"]].data, model.rvs_to_values[model["y"]].data
    )


def test_the_funnel_becomes_the_noncentred_funnel() -> None:
    """Without whitening, ``u = (v, z)`` with density N(v; 0, 3) N(z; 0, 1) exactly."""
    model = funnel(10)
    new = pmf.reparametrize(model, whiten="none")
    info = pmf.reparametrization_of(new)
    assert info is not None
    assert info.noncentered == ("x",)
    (u,) = new.value_vars
    fn = pytensor.function([u], [new.logp(), unconstrained_point_graph(new)])
    point = np.random.default_rng(0).normal(size=10) * [3, *[1] * 9]
    logp, theta = fn(point)
    v, z = point[0], point[1:]
    expected = pm.logp(pm.Normal.dist(0, 3), v) + pm.logp(pm.Normal.dist(0, 1), z).sum()
    np.testing.assert_allclose(logp, expected.eval(), rtol=1e-12)
    np.testing.assert_allclose(theta[1:], z * np.exp(v / 2), rtol=1e-12)


def test_eight_schools_block_is_its_gaussian_conditional() -> None:
    """θ_j = m_j + z_j/√P_j with the closed-form conditional mean and precision given μ, τ."""
    model = eight_schools_centered()
    new = pmf.reparametrize(model, whiten="none")
    (u,) = new.value_vars
    fn = pytensor.function([u], unconstrained_point_graph(new))
    mg = graph_of(model)
    point = np.zeros(mg.layout.size)
    z = np.random.default_rng(1).normal(size=8)
    mu, log_tau = 4.0, np.log(3.0)
    sl = dict(zip(mg.layout.names, mg.layout.slices, strict=True))
    point[sl["mu"]], point[sl["tau_log__"]], point[sl["theta"]] = mu, log_tau, z
    theta = fn(point)[sl["theta"]]
    precision = 1 / 3.0**2 + 1 / EIGHT_SCHOOLS_SIGMA**2
    mean = (mu / 3.0**2 + EIGHT_SCHOOLS_Y / EIGHT_SCHOOLS_SIGMA**2) / precision
    np.testing.assert_allclose(theta, mean + z / np.sqrt(precision), rtol=1e-12)


def test_whitening_is_the_laplace_precision() -> None:
    """At the mode of a Gaussian the whitened coordinates are standard normal: M Mᵀ = Σ."""
    cov = np.array([[2.0, 0.9], [0.9, 1.0]])
    with pm.Model() as model:
        pm.MvNormal("x", mu=[1.0, -2.0], cov=cov)
    new = pmf.reparametrize(model)
    info = pmf.reparametrization_of(new)
    assert info is not None
    assert info.whitening is not None
    assert info.whitening.kind == "dense"
    np.testing.assert_allclose(info.whitening.shift, [1.0, -2.0], atol=1e-8)
    scale = info.whitening.scale
    np.testing.assert_allclose(scale @ scale.T, cov, rtol=1e-6)


def test_a_model_without_a_mode_is_not_whitened() -> None:
    with pm.Model() as model:
        x = pm.Flat("x")
        pm.Potential("rising", 1.0 * x)  # PyMC cannot clone a Potential that is a bare RV
    new = pmf.reparametrize(model)
    info = pmf.reparametrization_of(new)
    assert info is not None
    assert info.whitening is not None
    assert info.whitening.kind == "none"
    assert "no mode" in info.whitening.reason


def test_a_hessian_that_is_not_positive_definite_whitens_by_its_diagonal() -> None:
    """A flat direction at the mode: diagonal whitening, and a message naming the direction."""

    def logp_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
        return -0.5 * x[0] ** 2 - 0.25 * x[1] ** 4, np.array([-x[0], -(x[1] ** 3)])

    whitening, message = fit_whitening(
        logp_grad, 2, kind="dense", dense_slot=True, labels=("a", "b")
    )
    assert whitening.kind == "diagonal"
    assert message is not None
    assert "b" in message


def test_a_discrete_variable_is_named() -> None:
    with pm.Model() as model:
        pm.Poisson("k", 3.0)
        pm.Normal("x", 0.0, 1.0)
    with pytest.raises(pmf.DiscreteVariableError, match="'k'"):
        pmf.reparametrize(model)
    with pytest.raises(pmf.DiscreteVariableError, match=r"pmf\.RMHMC"):
        pmf.sample(model=model, progressbar=False)


def test_a_taken_name_is_refused() -> None:
    with pm.Model() as model:
        pm.Normal("fisher_z", 0.0, 1.0)
    with pytest.raises(pmf.FisherError, match="fisher_z"):
        pmf.reparametrize(model)


def test_whiten_option_is_checked() -> None:
    with pytest.raises(ValueError, match="whiten"):
        pmf.reparametrize(funnel(3), whiten="full")  # type: ignore[arg-type]


def test_sample_rejects_options_of_the_other_method() -> None:
    model = funnel(3)
    with pytest.raises(ValueError, match="metric"):
        pmf.sample(model=model, method="nuts", metric="softabs")
    with pytest.raises(ValueError, match="whiten"):
        pmf.sample(model=model, method="rmhmc", whiten="none")
    with pytest.raises(ValueError, match="initvals"):
        pmf.sample(model=model, method="nuts", initvals={"v": 0.0})
    with pytest.raises(ValueError, match="method"):
        pmf.sample(model=model, method="hmc")  # type: ignore[arg-type]


def test_the_product_of_the_information_is_exact() -> None:
    """``G v`` from the line's information equals the dense matrix times ``v``."""
    from pymc_fisher.reparam.blocks import information_vector_product

    model = CORPUS["radon_centered"].build()
    mg = graph_of(model)
    v, product = information_vector_product(mg)
    fn = pytensor.function([mg.theta, v], product)
    rng = np.random.default_rng(2)
    theta = mg.layout.ravel(model.initial_point()) + rng.normal(0, 0.3, size=mg.layout.size)
    dense = pmf.fisher_information(
        model, mg.layout.unravel(theta), kind="expected", include_prior=True
    ).values
    direction = rng.normal(size=mg.layout.size)
    np.testing.assert_allclose(fn(theta, direction), dense @ direction, rtol=1e-10, atol=1e-10)


def test_scale_of_the_whitening_is_a_graph_input() -> None:
    """The whitening lives in shared variables: one compiled model serves before and after."""
    new = pmf.reparametrize(funnel(3))
    shared = {
        v.name
        for v in pytensor.graph.traversal.graph_inputs([new.logp()])
        if isinstance(v, pytensor.compile.SharedVariable)
    }
    assert {"fisher_shift", "fisher_scale"} <= shared
    assert pt.as_tensor(new.logp()).type.ndim == 0


@pytest.mark.parametrize("name", MODELS)
def test_the_light_look_finds_the_same_blocks(name: str) -> None:
    """``latent_block_names`` (the model's variables) and ``candidate_blocks`` (the factors of
    the density graphs) take the same variables in the same order."""
    from pymc_fisher.reparam.blocks import candidate_blocks, latent_block_names

    model = CORPUS[name].build()
    blocks, _ = candidate_blocks(graph_of(model))
    assert latent_block_names(model) == [b.name for b in blocks]
