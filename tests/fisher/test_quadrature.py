"""The quantile quadrature (``fisher/quadrature.py``) against the closed forms it stands in for.

Every univariate continuous entry of the registry that PyMC gives a quantile function is also
computed by the quadrature, in the same coordinates (the parameters, and the free value in its
default transform's coordinate), and the two must agree to the rule's accuracy; the quadrature's
gradient (the sampler differentiates the metric) must match central differences.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest

from pymc_fisher.fisher.model_graph import depends_on
from pymc_fisher.fisher.quadrature import quadrature_information
from pymc_fisher.fisher.registry import closed_form

MODE = "FAST_COMPILE"

# (id, make(x), x0, transform of the free value); x are the parameters as graphs
CASES = [
    ("Normal", lambda x: pm.Normal.dist(mu=x[0], sigma=x[1]), (0.3, 1.7), None),
    ("HalfNormal", lambda x: pm.HalfNormal.dist(sigma=x[0]), (1.4,), "log"),
    ("LogNormal", lambda x: pm.LogNormal.dist(mu=x[0], sigma=x[1]), (-0.2, 0.6), "log"),
    ("StudentT", lambda x: pm.StudentT.dist(nu=x[0], mu=x[1], sigma=x[2]), (5.5, -1, 0.8), None),
    ("StudentT-heavy", lambda x: pm.StudentT.dist(nu=x[0], mu=x[1], sigma=x[2]), (1.2, 0, 2), None),
    ("Cauchy", lambda x: pm.Cauchy.dist(alpha=x[0], beta=x[1]), (1.0, 0.5), None),
    ("HalfCauchy", lambda x: pm.HalfCauchy.dist(beta=x[0]), (2.5,), "log"),
    ("Exponential", lambda x: pm.Exponential.dist(lam=x[0]), (0.7,), "log"),
    ("Gamma", lambda x: pm.Gamma.dist(alpha=x[0], beta=x[1]), (2.3, 1.6), "log"),
    ("Gamma-small-shape", lambda x: pm.Gamma.dist(alpha=x[0], beta=x[1]), (0.4, 1.6), "log"),
    ("InverseGamma", lambda x: pm.InverseGamma.dist(alpha=x[0], beta=x[1]), (3.1, 0.9), "log"),
    ("Beta", lambda x: pm.Beta.dist(alpha=x[0], beta=x[1]), (1.7, 3.2), "logodds"),
    ("Weibull", lambda x: pm.Weibull.dist(alpha=x[0], beta=x[1]), (1.8, 2.2), "log"),
    ("HalfStudentT", lambda x: pm.HalfStudentT.dist(nu=x[0], sigma=x[1]), (4.5, 1.3), "log"),
    ("Logistic", lambda x: pm.Logistic.dist(mu=x[0], s=x[1]), (-0.3, 0.9), None),
    ("Gumbel", lambda x: pm.Gumbel.dist(mu=x[0], beta=x[1]), (0.2, 1.4), None),
]


def _transform(name):
    from pymc.distributions import transforms

    return {None: None, "log": transforms.log, "logodds": transforms.logodds}[name]


def _dense(info, wrt, dims):
    """``Σ_ab J_a I_ab J_bᵀ`` for scalar coordinates, ``J_a = ∂coord_a/∂wrt``."""
    total = pt.zeros((dims, dims))
    jac = [
        pytensor.grad(pt.sum(c), wrt, disconnected_inputs="ignore", return_disconnected="zero")
        for c in info.coords
    ]
    for a in range(len(jac)):
        for b in range(a, len(jac)):
            entry = info.matrix[a][b]
            if entry is None:
                continue
            outer = pt.outer(jac[a], jac[b]) * pt.sum(entry)
            total = total + (outer if a == b else outer + outer.T)
    return total


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_quadrature_matches_the_closed_form(case) -> None:
    _, make, x0, transform_name = case
    d = len(x0)
    v = pt.vector("v", dtype="float64")
    rv = make([v[j + 1] for j in range(d)])
    node = rv.owner
    params = tuple(node.op.dist_params(node))
    coordinate = transform_name or "identity"
    live = [depends_on(p, v) for p in params]
    quad_obs = quadrature_information(node, params, None, None, live)
    quad_free = quadrature_information(node, params, v[0], _transform(transform_name), live)
    exact_obs = closed_form(node.op, params, None, None)
    exact_free = closed_form(node.op, params, v[0], coordinate)
    graphs = [_dense(i, v, d + 1) for i in (quad_obs, quad_free, exact_obs, exact_free)]
    fn = pytensor.function([v], graphs, mode=MODE)
    point = np.r_[0.3, x0]
    q_obs, q_free, e_obs, e_free = fn(point)
    np.testing.assert_allclose(q_obs, e_obs, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(q_free, e_free, rtol=1e-6, atol=1e-9)


# (id, make(x), x0, observed coordinates, rtol): the interval-transformed entries of
# ``fisher/bounded.py``, free value under PyMC's default interval transform; the observed
# comparison is over the regular parameters only (the others are edges of the data's support).
# Not TruncatedNormal: PyMC's quantile puts the outer nodes just outside the support (−1.00000001
# for lower = −1: its normalising constant divides by a float32 √2), where the log-density is −∞,
# and the quadrature's value is NaN; tests/test_closed_form.py checks that entry against
# Monte Carlo instead
INTERVAL_CASES = [
    ("Uniform", lambda x: pm.Uniform.dist(lower=x[0], upper=x[1]), (-1.0, 2.0), [], 1e-9),
    ("Pareto", lambda x: pm.Pareto.dist(alpha=x[0], m=x[1]), (2.7, 1.3), [0], 1e-6),
    # the kink at c: the quadrature converges slowly there (module docstring of quadrature.py)
    (
        "Triangular",
        lambda x: pm.Triangular.dist(lower=x[1], c=x[0], upper=x[2]),
        (0.4, -1.0, 2.0),
        [0],
        2e-2,
    ),
]


@pytest.mark.parametrize("case", INTERVAL_CASES, ids=[c[0] for c in INTERVAL_CASES])
def test_quadrature_matches_the_interval_entries(case) -> None:
    from pymc.distributions.transforms import _default_transform

    _, make, x0, regular, rtol = case
    d = len(x0)
    v = pt.vector("v", dtype="float64")
    rv = make([v[j + 1] for j in range(d)])
    node = rv.owner
    params = tuple(node.op.dist_params(node))
    live = [depends_on(p, v) for p in params]
    transform = _default_transform(node.op, rv)
    graphs = [
        _dense(quadrature_information(node, params, v[0], transform, live), v, d + 1),
        _dense(closed_form(node.op, params, v[0], "Interval"), v, d + 1),
    ]
    if regular:
        graphs.append(_dense(quadrature_information(node, params, None, None, live), v, d + 1))
        graphs.append(_dense(closed_form(node.op, params, None, None), v, d + 1))
    values = pytensor.function([v], graphs, mode=MODE)(np.r_[0.3, x0])
    np.testing.assert_allclose(values[0], values[1], rtol=rtol, atol=1e-9)
    if regular:
        keep = np.ix_(np.add(regular, 1), np.add(regular, 1))
        np.testing.assert_allclose(values[2][keep], values[3][keep], rtol=rtol, atol=1e-9)
