"""The closed-form registry against Monte Carlo, and its pull-back through small models.

For every entry, in coordinates ``x`` of the test's choosing (the PyMC parameters, and the free
value in its default transform's coordinate), the entry's information pulled back to ``x`` must
satisfy ``E[s] = 0``, ``E[s sᵀ] = I`` and ``E[−∇²] = I`` over draws from the distribution, where
``s`` and ``∇²`` are the per-draw score and Hessian of PyMC's own log-density (plus the
log-Jacobian of the value coordinate). Tolerances: ``Z`` Monte Carlo standard errors, with ``Z``
chosen by Bonferroni so that the whole file raises a false alarm with probability ≤ 1e-3.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import special, stats

from pymc_fisher.errors import NoClosedFormError
from pymc_fisher.fisher.closed_form import (
    closed_form,
    has_closed_form,
    negative_binomial_dispersion,
    pullback_for,
)
from pymc_fisher.fisher.expected import tangents

FALSE_ALARM = 1e-3  # family-wise, over every Monte Carlo assertion in this file
MODE = os.environ.get("TCF_MODE", "FAST_COMPILE")


class Case(NamedTuple):
    """One entry under test: ``make(coords)`` builds the distribution from coordinate graphs."""

    id: str
    make: Callable[[Sequence[pt.TensorVariable]], pt.TensorVariable]
    x0: tuple[float, ...]
    coordinate: str | None  # of the free value; None: discrete, observed form only
    draws: int = 40_000


def _bern_logit(x):
    return pm.Bernoulli.dist(logit_p=x[0])


CASES = [
    Case("Normal", lambda x: pm.Normal.dist(mu=x[0], sigma=x[1]), (0.3, 1.7), "identity"),
    Case("HalfNormal", lambda x: pm.HalfNormal.dist(sigma=x[0]), (1.4,), "log"),
    Case("LogNormal", lambda x: pm.LogNormal.dist(mu=x[0], sigma=x[1]), (-0.2, 0.6), "log"),
    Case(
        "StudentT-fixed-nu",
        lambda x: pm.StudentT.dist(nu=4.0, mu=x[0], sigma=x[1]),
        (0.5, 2.0),
        "identity",
    ),
    Case(
        "StudentT-free-nu",
        lambda x: pm.StudentT.dist(nu=x[0], mu=x[1], sigma=x[2]),
        (5.5, -1.0, 0.8),
        "identity",
        100_000,
    ),
    Case("Cauchy", lambda x: pm.Cauchy.dist(alpha=x[0], beta=x[1]), (1.0, 0.5), "identity"),
    Case("HalfCauchy", lambda x: pm.HalfCauchy.dist(beta=x[0]), (2.5,), "log"),
    Case("Exponential", lambda x: pm.Exponential.dist(lam=x[0]), (0.7,), "log"),
    Case("Gamma", lambda x: pm.Gamma.dist(alpha=x[0], beta=x[1]), (2.3, 1.6), "log"),
    Case("InverseGamma", lambda x: pm.InverseGamma.dist(alpha=x[0], beta=x[1]), (3.1, 0.9), "log"),
    Case("Beta", lambda x: pm.Beta.dist(alpha=x[0], beta=x[1]), (1.7, 3.2), "logodds"),
    Case("Weibull", lambda x: pm.Weibull.dist(alpha=x[0], beta=x[1]), (1.8, 2.2), "log"),
    Case("Poisson", lambda x: pm.Poisson.dist(mu=x[0]), (3.7,), None),
    Case("Poisson-log-link", lambda x: pm.Poisson.dist(mu=pt.exp(x[0])), (1.1,), None),
    Case("Bernoulli-p", lambda x: pm.Bernoulli.dist(p=x[0]), (0.3,), None),
    Case("Bernoulli-logit_p", _bern_logit, (-0.4,), None),
    Case("Binomial-p", lambda x: pm.Binomial.dist(n=7, p=x[0]), (0.65,), None),
    Case("Binomial-logit_p", lambda x: pm.Binomial.dist(n=7, logit_p=x[0]), (0.8,), None),
    Case(
        "NegativeBinomial-mu-alpha",
        lambda x: pm.NegativeBinomial.dist(mu=x[0], alpha=x[1]),
        (6.0, 0.7),
        None,
        100_000,
    ),
    Case(
        "NegativeBinomial-n-p",
        lambda x: pm.NegativeBinomial.dist(n=x[0], p=x[1]),
        (2.5, 0.35),
        None,
        100_000,
    ),
]

_TRANSFORMS: dict[str | None, Callable] = {
    # value coordinate -> (value, log-Jacobian)
    "identity": lambda z: (z, pt.zeros_like(z)),
    "log": lambda z: (pt.exp(z), z),
    "logodds": lambda z: (pt.sigmoid(z), pt.log(pt.sigmoid(z)) + pt.log(pt.sigmoid(-z))),
}


def _forward(coordinate: str, y: np.ndarray) -> np.ndarray:
    forward = {"identity": lambda v: v, "log": np.log, "logodds": special.logit}
    return forward[coordinate](y)


def _n_assertions(dims: int) -> int:
    # E[s]: dims; E[s sᵀ] and E[−H]: the upper triangles
    return dims + dims * (dims + 1)


def _count() -> int:
    total = 0
    for case in CASES:
        d = len(case.x0)
        total += _n_assertions(d)  # observed form
        if case.coordinate is not None:
            total += _n_assertions(d + 1)  # free form
    return total + _n_assertions(7)  # the MvNormal case


Z = float(stats.norm.isf(FALSE_ALARM / (2 * _count())))


def assert_mc_mean(samples: np.ndarray, target: np.ndarray, what: str) -> None:
    """``|mean − target| ≤ Z · se`` entrywise (plus rounding slack where the variance is 0)."""
    m = samples.shape[0]
    mean = samples.mean(axis=0)
    se = samples.std(axis=0, ddof=1) / np.sqrt(m)
    tol = Z * se + 1e-9 * (1 + np.abs(target))
    bad = np.abs(mean - target) > tol
    assert not bad.any(), (
        f"{what}: Monte Carlo mean\n{mean}\n!= target\n{target}\n(se\n{se}\n, Z = {Z:.2f})"
    )


def _entry_pullback(info, wrt: pt.TensorVariable) -> pt.TensorVariable:
    """``Σ_ab J_a I_ab J_bᵀ`` for scalar coordinates (batch of one), ``J_a = ∂coord_a/∂wrt``."""
    jac = [
        pytensor.grad(pt.sum(c), wrt, disconnected_inputs="ignore", return_disconnected="zero")
        for c in info.coords
    ]
    total = pt.zeros((wrt.shape[0], wrt.shape[0]))
    for a in range(len(jac)):
        for b in range(a, len(jac)):
            entry = info.matrix[a][b]
            if entry is None:
                continue
            outer = pt.outer(jac[a], jac[b]) * pt.sum(entry)
            total = total + (outer if a == b else outer + outer.T)
    return total


def _scores_and_hessians(logp: pt.TensorVariable, wrt: list[pt.TensorVariable], dims: int):
    """Per-draw score (M, D) and Hessian (M, D, D): each draw has its own copy of θ."""

    def columns(g):
        return pt.concatenate([gi[:, None] if gi.ndim == 1 else gi for gi in g], axis=1)

    score = columns(pytensor.grad(pt.sum(logp), wrt))
    rows = [columns(pytensor.grad(pt.sum(score[:, j]), wrt)) for j in range(dims)]
    return score, pt.stack(rows, axis=1)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_entry_against_monte_carlo(case: Case) -> None:
    d, m = len(case.x0), case.draws
    x0 = np.asarray(case.x0, dtype="float64")
    # one call with the parameters tiled: pm.draw(..., draws=m) would loop in Python
    y = pm.draw(
        case.make([pt.as_tensor(np.full(m, v)) for v in x0]), random_seed=20261122, mode=MODE
    )

    # the entry, pulled back to the scalar coordinates v = (zs, *xs)
    v = pt.vector("v", dtype="float64")
    zs, xs = v[0], v[1:]
    rv = case.make([xs[j] for j in range(d)])
    params = rv.owner.op.dist_params(rv.owner)
    assert has_closed_form(rv.owner.op)
    observed = _entry_pullback(closed_form(rv.owner.op, params, None, None), v)[1:, 1:]
    outputs = [observed]

    # Monte Carlo: every draw gets its own copy of the coordinates, so gradients are per draw
    xm = pt.matrix("xm", dtype="float64")
    rv_m = case.make([xm[:, j] for j in range(d)])
    obs_score, obs_hess = _scores_and_hessians(pm.logp(rv_m, pt.as_tensor(y)), [xm], d)
    outputs += [obs_score, obs_hess]
    if case.coordinate is not None:
        zm = pt.vector("zm", dtype="float64")
        value, log_jacobian = _TRANSFORMS[case.coordinate](zm)
        logp = pm.logp(rv_m, value) + log_jacobian
        free_score, free_hess = _scores_and_hessians(logp, [zm, xm], d + 1)
        free_info = closed_form(rv.owner.op, params, zs, case.coordinate)
        free = _entry_pullback(free_info, v)
        outputs += [free, free_score, free_hess]
    fn = pytensor.function([v, xm, zm] if case.coordinate else [v, xm], outputs, mode=MODE)
    inputs = [np.concatenate([[0.0], x0]), np.tile(x0, (m, 1))]
    if case.coordinate is not None:
        inputs.append(_forward(case.coordinate, y))
    out = fn(*inputs)

    forms = [("observed", out[0], out[1], out[2])]
    if case.coordinate is not None:
        forms.append((f"free ({case.coordinate})", out[3], out[4], out[5]))
    for form, info, score, hess in forms:
        assert np.all(np.isfinite(info)), form
        np.testing.assert_allclose(info, info.T, rtol=1e-12, atol=1e-15)
        outer = score[:, :, None] * score[:, None, :]
        assert_mc_mean(score, np.zeros(score.shape[1]), f"{case.id} {form}: E[s]")
        assert_mc_mean(outer, info, f"{case.id} {form}: E[s sᵀ]")
        assert_mc_mean(-hess, info, f"{case.id} {form}: E[−∇²]")
