import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
import xarray as xr

from pymc_fisher.geometry.criteria import CRITERIA, criterion_loss, design_criteria

SIGNS = {"D": -1.0, "A": 1.0, "E": -1.0, "modified_E": 1.0}


def _spd(rng, k):
    a = rng.normal(size=(k, k))
    return a @ a.T + 0.5 * np.eye(k)


def test_values_from_eigenvalues():
    crit = design_criteria(np.diag([4.0, 1.0, 0.5]))
    np.testing.assert_allclose(float(crit["D"]), np.log(2.0))
    np.testing.assert_allclose(float(crit["A"]), 0.25 + 1.0 + 2.0)
    np.testing.assert_allclose(float(crit["E"]), 0.5)
    np.testing.assert_allclose(float(crit["modified_E"]), 8.0)
    assert crit["D"].attrs["goal"] == "maximize"
    assert crit["A"].attrs["goal"] == "minimize"


def test_labelled_stack_keeps_leading_dims_and_flags_singular():
    stack = np.stack([np.diag([2.0, 3.0]), np.array([[1.0, 1.0], [1.0, 1.0]])])
    info = xr.DataArray(
        stack,
        dims=("draw", "rows", "columns"),
        coords={"draw": [10, 11], "rows": ["a", "b"], "columns": ["a", "b"]},
    )
    crit = design_criteria(info)
    assert crit["D"].dims == ("draw",)
    assert list(crit["draw"].values) == [10, 11]
    np.testing.assert_allclose(crit["D"].values[0], np.log(6.0))
    assert crit["D"].values[1] == -np.inf
    assert crit["A"].values[1] == np.inf
    assert crit["modified_E"].values[1] == np.inf
    np.testing.assert_allclose(crit["E"].values[1], 0.0, atol=1e-12)


def test_rejects_non_square():
    with pytest.raises(ValueError, match="square"):
        design_criteria(np.ones((2, 3)))


@pytest.mark.parametrize("criterion", CRITERIA)
def test_graph_loss_matches_numpy_and_finite_differences(criterion):
    rng = np.random.default_rng(7)
    # information of a 3-parameter regression as a function of a design vector x
    x = pt.vector("x")
    design = pt.stack([pt.ones_like(x), x, x**2], axis=1)
    info = design.T @ design
    loss = criterion_loss(info, criterion)
    fn = pytensor.function([x], [loss, pt.grad(loss, x)])
    x0 = rng.uniform(-1, 1, size=6)
    value, grad = fn(x0)

    def numpy_loss(xv):
        d = np.stack([np.ones_like(xv), xv, xv**2], axis=1)
        return SIGNS[criterion] * float(design_criteria(d.T @ d)[criterion])

    np.testing.assert_allclose(value, numpy_loss(x0), rtol=1e-10)
    h = 1e-6
    fd = np.array(
        [(numpy_loss(x0 + h * e) - numpy_loss(x0 - h * e)) / (2 * h) for e in np.eye(len(x0))]
    )
    # central differences: error O(h²) plus rounding O(eps·|loss|/h)
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-6 * (1 + abs(value)))


def test_unknown_criterion():
    with pytest.raises(ValueError, match="Unknown criterion"):
        criterion_loss(pt.eye(2), "G")
