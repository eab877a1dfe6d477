"""The Laplace fit's compile mode: stabilised log densities, vectorised NumPy evaluation."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest
from pytensor.compile.mode import Mode
from pytensor.graph.rewriting.db import RewriteDatabaseQuery
from pytensor.link.vm import VMLinker
from pytensor.scalar import Add, Cast, Mul
from pytensor.tensor.elemwise import Elemwise

from pymc_fisher import compile_mode, fit_laplace
from pymc_fisher.errors import NonFiniteLogDensityError
from pymc_fisher.laplace.graphs import laplace_functions


def extreme_logits() -> pm.Model:
    """a ~ N(0, 1); y = (1, 1, 0) ~ Bernoulli(logit⁻¹(a + (−800, −800, 800)))."""
    with pm.Model() as model:
        a = pm.Normal("a", 0.0, 1.0)
        pm.Bernoulli("y", logit_p=a + np.array([-800.0, -800.0, 800.0]), observed=[1, 1, 0])
    return model


def test_extreme_logits_fit_exactly_where_fast_compile_gives_minus_infinity():
    # log σ(a − 800) = a − 800 − log(1 + e^{a−800}) and log(1 − σ(a + 800)) = −(a + 800) − …,
    # the dropped terms below e^{−790} (zero in double precision): log p = −a²/2 + a − 2400 −
    # log √(2π), mode 1, variance 1. Unstabilised, log σ(−799) = log 0 = −∞.
    model = extreme_logits()
    with pytest.raises(NonFiniteLogDensityError):
        fit_laplace(model, compile_mode="FAST_COMPILE")
    dt = fit_laplace(model, random_seed=0)
    np.testing.assert_allclose(dt.fit.mean_vector.values, [1.0], rtol=1e-12)
    np.testing.assert_allclose(dt.fit.covariance_matrix.values, [[1.0]], rtol=1e-12)
    expected = -0.5 + 1.0 - 2400.0 - 0.5 * np.log(2 * np.pi)
    np.testing.assert_allclose(dt.diagnostics.logp_at_mode.item(), expected, rtol=1e-14)
    assert np.all(np.isfinite(dt.posterior.a.values))


@pytest.mark.parametrize("scalar_op", sorted(compile_mode.VECTORISED, key=lambda c: c.__name__))
def test_vectorised_functions_equal_pytensor_scalar_implementations(scalar_op):
    from pytensor.tensor.utils import import_func_from_string

    path, nin, _ = compile_mode.VECTORISED[scalar_op]
    vectorised = import_func_from_string(path)
    op = scalar_op(None)
    grid = np.concatenate([-np.logspace(-6, 3, 40), np.logspace(-6, 3, 40), [0.0]])
    if scalar_op.__name__ == "Log1mexp":
        grid = -np.abs(grid[grid != 0])  # its domain, x < 0
    if scalar_op.__name__ == "TriGamma":
        grid = np.abs(grid[grid != 0])  # away from the poles
    args = (grid,) if nin == 1 else (grid, np.full_like(grid, -1.0), np.full_like(grid, 2.0))
    expected = np.array([op.impl(*(a[i] for a in args)) for i in range(grid.size)], dtype=float)
    np.testing.assert_allclose(vectorised(*args), expected, rtol=1e-14, atol=0)


def python_fallbacks(fns) -> set[str]:
    """Scalar operations of the compiled functions' ``Elemwise`` nodes without a NumPy function."""
    compiled = [
        cell.cell_contents
        for callable_ in (fns.logp_grad, fns.curvature, fns.draws)
        for cell in callable_.__closure__ or ()
        if hasattr(cell.cell_contents, "maker")
    ]
    assert len(compiled) == 3
    return {
        type(node.op.scalar_op).__name__
        for fn in compiled
        for node in fn.maker.fgraph.apply_nodes
        if isinstance(node.op, Elemwise)
        and node.op.nfunc_spec is None
        and not isinstance(node.op.scalar_op, Add | Mul | Cast)  # PyTensor folds these itself
    }


def test_no_elementwise_python_fallback_in_the_compiled_functions():
    # A scalar operation without a NumPy function runs one Python call per element
    # (np.frompyfunc): 2e6 calls for German credit's draws. None may remain in the fit's
    # functions; PyTensor's own fast_run rewrites leave softplus and trigamma.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 2))
    with pm.Model() as model:
        w = pm.Normal("w", 0.0, 1.0, shape=2)
        nu = pm.Gamma("nu", 2.0, 0.1)
        pm.Bernoulli("b", logit_p=x @ w, observed=rng.integers(0, 2, size=50))
        pm.StudentT("t", nu=nu, mu=x @ w, sigma=1.0, observed=rng.normal(size=50))
    assert not python_fallbacks(laplace_functions(model, jacobian=True, curvature="observed"))
    plain = Mode(
        VMLinker(use_cloop=False, c_thunks=False),
        RewriteDatabaseQuery(include=["fast_run"], exclude=["fusion"]),
    )
    fallbacks = python_fallbacks(
        laplace_functions(model, jacobian=True, curvature="observed", mode=plain)
    )
    assert {"Softplus", "TriGamma"} <= fallbacks
