"""Non-elementwise transforms (simplex, ordered, zero-sum) in both spaces, and float32 models.

A simplex of K entries has K - 1 unconstrained coordinates; in ``space="constrained"`` θ holds
the K entries themselves and the matrix is K x K. Only its restriction to the directions the
variable can move in (entries summing to 0) is coordinate-free; that restriction, and the
pull-back to the unconstrained space I_u = Jᵀ I_c J (exact for the expected information), are
what is checked. Both are exact identities: the tolerances are rounding.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.gradient import jacobian
from scipy.special import expit

import pymc_fisher as pmf
from pymc_fisher.fisher.points import resolve_point
from pymc_fisher.laplace.fit import default_gtol
from tests.models import normal_model

COUNTS = np.array([3, 5, 7])  # observations of each category / group
CATEGORIES = np.repeat(np.arange(3), COUNTS)


def simplex_model() -> pm.Model:
    with pm.Model() as model:
        p = pm.Dirichlet("p", np.ones(3))
        pm.Categorical("y", p=p, observed=CATEGORIES)
    return model


def ordered_model() -> pm.Model:
    with pm.Model() as model:
        c = pm.Normal(
            "c", 0.0, 5.0, shape=2, transform=pm.distributions.transforms.ordered,
            initval=np.array([-1.0, 1.0], dtype=pytensor.config.floatX),
        )  # fmt: skip
        pm.OrderedLogistic("y", eta=0.0, cutpoints=c, observed=CATEGORIES)
    return model


def zerosum_model() -> pm.Model:
    with pm.Model() as model:
        a = pm.ZeroSumNormal("a", sigma=1.0, shape=3)
        pm.Normal("y", a[CATEGORIES], 1.0, observed=np.linspace(-1.0, 1.0, COUNTS.sum()))
    return model


MODELS = {"simplex": simplex_model, "ordered": ordered_model, "zerosum": zerosum_model}
POINTS = {
    "simplex": {"p": np.array([0.2, 0.3, 0.5])},
    "ordered": {"c": np.array([-0.4, 0.7])},
    "zerosum": {"a": np.array([0.3, -0.5, 0.2])},
}


def _jacobian(model: pm.Model, name: str, point: dict) -> np.ndarray:
    """∂ constrained / ∂ unconstrained of one variable's transform, at ``point``."""
    rv = model[name]
    transform = model.rvs_to_transforms[rv]
    value = model.rvs_to_values[rv]
    backward = pt.as_tensor(transform.backward(value, *rv.owner.inputs)).ravel()
    u = resolve_point(model, point)[0][value.name]
    fn = pytensor.function([value], jacobian(backward, value), on_unused_input="ignore")
    return np.asarray(fn(u.astype(value.type.dtype)), dtype=float)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_information_pulls_back_through_the_transform(name):
    # expected: I_u = Jᵀ I_c J; empirical too, each score being s_u = Jᵀ s_c
    model, point = MODELS[name](), POINTS[name]
    (var,) = point
    size = point[var].size
    j = _jacobian(model, var, point)
    for kind in ("expected", "empirical"):
        constrained = pmf.fisher_information(model, point, kind=kind, space="constrained")
        unconstrained = pmf.fisher_information(model, point, kind=kind)
        assert list(constrained["rows"].values) == [f"{var}[{i}]" for i in range(size)]
        assert constrained.shape == (size, size)
        assert j.shape == (size, unconstrained.shape[0])
        pulled = j.T @ constrained.values @ j
        np.testing.assert_allclose(unconstrained.values, pulled, rtol=1e-10, atol=1e-12)


def test_simplex_restriction_is_the_categorical_information():
    # in coordinates (p1, p2), p3 = 1 - p1 - p2: I = n (diag(1/p1, 1/p2) + 11ᵀ/p3)
    p = POINTS["simplex"]["p"]
    info = pmf.fisher_information(simplex_model(), POINTS["simplex"], space="constrained")
    tangent = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])  # ∂(p1, p2, p3)/∂(p1, p2)
    n = COUNTS.sum()
    exact = n * (np.diag(1 / p[:2]) + 1 / p[2])
    np.testing.assert_allclose(tangent.T @ info.values @ tangent, exact, rtol=1e-12)


def test_ordered_cutpoints_have_the_ordinal_information():
    # P(y=0) = σ(c0), P(y=1) = σ(c1) - σ(c0), P(y=2) = 1 - σ(c1) (eta = 0):
    # I = n Jᵀ diag(1/P) J with J = ∂P/∂c
    c = POINTS["ordered"]["c"]
    probs = np.array([expit(c[0]), expit(c[1]) - expit(c[0]), 1 - expit(c[1])])
    d = expit(c) * (1 - expit(c))
    jac = np.array([[d[0], 0.0], [-d[0], d[1]], [0.0, -d[1]]])
    exact = COUNTS.sum() * jac.T @ np.diag(1 / probs) @ jac
    info = pmf.fisher_information(ordered_model(), POINTS["ordered"], space="constrained")
    np.testing.assert_allclose(info.values, exact, rtol=1e-12)


def test_zero_sum_groups_have_their_counts():
    info = pmf.fisher_information(zerosum_model(), POINTS["zerosum"], space="constrained")
    np.testing.assert_allclose(info.values, np.diag(COUNTS.astype(float)), rtol=1e-12)


# float32: rounding of about ε = 1.2e-7 per operation; 100 ε covers sums of many terms
RTOL32 = 100 * float(np.finfo(np.float32).eps)
KINDS = ("expected", "observed", "empirical")


def _in_float32(build):
    with pytensor.config.change_flags(floatX="float32"):
        return build()


def mixed_model() -> pm.Model:
    """An elementwise (log) and a non-elementwise (simplex) transform, data and coords."""
    with pm.Model(coords={"k": ["a", "b"]}) as model:
        x = pm.Data("x", np.array([0.1, 0.5, -0.3, 0.9]))
        mu = pm.Normal("mu", 0, 10, dims="k")
        sigma = pm.HalfNormal("sigma", 2.0)
        p = pm.Dirichlet("p", np.ones(3))
        pm.Normal("y", mu[0] + mu[1] * x, sigma, observed=np.array([0.3, -0.2, 1.1, 0.4]))
        pm.Categorical("c", p=p, observed=CATEGORIES)
    return model


def test_float32_models_give_the_float64_matrices():
    build = mixed_model
    model32 = _in_float32(build)
    model64 = build()
    assert {v.type.dtype for v in model32.value_vars} == {"float32"}
    # every kind in the unconstrained space, and the constrained space (a K-entry simplex)
    cases = [("unconstrained", kind) for kind in KINDS] + [("constrained", "expected")]
    with pytensor.config.change_flags(floatX="float32"):  # as a float32 user runs everything
        ours = {
            case: pmf.fisher_information(model32, kind=case[1], space=case[0]) for case in cases
        }
    for case in cases:
        exact = pmf.fisher_information(model64, kind=case[1], space=case[0]).values
        assert ours[case].dtype == np.float64
        scale = float(np.max(np.abs(exact)))
        np.testing.assert_allclose(ours[case].values, exact, rtol=0, atol=RTOL32 * scale)


def test_float32_laplace():
    build = lambda: normal_model(np.array([0.3, -0.2, 1.1, 0.9, 0.4]))  # noqa: E731
    model32, model64 = _in_float32(build), build()
    with pytensor.config.change_flags(floatX="float32"):
        fit32 = pmf.fit_laplace(model32, random_seed=0)
    fit64 = pmf.fit_laplace(model64, random_seed=0)
    assert default_gtol(model32) == pytest.approx(RTOL32)
    # the float32 mode is within the convergence test's reach of the float64 one:
    # |Δθ| ≤ |Σ| · gtol · max(1, |log p|)
    cov = fit64.fit.covariance_matrix.values
    logp = abs(float(fit64.diagnostics.logp_at_mode))
    reach = np.linalg.norm(cov, 2) * default_gtol(model32) * max(1.0, logp)
    np.testing.assert_allclose(fit32.fit.mean_vector.values, fit64.fit.mean_vector.values,
                               atol=reach)  # fmt: skip
    # the covariance is the float64 one at the float32 mode, to rounding times its condition
    # number (norm-wise: ‖ΔP⁻¹‖ / ‖P⁻¹‖ ≤ κ(P) ‖ΔP‖ / ‖P‖)
    mode32 = fit32.fit.mean_vector.values
    precision = pmf.fisher_information(
        model64, model64.initial_point() | dict(zip(["mu", "sigma_log__"], mode32, strict=True)),
        kind="observed", include_prior=True,
    ).values  # fmt: skip
    exact = np.linalg.inv(precision)
    bound = np.linalg.cond(precision) * RTOL32 * np.linalg.norm(exact, 2)
    np.testing.assert_allclose(fit32.fit.covariance_matrix.values, exact, rtol=0, atol=bound)
