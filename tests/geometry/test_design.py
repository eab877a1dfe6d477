import numpy as np
import pymc as pm
import pytest
import xarray as xr

from pymc_fisher.geometry.design import DesignVariableError, design_loss, optimize_design


def _line(n=8):
    with pm.Model() as model:
        x = pm.Data("x", np.linspace(-0.5, 0.4, n))
        a = pm.Normal("a")
        b = pm.Normal("b")
        s = pm.HalfNormal("s")
        pm.Normal("y", a + b * x, s, observed=np.zeros(n))
    return model


def _decay():
    with pm.Model() as model:
        t = pm.Data("t", np.array([0.2]))
        theta = pm.HalfNormal("theta", 1.0)
        s = pm.HalfNormal("s")
        pm.Normal("y", pm.math.exp(-theta * t), s, observed=np.zeros(1))
    return model


@pytest.mark.parametrize("criterion", ["D", "A"])
def test_straight_line_puts_half_the_points_at_each_end(criterion):
    result = optimize_design(_line(), "x", bounds=(-1.0, 1.0), criterion=criterion)
    assert result.converged
    np.testing.assert_allclose(np.sort(result.value), np.r_[-np.ones(4), np.ones(4)], atol=1e-8)
    assert result.criterion_value != result.initial_value


@pytest.mark.parametrize("theta", [2.0, 0.5])
def test_exponential_decay_single_time_is_one_over_theta(theta):
    result = optimize_design(_decay(), "t", point={"theta": theta, "s": 0.1}, bounds=(1e-3, 20))
    assert result.converged
    np.testing.assert_allclose(result.value, [1.0 / theta], rtol=1e-5)
    # log det I = 2 log t − 2θt + const: its value at the optimum beats the start
    assert result.criterion_value > result.initial_value


def test_bayesian_design_averages_over_draws():
    # E_θ[2 log t − 2θt] is maximised at t = 1 / E[θ]
    rng = np.random.default_rng(3)
    theta = rng.gamma(4.0, 0.5, size=(2, 25))
    s = np.full((2, 25), 0.1)
    posterior = xr.Dataset(
        {"theta": (("chain", "draw"), theta), "s": (("chain", "draw"), s)},
        coords={"chain": [0, 1], "draw": np.arange(25)},
    )
    idata = xr.DataTree.from_dict({"posterior": posterior})
    result = optimize_design(_decay(), "t", point=idata, bounds=(1e-3, 20))
    assert result.draws == 50
    np.testing.assert_allclose(result.value, [1.0 / theta.mean()], rtol=1e-5)
    sub = optimize_design(
        _decay(), "t", point=idata, bounds=(1e-3, 20), max_draws=10, random_seed=1
    )
    assert sub.draws == 10


def test_model_from_context_and_its_only_container_by_default():
    with _line():
        result = optimize_design(bounds=(-1.0, 1.0))
    np.testing.assert_allclose(np.sort(result.value), np.r_[-np.ones(4), np.ones(4)], atol=1e-8)
    with pm.Model() as two:
        x = pm.Data("x", np.zeros(2))
        t = pm.Data("t", np.ones(2))
        pm.Normal("y", pm.Normal("a") * x + t, 1.0, observed=np.zeros(2))
    with pytest.raises(DesignVariableError, match=r"2 floating-point pm.Data containers"):
        optimize_design(two)


def test_design_variable_must_be_data():
    model = _line()
    with pytest.raises(DesignVariableError, match=r"not a pm\.Data container"):
        optimize_design(model, "b", bounds=(-1, 1))
    with pytest.raises(DesignVariableError, match=r"not a pm\.Data container"):
        optimize_design(model, "y", bounds=(-1, 1))
    with pytest.raises(DesignVariableError, match="not a variable of the model"):
        optimize_design(model, "z", bounds=(-1, 1))


def test_design_variable_must_enter_the_information():
    with pm.Model() as model:
        obs = pm.Data("obs", np.zeros(3))
        mu = pm.Normal("mu")
        pm.Normal("y", mu, 1.0, observed=obs)
    with pytest.raises(DesignVariableError, match="does not depend on"):
        optimize_design(model, "obs")


@pytest.mark.parametrize("criterion", ["D", "A", "E", "modified_E"])
def test_design_gradient_through_the_information_graph_matches_finite_differences(criterion):
    # the loss optimize_design differentiates: criterion of the model's information vs design
    ig, fn = design_loss(_quadratic(), "x", criterion=criterion, space="constrained")
    assert ig.labels == ("a", "b", "c", "s")
    theta = np.array([0.3, -0.5, 1.2, 0.8])  # a, b, c, s (constrained)
    x0 = np.array([-0.9, -0.2, 0.1, 0.5, 0.7])
    value, grad = fn(theta, x0)
    h = 1e-6
    fd = np.array(
        [(fn(theta, x0 + h * e)[0] - fn(theta, x0 - h * e)[0]) / (2 * h) for e in np.eye(5)]
    )
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-7 * (1 + abs(value)))


def _quadratic():
    with pm.Model() as model:
        x = pm.Data("x", np.zeros(5))
        a = pm.Normal("a")
        b = pm.Normal("b")
        c = pm.Normal("c")
        s = pm.HalfNormal("s")
        pm.Normal("y", a + b * x + c * x**2, s, observed=np.zeros(5))
    return model
