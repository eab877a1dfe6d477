"""The compile cache: it frees its model, and it sees a resize."""

import gc
import weakref

import cloudpickle
import numpy as np
import pymc as pm
import pytest

import pymc_fisher as pmf
from pymc_fisher.compile import cached, shape_signature


def _regression(n=3):
    """y_i ~ N(θ_i x_i, 1): the expected information of θ is diag(x²) exactly."""
    with pm.Model(coords={"g": range(n)}) as model:
        x = pm.Data("x", np.arange(1.0, n + 1.0), dims="g")
        y = pm.Data("y", np.zeros(n), dims="g")
        theta = pm.Normal("theta", dims="g")
        pm.Normal("obs", theta * x, 1.0, observed=y, dims="g")
    return model


def test_a_model_is_freed_after_use():
    model = _regression()
    info = pmf.fisher_information(model, {"theta": np.zeros(3)})
    np.testing.assert_allclose(np.diag(info.values), [1.0, 4.0, 9.0])
    fit = pmf.fit_laplace(model, draws=5, random_seed=0)
    ref = weakref.ref(model)
    del model, fit
    gc.collect()
    assert ref() is None


def test_a_resize_by_set_data_is_seen():
    model = _regression()
    pmf.fisher_information(model, {"theta": np.zeros(3)})
    with model:
        pm.set_data({"x": np.arange(1.0, 6.0), "y": np.zeros(5)}, coords={"g": range(5)})
    info = pmf.fisher_information(model, {"theta": np.zeros(5)})
    assert info.shape == (5, 5)
    np.testing.assert_allclose(np.diag(info.values), np.arange(1.0, 6.0) ** 2)
    np.testing.assert_allclose(info.values - np.diag(np.diag(info.values)), 0.0)


def test_new_values_of_the_same_shape_keep_the_cache():
    model = _regression()
    builds = []

    def build():
        builds.append(1)
        return len(builds)

    assert cached(model, "k", build) == 1
    with model:
        pm.set_data({"x": np.array([3.0, 2.0, 1.0])})  # values change, shapes do not
    assert cached(model, "k", build) == 1
    with model:
        pm.set_data({"x": np.ones(4), "y": np.zeros(4)}, coords={"g": range(4)})
    assert shape_signature(model) == (("x", (4,)), ("y", (4,)), ("g", 4))
    assert cached(model, "k", build) == 2


def test_a_pickled_model_carries_no_compiled_function():
    model = _regression()
    pmf.fisher_information(model, {"theta": np.zeros(3)})
    copy = cloudpickle.loads(cloudpickle.dumps(model))
    assert copy._pymc_fisher_cache.entries == {}
    info = pmf.fisher_information(copy, {"theta": np.zeros(3)})
    np.testing.assert_allclose(np.diag(info.values), [1.0, 4.0, 9.0])


@pytest.mark.parametrize("terms", [31, 32, 40, 100])
def test_the_one_shot_mode_runs_sums_wider_than_numpy_ufuncs_take(terms):
    # NumPy's ufuncs take 32 operands, the output included: a canonical Add of 32 inputs or
    # more cannot run on PyTensor's Python VM unless the mode splits it
    import pytensor.tensor as pt

    from pymc_fisher.compile import compile_function

    xs = [pt.dscalar(f"x{i}") for i in range(terms)]
    fn = compile_function(xs, pt.add(*xs) * pt.mul(*[1.0 + x for x in xs]))
    values = np.linspace(0.01, 0.02, terms)
    np.testing.assert_allclose(fn(*values), values.sum() * np.prod(1.0 + values), rtol=1e-13)
