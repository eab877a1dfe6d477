"""The closed-form registry against Monte Carlo, and its pull-back through small models.

For every entry, in coordinates ``x`` of the test's choosing (the PyMC parameters, and the free
value in its default transform's coordinate), the entry's information pulled back to ``x`` must
satisfy ``E[s] = 0``, ``E[s sᵀ] = I`` and ``E[−∇²] = I`` over draws from the distribution, where
``s`` and ``∇²`` are the per-draw score and Hessian of PyMC's own log-density (plus the
log-Jacobian of the value coordinate). Tolerances: ``Z`` Monte Carlo standard errors, with ``Z``
chosen by Bonferroni so that the whole file raises a false alarm with probability ≤ 1e-3.
"""

from __future__ import annotations

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
    student_t_nu_information,
    trigamma,
)
from pymc_fisher.fisher.expected import expected_information_graph, tangents
from pymc_fisher.fisher.model_graph import model_graph
from pymc_fisher.fisher.special import mv_student_t_nu_information

FALSE_ALARM = 1e-3  # family-wise, over every Monte Carlo assertion in this file
MODE = "FAST_COMPILE"  # C compilation of these one-off graphs costs more than it saves


class Case(NamedTuple):
    """One entry under test: ``make(coords)`` builds the distribution from coordinate graphs."""

    id: str
    make: Callable[[Sequence[pt.TensorVariable]], pt.TensorVariable]
    x0: tuple[float, ...]
    coordinate: str | None  # of the free value; None: discrete, observed form only
    draws: int = 40_000
    # E[−∇²] = I needs a log-density twice differentiable almost everywhere *and* at the mode;
    # Laplace's (and AsymmetricLaplace's) kink at μ carries all of I_μμ in a delta the per-draw
    # Hessian never sees, so
    # only E[s] = 0 and E[s sᵀ] = I are checked there (the count below still includes it,
    # which only makes Z conservative)
    smooth: bool = True
    # the log-density written out, ``logp(coords, value)``, where PyMC's cannot be
    # differentiated twice (VonMises: its log I₀(κ) goes through I1e, which has no gradient);
    # the test checks it against PyMC's at every draw
    logp: Callable | None = None
    # the parameters (indices into x0) that are coordinates of the observed form; the others
    # are edges of the data's support (Pareto's m), whose score has no mean zero
    regular: tuple[int, ...] | None = None
    # how far PyMC's log-density may be from the written-out ``logp``
    gap: float = 1e-10


def _von_mises_logp(x, z):
    return x[1] * pt.cos(z - x[0]) - np.log(2 * np.pi) - pt.log(pt.i0(x[1]))


def _truncated_normal(lower: float, upper: float):
    """TruncatedNormal(μ, σ) on ``[lower, upper]`` written out, and its Case fields.

    PyMC's normalising constant divides by ``pt.sqrt(2.0)``, a float32 constant: it is 1e-8
    off (1e-7 in a tail), and its second derivative in μ, the same for every draw, is then
    further from the entry than Monte Carlo can be. ``log Z`` here is exact in float64.
    """
    root2 = float(np.sqrt(2.0))

    def logp(x, z):
        mu, sigma = x
        a, b = (lower - mu) / (sigma * root2), (upper - mu) / (sigma * root2)
        log_z = pt.log((pt.erfc(a) - pt.erfc(b)) / 2)
        return -(((z - mu) / sigma) ** 2) / 2 - pt.log(sigma) - np.log(2 * np.pi) / 2 - log_z

    def make(x):
        return pm.TruncatedNormal.dist(mu=x[0], sigma=x[1], lower=lower, upper=upper)

    return {"make": make, "coordinate": "Interval", "logp": logp, "gap": 1e-6}


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
    Case(
        "HalfStudentT",
        lambda x: pm.HalfStudentT.dist(nu=x[0], sigma=x[1]),
        (4.5, 1.3),
        "log",
        100_000,
    ),
    Case(
        "Laplace",
        lambda x: pm.Laplace.dist(mu=x[0], b=x[1]),
        (0.4, 1.6),
        "identity",
        smooth=False,
    ),
    Case(
        "AsymmetricLaplace",
        lambda x: pm.AsymmetricLaplace.dist(b=x[0], kappa=x[1], mu=x[2]),
        (1.3, 0.7, 0.2),
        "identity",
        smooth=False,
    ),
    Case("Logistic", lambda x: pm.Logistic.dist(mu=x[0], s=x[1]), (-0.3, 0.9), "identity"),
    Case("Gumbel", lambda x: pm.Gumbel.dist(mu=x[0], beta=x[1]), (0.2, 1.4), "identity"),
    Case("Wald", lambda x: pm.Wald.dist(mu=x[0], lam=x[1]), (1.3, 2.1), "log"),
    Case(
        "VonMises",
        lambda x: pm.VonMises.dist(mu=x[0], kappa=x[1]),
        (0.4, 2.5),
        "CircularTransform",
        logp=_von_mises_logp,
    ),
    # regular=(): bounds that depend on θ have no observed form (test_uniform_observed_bounds)
    Case(
        "Uniform",
        lambda x: pm.Uniform.dist(lower=x[0], upper=x[1]),
        (-1.0, 2.0),
        "Interval",
        regular=(),
    ),
    Case(
        "Pareto",
        lambda x: pm.Pareto.dist(alpha=x[0], m=x[1]),
        (2.7, 1.3),
        "Interval",
        regular=(0,),
    ),
    Case(
        "Triangular",
        lambda x: pm.Triangular.dist(lower=x[1], c=x[0], upper=x[2]),
        (0.4, -1.0, 2.0),
        "Interval",
        smooth=False,  # the kink at c: the score jumps there
        regular=(0,),
    ),
    # a CustomDist (a new Op class per variable); no default transform: x held as itself
    Case(
        "LogitNormal",
        lambda x: pm.LogitNormal.dist(mu=x[0], sigma=x[1]),
        (0.4, 0.7),
        "identity",
        100_000,
    ),
    # α's terms by a fixed 48-node Gauss-Hermite rule (special.skew_normal_mills_moments)
    Case(
        "SkewNormal",
        lambda x: pm.SkewNormal.dist(mu=x[0], sigma=x[1], alpha=x[2]),
        (0.3, 1.4, 2.5),
        "identity",
        100_000,
    ),
    # observed form only (coordinate None): a free value takes the quadrature; b = 2 is the
    # removable singularity of I_aa
    Case("Kumaraswamy", lambda x: pm.Kumaraswamy.dist(a=x[0], b=x[1]), (1.7, 3.5), None),
    Case("Kumaraswamy-b2", lambda x: pm.Kumaraswamy.dist(a=x[0], b=x[1]), (2.5, 2.0), None),
    Case(id="TruncatedNormal-both", x0=(0.3, 1.2), **_truncated_normal(-1.0, 2.0)),
    # both bounds above the mean: the erfcx branch of the moments
    Case(id="TruncatedNormal-tail", x0=(0.0, 1.0), **_truncated_normal(1.5, 3.0)),
    Case(id="TruncatedNormal-lower", x0=(-0.3, 0.8), **_truncated_normal(0.5, np.inf)),
    Case(id="TruncatedNormal-upper", x0=(1.0, 0.7), **_truncated_normal(-np.inf, 0.4)),
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
    "CircularTransform": lambda z: (z, pt.zeros_like(z)),  # PyMC's: no log-Jacobian
    "log": lambda z: (pt.exp(z), z),
    "logodds": lambda z: (pt.sigmoid(z), pt.log(pt.sigmoid(z)) + pt.log(pt.sigmoid(-z))),
}


def _interval(rv: pt.TensorVariable):
    """PyMC's default (interval) transform of ``rv``: ``z -> (value, log-Jacobian)``."""
    from pymc.distributions.transforms import _default_transform

    transform = _default_transform(rv.owner.op, rv)
    inputs = rv.owner.inputs
    return lambda z: (transform.backward(z, *inputs), transform.log_jac_det(z, *inputs))


def _forward(coordinate: str, y: np.ndarray, rv: pt.TensorVariable) -> np.ndarray:
    if coordinate == "Interval":  # rv: the distribution at the draws' parameters
        from pymc.distributions.transforms import _default_transform

        transform = _default_transform(rv.owner.op, rv)
        return transform.forward(pt.as_tensor(y), *rv.owner.inputs).eval(mode=MODE)
    forward = {
        "identity": lambda v: v,
        "CircularTransform": lambda v: v,  # draws are in [−π, π] already
        "log": np.log,
        "logodds": special.logit,
    }
    return forward[coordinate](y)


def _n_assertions(dims: int) -> int:
    # E[s]: dims; E[s sᵀ] and E[−H]: the upper triangles
    return dims + dims * (dims + 1)


def _count() -> int:
    total = 0
    for case in CASES:
        d = len(case.x0)
        total += _n_assertions(d if case.regular is None else len(case.regular))  # observed
        if case.coordinate is not None:
            total += _n_assertions(d + 1)  # free form
    # MvNormal: free and observed; Dirichlet (K = 3): free and observed
    total += _n_assertions(7) + _n_assertions(5) + _n_assertions(5) + _n_assertions(3)
    # MvStudentT and CAR: free and observed; ICAR on N = 4 and 5: E[s], E[s sᵀ] off σ and
    # E[−∇²] free, E[−∇²] in (σ, s)
    icar = sum(n + 2 + (n + 1) * (n + 2) // 2 + (n + 2) * (n + 3) // 2 + 3 for n in (4, 5))
    total += _n_assertions(8) + _n_assertions(6) + _n_assertions(7) + _n_assertions(3) + icar
    # ZeroSumNormal: (2, 4) with a σ per row, (3, 4) on two axes; free and observed
    return total + _n_assertions(8) + _n_assertions(2) + _n_assertions(7) + _n_assertions(1)


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


def _logp(case: Case, rv, xm, value):
    """The log-density to differentiate, and its difference from PyMC's (zero unless own)."""
    logp = pm.logp(rv, value)
    if case.logp is None:
        return logp, pt.zeros_like(logp)
    own = case.logp([xm[:, j] for j in range(len(case.x0))], value)
    return own, own - logp


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_entry_against_monte_carlo(case: Case) -> None:
    d, m = len(case.x0), case.draws
    x0 = np.asarray(case.x0, dtype="float64")
    # one call with the parameters tiled: pm.draw(..., draws=m) would loop in Python
    at_x0 = case.make([pt.as_tensor(np.full(m, v)) for v in x0])
    y = pm.draw(at_x0, random_seed=20261122, mode=MODE)

    # the entry, pulled back to the scalar coordinates v = (zs, *xs)
    v = pt.vector("v", dtype="float64")
    zs, xs = v[0], v[1:]
    rv = case.make([xs[j] for j in range(d)])
    params = rv.owner.op.dist_params(rv.owner)
    assert has_closed_form(rv.owner.op)
    if case.regular == ():
        observed = pt.zeros((d, d))
    else:
        observed = _entry_pullback(closed_form(rv.owner.op, params, None, None), v)[1:, 1:]

    # Monte Carlo: every draw gets its own copy of the coordinates, so gradients are per draw
    xm = pt.matrix("xm", dtype="float64")
    rv_m = case.make([xm[:, j] for j in range(d)])
    inputs = [np.concatenate([[0.0], x0]), np.tile(x0, (m, 1))]
    if case.coordinate is None:
        logp, gap = _logp(case, rv_m, xm, pt.as_tensor(y))
        score, hess = _scores_and_hessians(logp, [xm], d)
        fn = pytensor.function([v, xm], [observed, score, hess, gap], mode=MODE)
        observed_info, score, hess, gap_values = fn(*inputs)
        forms = [("observed", observed_info, score, hess)]
    else:
        zm = pt.vector("zm", dtype="float64")
        to_value = (
            _interval(rv_m) if case.coordinate == "Interval" else _TRANSFORMS[case.coordinate]
        )
        value, log_jacobian = to_value(zm)
        logp, gap = _logp(case, rv_m, xm, value)
        score, hess = _scores_and_hessians(logp + log_jacobian, [zm, xm], d + 1)
        free = _entry_pullback(closed_form(rv.owner.op, params, zs, case.coordinate), v)
        fn = pytensor.function([v, xm, zm], [observed, free, score, hess, gap], mode=MODE)
        observed_info, free_info, score, hess, gap_values = fn(
            *inputs, _forward(case.coordinate, y, at_x0)
        )
        # the value does not move with the regular parameters (an interval transform moves it
        # with the bounds only), so the observed form's score and Hessian are that block of the
        # free form's
        regular = np.arange(d) if case.regular is None else np.asarray(case.regular, dtype=int)
        keep = 1 + regular
        forms = [
            (
                "observed",
                observed_info[np.ix_(keep - 1, keep - 1)],
                score[:, keep],
                hess[:, keep][:, :, keep],
            ),
            (f"free ({case.coordinate})", free_info, score, hess),
        ]
    np.testing.assert_allclose(gap_values, 0.0, atol=case.gap)  # a written-out density is PyMC's
    for form, info, score, hess in forms:
        assert np.all(np.isfinite(info)), form
        np.testing.assert_allclose(info, info.T, rtol=1e-12, atol=1e-15)
        outer = score[:, :, None] * score[:, None, :]
        assert_mc_mean(score, np.zeros(score.shape[1]), f"{case.id} {form}: E[s]")
        assert_mc_mean(outer, info, f"{case.id} {form}: E[s sᵀ]")
        if case.smooth:
            assert_mc_mean(-hess, info, f"{case.id} {form}: E[−∇²]")


def test_uniform_observed_bounds() -> None:
    """Fixed bounds: no information. Bounds in θ: not a regular family, a typed error; the
    model's expected information then takes the quantile quadrature, deterministic and finite
    (the square of the constant score ±1/(b − a))."""
    v = pt.vector("v", dtype="float64")
    fixed = pm.Uniform.dist(lower=-1.0, upper=2.0)
    info = closed_form(fixed.owner.op, fixed.owner.op.dist_params(fixed.owner), None, None)
    assert info.coords == ()
    live = pm.Uniform.dist(lower=v[0], upper=v[1])
    with pytest.raises(NoClosedFormError, match="not regular parameters"):
        closed_form(live.owner.op, live.owner.op.dist_params(live.owner), None, None)
    with pm.Model() as model:
        a = pm.Normal("a", 0.0, 1.0)
        pm.Uniform("y", lower=a - 1.0, upper=2 * a + 3.0, observed=[0.5, 1.0])
    got = _expected_information(model, {"a": np.array(0.2)}, False)
    np.testing.assert_allclose(got, [[2 / 4.2**2]], rtol=1e-12)  # score −1/(a + 4), twice


# --- MvNormal: the general pull-back registry ---------------------------------------------


def _bivariate(v: pt.TensorVariable):
    """``(z, μ, Σ)`` from ``v = (z₀, z₁, μ₀, μ₁, a, b, r)``: Σ = [[e²ᵃ, r eᵃ⁺ᵇ], [·, e²ᵇ]]."""
    a, b, r = v[..., 4], v[..., 5], v[..., 6]
    off = r * pt.exp(a + b)
    cov = pt.stack(
        [pt.stack([pt.exp(2 * a), off], axis=-1), pt.stack([off, pt.exp(2 * b)], axis=-1)],
        axis=-2,
    )
    return v[..., 0:2], v[..., 2:4], cov


def _bivariate_logp(v: pt.TensorVariable) -> pt.TensorVariable:
    """The bivariate normal log-density written out (per row of ``v``), independent of PyMC."""
    (z0, z1), (m0, m1) = (v[:, 0], v[:, 1]), (v[:, 2], v[:, 3])
    a, b, r = v[:, 4], v[:, 5], v[:, 6]
    u0, u1 = (z0 - m0) * pt.exp(-a), (z1 - m1) * pt.exp(-b)
    quad = (u0**2 - 2 * r * u0 * u1 + u1**2) / (1 - r**2)
    return -np.log(2 * np.pi) - a - b - pt.log1p(-(r**2)) / 2 - quad / 2


def _check_bivariate_free_and_observed(name, fn, logp, vm, point, draws) -> None:
    """A bivariate value's two forms: free (value and parameters) and observed (parameters only).

    ``fn(point, draws)`` gives the free and observed information at ``point``, per-draw scores and
    Hessians over the coordinates ``(z₁, z₂, *parameters)``, and PyMC's log-density at ``point``.
    """
    free_info, obs_info, s, h, logp_pm = fn(point, draws)
    np.testing.assert_allclose(
        pytensor.function([vm], logp, mode=MODE)(point[None])[0], logp_pm, rtol=1e-12
    )
    np.testing.assert_allclose(obs_info[:2], 0.0)
    np.testing.assert_allclose(obs_info[2:, 2:], free_info[2:, 2:], rtol=1e-12)
    for form, info, sc, he in [
        ("free", free_info, s, h),
        ("observed", obs_info[2:, 2:], s[:, 2:], h[:, 2:, 2:]),
    ]:
        assert_mc_mean(sc, np.zeros(sc.shape[1]), f"{name} {form}: E[s]")
        assert_mc_mean(sc[:, :, None] * sc[:, None, :], info, f"{name} {form}: E[s sᵀ]")
        assert_mc_mean(-he, info, f"{name} {form}: E[−∇²]")


def test_mv_normal_against_monte_carlo() -> None:
    m = 40_000
    x0 = np.array([0.4, -0.3, 0.2, -0.5, 0.6])  # μ₀, μ₁, a, b, r
    v = pt.vector("v", dtype="float64")
    z, mu, cov = _bivariate(v)
    rv = pm.MvNormal.dist(mu=mu, cov=cov)
    params = rv.owner.op.dist_params(rv.owner)
    general = pullback_for(rv.owner.op)
    assert general is not None
    assert has_closed_form(rv.owner.op)
    with pytest.raises(NoClosedFormError):
        closed_form(rv.owner.op, params, None, None)  # not elementwise: no Information form

    def tangents_fn(graphs):
        return tangents(graphs, v, 7)

    free = general(params, z, "identity", tangents_fn, 7, ())
    observed = general(params, None, None, tangents_fn, 7, ())
    vm = pt.matrix("vm", dtype="float64")
    logp = _bivariate_logp(vm)
    score, hess = _scores_and_hessians(logp, [vm], 7)
    check = pm.logp(pm.MvNormal.dist(mu=mu, cov=cov), z)
    fn = pytensor.function([v, vm], [free, observed, score, hess, check], mode=MODE)

    _, mu0, cov0 = (
        np.asarray(g) for g in pytensor.function([v], _bivariate(v), mode=MODE)(np.r_[0, 0, x0])
    )
    y = np.random.default_rng(20261122).multivariate_normal(mu0, cov0, size=m)
    point = np.r_[y[0], x0]
    _check_bivariate_free_and_observed(
        "MvNormal", fn, logp, vm, point, np.column_stack([y, np.tile(x0, (m, 1))])
    )


def test_dirichlet_under_the_simplex_transform_against_monte_carlo() -> None:
    """Coordinates ``(y₁, y₂, α₁, α₂, α₃)``, ``y`` PyMC's simplex value, log-Jacobian included."""
    from pymc.distributions.transforms import simplex

    m = 40_000
    alpha = np.array([1.5, 3.0, 0.8])
    v = pt.vector("v", dtype="float64")
    rv = pm.Dirichlet.dist(a=v[2:5])
    params = rv.owner.op.dist_params(rv.owner)
    general = pullback_for(rv.owner.op)
    assert general is not None

    def tangents_fn(graphs):
        return tangents(graphs, v, 5)

    free = general(params, v[0:2], "SimplexTransform", tangents_fn, 5, ())
    observed = general(params, None, None, tangents_fn, 5, ())
    vm = pt.matrix("vm", dtype="float64")
    logp = pm.logp(pm.Dirichlet.dist(a=vm[:, 2:5]), simplex.backward(vm[:, 0:2]))
    logp = logp + simplex.log_jac_det(vm[:, 0:2])
    score, hess = _scores_and_hessians(logp, [vm], 5)
    fn = pytensor.function([v, vm], [free, observed, score, hess], mode=MODE)
    z = np.random.default_rng(20261122).dirichlet(alpha, size=m)
    y = np.log(z[:, :2]) - np.log(z).mean(axis=1, keepdims=True)  # simplex.forward
    free_info, obs_info, s, h = fn(np.r_[y[0], alpha], np.column_stack([y, np.tile(alpha, (m, 1))]))
    np.testing.assert_allclose(obs_info[:2], 0.0)
    for form, info, sc, he in [
        ("free", free_info, s, h),
        ("observed", obs_info[2:, 2:], s[:, 2:], h[:, 2:, 2:]),
    ]:
        assert np.all(np.isfinite(info))
        assert_mc_mean(sc, np.zeros(sc.shape[1]), f"Dirichlet {form}: E[s]")
        assert_mc_mean(sc[:, :, None] * sc[:, None, :], info, f"Dirichlet {form}: E[s sᵀ]")
        assert_mc_mean(-he, info, f"Dirichlet {form}: E[−∇²]")


def test_mv_normal_batch_broadcasting_pullback() -> None:
    """A batch of 3 values with a shared Σ (and a shared μ when observed) vs numpy."""
    w = np.array([[1.0, 0.5], [-0.3, 2.0], [0.7, -1.1]])
    v = pt.vector("v", dtype="float64")  # z (6), β (2), a, b, r
    z = v[:6].reshape((3, 2))
    _, _, cov = _bivariate(pt.concatenate([pt.zeros(4), v[8:11]]))
    rv = pm.MvNormal.dist(mu=w * v[6:8], cov=cov, shape=(3, 2))
    rv_shared = pm.MvNormal.dist(mu=v[6:8], cov=cov, shape=(3, 2))
    general = pullback_for(rv.owner.op)

    def info(r, value):
        params = r.owner.op.dist_params(r.owner)
        return general(params, value, "identity", lambda g: tangents(g, v, 11), 11, (3,))

    fn = pytensor.function([v], [info(rv, z), info(rv_shared, None), cov], mode=MODE)
    point = np.r_[np.zeros(6), 0.8, -0.4, 0.1, -0.2, -0.35]
    free, shared, sigma = fn(point)

    prec = np.linalg.inv(sigma)
    expect = np.zeros((11, 11))
    for i in range(3):  # mean block of z_i − w_i ⊙ β
        jac = np.zeros((2, 11))
        jac[:, 2 * i : 2 * i + 2] = np.eye(2)
        jac[:, 6:8] = -np.diag(w[i])
        expect += jac.T @ prec @ jac
    a, b, r = point[8:]
    e = np.exp(a + b)
    d_sigma = [
        np.array([[2 * np.exp(2 * a), r * e], [r * e, 0.0]]),
        np.array([[0.0, r * e], [r * e, 2 * np.exp(2 * b)]]),
        np.array([[0.0, e], [e, 0.0]]),
    ]
    cov_block = np.array(
        [[np.trace(prec @ da @ prec @ db) / 2 for db in d_sigma] for da in d_sigma]
    )
    expect[8:, 8:] += 3 * cov_block  # Σ is shared by the 3 batch members
    np.testing.assert_allclose(free, expect, rtol=1e-10, atol=1e-12)

    expect_shared = np.zeros((11, 11))
    expect_shared[6:8, 6:8] = 3 * prec
    expect_shared[8:, 8:] = 3 * cov_block
    np.testing.assert_allclose(shared, expect_shared, rtol=1e-10, atol=1e-12)


# --- the NegativeBinomial dispersion quadrature ---------------------------------------------


def _dispersion_series(n: float, mu: float) -> float:
    """``Σ_{k<K} P(Y > k)/(n + k)²``, K grown until the tail bound ``P(Y ≥ K)/(n + K − 1)`` is
    below 1e-14 of the sum (``1/(n + k)²`` summed over k ≥ K is at most ``1/(n + K − 1)``)."""
    p = n / (n + mu)
    size = 64
    while True:
        k = np.arange(size)
        terms = stats.nbinom.sf(k, n, p) / (n + k) ** 2
        if stats.nbinom.sf(size - 1, n, p) / (n + size - 1) < 1e-14 * terms.sum():
            return float(terms.sum())
        size *= 2


def test_negative_binomial_dispersion_quadrature() -> None:
    n_grid = np.array([0.05, 0.5, 2.0, 30.0, 500.0])
    mu_grid = np.array([0.01, 1.0, 20.0, 300.0])
    n, mu = (g.ravel() for g in np.meshgrid(n_grid, mu_grid))
    nv, rv = pt.vector("n", dtype="float64"), pt.vector("ratio", dtype="float64")
    value = negative_binomial_dispersion(nv, rv)
    grads = pytensor.grad(pt.sum(value), [nv, rv])  # the sampler's reverse pass goes through it
    fn = pytensor.function([nv, rv], [value, *grads], mode=MODE)
    got, dn, dr = fn(n, mu / n)
    expect = np.array([_dispersion_series(a, b) for a, b in zip(n, mu, strict=True)])
    np.testing.assert_allclose(got, expect, rtol=1e-9)
    eps = 1e-6
    fd_n = (fn(n * (1 + eps), mu / n)[0] - fn(n * (1 - eps), mu / n)[0]) / (2 * eps * n)
    fd_r = (fn(n, mu / n * (1 + eps))[0] - fn(n, mu / n * (1 - eps))[0]) / (2 * eps * mu / n)
    np.testing.assert_allclose(dn, fd_n, rtol=1e-5)
    np.testing.assert_allclose(dr, fd_r, rtol=1e-5)


# --- the pull-back through small models ---------------------------------------------------


def _expected_information(model: pm.Model, point: dict, include_prior: bool) -> np.ndarray:
    mg = model_graph(model, {k: np.shape(v) for k, v in point.items()})
    theta = np.concatenate([np.ravel(point[name]) for name in mg.layout.names])
    graph = expected_information_graph(mg, include_prior=include_prior)
    return pytensor.function([mg.theta], graph, mode=MODE)(theta)


def _blocks(*blocks: np.ndarray) -> np.ndarray:
    sizes = [np.atleast_2d(b).shape[0] for b in blocks]
    out = np.zeros((sum(sizes), sum(sizes)))
    start = 0
    for b, k in zip(blocks, sizes, strict=True):
        out[start : start + k, start : start + k] = b
        start += k
    return out


def test_pullback_normal_regression_with_a_shared_sigma() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20, 2))
    with pm.Model() as model:
        b = pm.Normal("b", 0.0, 1.0, shape=2)
        sigma = pm.HalfNormal("sigma", 1.5)
        pm.Normal("y", mu=x @ b, sigma=sigma, observed=rng.normal(size=20))
    s = 0.7
    point = {"b": np.array([0.3, -0.2]), "sigma_log__": np.log(s)}
    # I_σσ = 2n/σ², so 2n in log σ; the priors add I and, for log of a HalfNormal, 2
    likelihood = _blocks(x.T @ x / s**2, 2.0 * 20)
    np.testing.assert_allclose(_expected_information(model, point, False), likelihood, rtol=1e-12)
    np.testing.assert_allclose(
        _expected_information(model, point, True), likelihood + _blocks(np.eye(2), 2.0), rtol=1e-12
    )


def test_pullback_poisson_log_link() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(25, 3))
    with pm.Model() as model:
        b = pm.Normal("b", 0.0, 2.0, shape=3)
        pm.Poisson("y", mu=pm.math.exp(x @ b), observed=rng.poisson(2.0, size=25))
    beta = np.array([0.2, -0.4, 0.5])
    likelihood = x.T @ (np.exp(x @ beta)[:, None] * x)
    got = _expected_information(model, {"b": beta}, False)
    np.testing.assert_allclose(got, likelihood, rtol=1e-12)
    got = _expected_information(model, {"b": beta}, True)
    np.testing.assert_allclose(got, likelihood + np.eye(3) / 4, rtol=1e-12)


def test_pullback_negative_binomial_log_link_with_free_dispersion() -> None:
    rng = np.random.default_rng(3)
    x = np.column_stack([np.ones(12), rng.normal(size=12)])
    with pm.Model() as model:
        b = pm.Normal("b", 0.0, 1.0, shape=2)
        alpha = pm.Exponential("alpha", 1.0)
        pm.NegativeBinomial("y", mu=pm.math.exp(x @ b), alpha=alpha, observed=np.arange(12) % 5)
    beta, a = np.array([1.5, 0.8]), 1.7
    mu = np.exp(x @ beta)
    # in the orthogonal coordinates (μ, α): I_μμ = α/(μ(α + μ)), I_μα = 0,
    # I_αα = ψ′(α) − E ψ′(Y + α) − μ/(α(α + μ)); then μ = exp(xβ), α = exp(log α)
    disp = np.array([_dispersion_series(a, m) for m in mu]) - mu / (a * (a + mu))
    likelihood = _blocks(x.T @ ((mu * a / (a + mu))[:, None] * x), a**2 * disp.sum())
    point = {"b": beta, "alpha_log__": np.log(a)}
    np.testing.assert_allclose(_expected_information(model, point, False), likelihood, rtol=1e-9)
    np.testing.assert_allclose(
        _expected_information(model, point, True), likelihood + _blocks(np.eye(2), 1.0), rtol=1e-9
    )


def test_pullback_observed_mv_normal_with_a_free_scale() -> None:
    corr = np.array([[1.0, 0.3], [0.3, 1.0]])
    with pm.Model() as model:
        m = pm.Normal("m", 0.0, 1.0, shape=2)
        s = pm.HalfNormal("s", 1.0)
        pm.MvNormal("y", mu=m, cov=s**2 * corr, observed=np.zeros((5, 2)))
    scale = 1.3
    point = {"m": np.array([0.1, -0.1]), "s_log__": np.log(scale)}
    # Σ = s² R: dΣ/dlog s = 2Σ, so ½ tr(Σ⁻¹ 2Σ Σ⁻¹ 2Σ) = 2k = 4 per observation
    likelihood = _blocks(5 * np.linalg.inv(scale**2 * corr), 4.0 * 5)
    np.testing.assert_allclose(_expected_information(model, point, False), likelihood, rtol=1e-12)


def test_the_monte_carlo_check_catches_a_wrong_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inflate Normal's I_σσ by 25%: the check must fail (its tolerance is about 5% here)."""
    from pytensor.tensor.random.basic import NormalRV

    from pymc_fisher.fisher import registry as module

    right = module._REGISTRY[NormalRV]

    def wrong(params, value, coordinate):
        info = right(params, value, coordinate)
        matrix = [list(row) for row in info.matrix]
        matrix[-1][-1] = 1.25 * matrix[-1][-1]
        return module.Information(info.coords, matrix)

    monkeypatch.setitem(module._REGISTRY, NormalRV, wrong)
    with pytest.raises(AssertionError, match="Normal observed"):
        test_entry_against_monte_carlo(CASES[0])


def test_pullback_student_t_free_nu_and_symbolic_random_variables() -> None:
    """ν and σ shared by a vector of observations; HalfCauchy and Weibull are PyMC's own Ops."""
    with pm.Model() as model:
        nu = pm.Gamma("nu", alpha=2.0, beta=0.1)
        s = pm.HalfCauchy("s", 2.0)
        pm.StudentT("y", nu=nu, mu=np.linspace(-1, 1, 10), sigma=s, observed=np.zeros(10))
        pm.Weibull("w", alpha=1.5, beta=s, observed=np.ones(4))
    v, sc = 6.0, 0.8
    point = {"nu_log__": np.log(v), "s_log__": np.log(sc)}
    i_nn = (special.polygamma(1, v / 2) - special.polygamma(1, (v + 1) / 2)) / 4 - (v + 5) / (
        2 * v * (v + 1) * (v + 3)
    )
    i_ns = -2 / (sc * (v + 1) * (v + 3))
    i_ss = 2 * v / ((v + 3) * sc**2)
    # chain rule to (log ν, log σ); the Weibull adds α² per observation in log β
    likelihood = 10 * np.array([[v**2 * i_nn, v * sc * i_ns], [v * sc * i_ns, sc**2 * i_ss]])
    likelihood[1, 1] += 4 * 1.5**2
    np.testing.assert_allclose(_expected_information(model, point, False), likelihood, rtol=1e-10)
    # log of a Gamma(2, ·) value: I = α = 2; log of a HalfCauchy value: 1/2
    np.testing.assert_allclose(
        _expected_information(model, point, True), likelihood + np.diag([2.0, 0.5]), rtol=1e-10
    )


@pytest.mark.parametrize("which", ["negative_binomial", "mv_normal"])
def test_metric_derivative_by_one_reverse_pass(which: str) -> None:
    """``∇θ Σ G(θ) ⊙ C`` (the sampler's one reverse pass) through the quadrature and Cholesky."""
    rng = np.random.default_rng(4)
    with pm.Model() as model:
        b = pm.Normal("b", 0.0, 1.0, shape=2)
        s = pm.HalfNormal("s", 1.0)
        if which == "negative_binomial":
            x = rng.normal(size=(6, 2))
            pm.NegativeBinomial("y", mu=pm.math.exp(x @ b), alpha=s, observed=np.arange(6))
        else:
            corr = pt.stack([pt.stack([1.0, b[0] / 3]), pt.stack([b[0] / 3, 1.0])])
            pm.MvNormal("y", mu=b, cov=s**2 * corr, observed=np.zeros((3, 2)))
    point = {"b": np.array([0.4, -0.3]), "s_log__": np.log(1.3)}
    mg = model_graph(model, {k: np.shape(v) for k, v in point.items()})
    theta = np.concatenate([np.ravel(point[name]) for name in mg.layout.names])
    metric = expected_information_graph(mg, include_prior=True)
    weights = rng.normal(size=(3, 3))
    objective = pt.sum(metric * weights)
    fn = pytensor.function([mg.theta], [objective, pytensor.grad(objective, mg.theta)], mode=MODE)
    _, grad = fn(theta)
    eps = 1e-6
    fd = [(fn(theta + eps * e)[0] - fn(theta - eps * e)[0]) / (2 * eps) for e in np.eye(theta.size)]
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)


def test_trigamma_from_elementary_operations() -> None:
    """Accurate to 1e-13 with its derivative, and compiles in the default (Numba) mode without
    an object-mode fallback warning (``filterwarnings = error`` turns one into a failure)."""
    x = pt.vector("x", dtype="float64")
    fn = pytensor.function([x], [trigamma(x), pytensor.grad(pt.sum(trigamma(x)), x)])
    xs = np.geomspace(1e-6, 1e9, 500)
    value, derivative = fn(xs)
    np.testing.assert_allclose(value, special.polygamma(1, xs), rtol=1e-13)
    np.testing.assert_allclose(derivative, special.polygamma(2, xs), rtol=1e-13)


def _central_moments(lo: float, hi: float) -> list[float]:
    """Var z, Cov(z, z²), Var z² of the truncated standard normal, by quadrature of central
    moments (no cancellation), the weight rescaled at the bound nearest the mode."""
    from scipy import integrate

    c = lo if lo > 0 else (hi if hi < 0 else 0.0)
    lo_q, hi_q = max(lo, c - 40.0), min(hi, c + 40.0 / max(abs(c), 1.0))

    def mean(g):
        value = integrate.quad(
            lambda z: g(z) * np.exp(-(z - c) * (z + c) / 2), lo_q, hi_q, epsrel=1e-13, limit=500
        )
        return value[0]

    z0 = mean(lambda z: 1.0)
    m1, m2 = mean(lambda z: z) / z0, mean(lambda z: z * z) / z0
    return [
        mean(lambda z: (z - m1) ** 2) / z0,
        mean(lambda z: (z - m1) * (z * z - m2)) / z0,
        mean(lambda z: (z * z - m2) ** 2) / z0,
    ]


@pytest.mark.parametrize(
    ("lo", "hi", "rtol"),
    [(-1.0, 2.0, 1e-12), (3.0, 4.0, 1e-11), (-np.inf, 0.7, 1e-12), (5.0, np.inf, 1e-11),
     (-np.inf, -20.0, 1e-9), (30.0, np.inf, 1e-8), (20.0, 25.0, 1e-9)],
)  # fmt: skip
def test_truncated_normal_moments_in_the_tails(lo: float, hi: float, rtol: float) -> None:
    """The (μ, σ) information's central moments; the accuracy the entry's docstring states."""
    from pymc_fisher.fisher.bounded import truncated_normal_moments

    a, b = pt.dscalar("a"), pt.dscalar("b")
    m1, m2, m3, m4 = truncated_normal_moments(a, b)
    central = [m2 - m1**2, m3 - m1 * m2, m4 - m2**2]
    fn = pytensor.function([a, b], [*central, *pytensor.grad(central[0] + central[2], [a, b])])
    values = fn(lo, hi)
    np.testing.assert_allclose(values[:3], _central_moments(lo, hi), rtol=rtol)
    assert np.all(np.isfinite(values))  # the derivatives too (the sampler differentiates it)


def test_student_t_nu_information_without_cancellation() -> None:
    """The direct form (checked by Monte Carlo above) below ν = 200, its expansion above."""
    nu = pt.vector("nu", dtype="float64")
    fn = pytensor.function([nu], student_t_nu_information(nu), mode=MODE)
    small = np.array([0.3, 1.0, 5.0, 50.0, 199.999, 200.001])
    direct = (special.polygamma(1, small / 2) - special.polygamma(1, (small + 1) / 2)) / 4 - (
        small + 5
    ) / (2 * small * (small + 1) * (small + 3))
    np.testing.assert_allclose(fn(small), direct, rtol=1e-9)
    large = np.array([1e6, 1e9])  # where the direct form has no correct digit left
    np.testing.assert_allclose(fn(large) * large**4, 3.5 - 13 / large, rtol=1e-10)


# --- MvStudentT, CAR and ICAR (pull-backs) --------------------------------------------------


def _bivariate_chol(v: pt.TensorVariable) -> pt.TensorVariable:
    """The Cholesky factor of ``_bivariate``'s Σ from ``(a, b, r) = v[..., 4:7]``."""
    a, b, r = v[..., 4], v[..., 5], v[..., 6]
    zero = pt.zeros_like(a)
    return pt.stack(
        [
            pt.stack([pt.exp(a), zero], axis=-1),
            pt.stack([r * pt.exp(b), pt.sqrt(1 - r**2) * pt.exp(b)], axis=-1),
        ],
        axis=-2,
    )


def _bivariate_t_logp(v: pt.TensorVariable) -> pt.TensorVariable:
    """The bivariate Student-t log-density written out (per row of ``v``, ν = ``v[:, 7]``)."""
    (z0, z1), (m0, m1) = (v[:, 0], v[:, 1]), (v[:, 2], v[:, 3])
    a, b, r, nu = v[:, 4], v[:, 5], v[:, 6], v[:, 7]
    u0, u1 = (z0 - m0) * pt.exp(-a), (z1 - m1) * pt.exp(-b)
    quad = (u0**2 - 2 * r * u0 * u1 + u1**2) / (1 - r**2)
    norm = pt.gammaln((nu + 2) / 2) - pt.gammaln(nu / 2) - pt.log(nu * np.pi)
    return norm - a - b - pt.log1p(-(r**2)) / 2 - (nu + 2) / 2 * pt.log1p(quad / nu)


def test_mv_student_t_against_monte_carlo() -> None:
    """Coordinates ``(z₀, z₁, μ₀, μ₁, a, b, r, ν)``, Σ through PyMC's ``chol`` argument."""
    m = 100_000
    x0 = np.array([0.4, -0.3, 0.2, -0.5, 0.6, 5.5])  # μ₀, μ₁, a, b, r, ν
    v = pt.vector("v", dtype="float64")
    rv = pm.MvStudentT.dist(nu=v[7], mu=v[2:4], chol=_bivariate_chol(v))
    params = rv.owner.op.dist_params(rv.owner)
    general = pullback_for(rv.owner.op)
    assert general is not None

    def tangents_fn(graphs):
        return tangents(graphs, v, 8)

    free = general(params, v[0:2], "identity", tangents_fn, 8, ())
    observed = general(params, None, None, tangents_fn, 8, ())
    vm = pt.matrix("vm", dtype="float64")
    logp = _bivariate_t_logp(vm)
    score, hess = _scores_and_hessians(logp, [vm], 8)
    check = pm.logp(rv, v[0:2])
    fn = pytensor.function([v, vm], [free, observed, score, hess, check], mode=MODE)

    chol0 = pytensor.function([v], _bivariate_chol(v), mode=MODE)(np.r_[0, 0, x0])
    rng = np.random.default_rng(20261122)
    nu0 = x0[5]
    white = rng.normal(size=(m, 2)) / np.sqrt(rng.chisquare(nu0, size=m) / nu0)[:, None]
    y = x0[:2] + white @ chol0.T
    point = np.r_[y[0], x0]
    _check_bivariate_free_and_observed(
        "MvStudentT", fn, logp, vm, point, np.column_stack([y, np.tile(x0, (m, 1))])
    )


# a 4-cycle with one chord, and a path of 3 next to an edge (two connected components)
_GRAPH = np.array([[0, 1, 0, 1], [1, 0, 1, 1], [0, 1, 0, 1], [1, 1, 1, 0]])
_ISLANDS = np.array(
    [[0, 1, 0, 0, 0], [1, 0, 1, 0, 0], [0, 1, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 1, 0]]
)


def _car_logp(v: pt.TensorVariable, w: np.ndarray, shift: np.ndarray) -> pt.TensorVariable:
    """CAR log-density per row of ``v = (z (4), b, α, τ)``, ``μ = b · shift``, written out as
    PyMC's: the Gaussian's without its constant ``½ log|D| − (k/2) log 2π``
    (``log|D − αW| = log|D| + Σ log(1 − αλ)``, λ of ``D^(−½) W D^(−½)``)."""
    degree = w.sum(axis=0)
    lam = np.linalg.eigvalsh(w / np.sqrt(np.outer(degree, degree)))
    k = w.shape[0]
    z, b, alpha, tau = v[:, :k], v[:, k], v[:, k + 1], v[:, k + 2]
    delta = z - b[:, None] * shift
    quad = (delta * (delta * degree - alpha[:, None] * (delta @ w))).sum(axis=1)
    logdet = k * pt.log(tau) + pt.log(1 - alpha[:, None] * lam).sum(axis=1)
    return (logdet - tau * quad) / 2


def test_car_against_monte_carlo() -> None:
    """Coordinates ``(z (4), b, α, τ)`` with ``μ = b · shift``."""
    m, k = 40_000, 4
    shift = np.array([1.0, -0.5, 2.0, 0.3])
    x0 = np.array([0.7, 0.4, 1.8])  # b, α, τ
    v = pt.vector("v", dtype="float64")
    rv = pm.CAR.dist(mu=v[k] * shift, W=_GRAPH, alpha=v[k + 1], tau=v[k + 2])
    params = rv.owner.op.dist_params(rv.owner)
    general = pullback_for(rv.owner.op)
    assert general is not None

    def tangents_fn(graphs):
        return tangents(graphs, v, k + 3)

    batch = (1,)  # PyMC's CAR log-density of one vector has shape (1,)
    free = general(params, v[:k], "identity", tangents_fn, k + 3, batch)
    observed = general(params, None, None, tangents_fn, k + 3, batch)
    vm = pt.matrix("vm", dtype="float64")
    logp = _car_logp(vm, _GRAPH, shift)
    score, hess = _scores_and_hessians(logp, [vm], k + 3)
    check = pm.logp(rv, v[:k])
    fn = pytensor.function([v, vm], [free, observed, score, hess, check], mode=MODE)

    b, alpha, tau = x0
    precision = tau * (np.diag(_GRAPH.sum(axis=0)) - alpha * _GRAPH)
    rng = np.random.default_rng(20261122)
    y = rng.multivariate_normal(b * shift, np.linalg.inv(precision), size=m)
    point = np.r_[y[0], x0]
    free_info, obs_info, s, h, logp_pm = fn(point, np.column_stack([y, np.tile(x0, (m, 1))]))
    np.testing.assert_allclose(
        pytensor.function([vm], logp, mode=MODE)(point[None])[0], logp_pm[0], rtol=1e-12
    )
    np.testing.assert_allclose(free_info[:k, :k], precision, rtol=1e-12)  # I_zz = Q
    np.testing.assert_allclose(obs_info[:k], 0.0)
    np.testing.assert_allclose(obs_info[k:, k:], free_info[k:, k:], rtol=1e-12)
    for form, info, sc, he in [
        ("free", free_info, s, h),
        ("observed", obs_info[k:, k:], s[:, k:], h[:, k:, k:]),
    ]:
        assert_mc_mean(sc, np.zeros(sc.shape[1]), f"CAR {form}: E[s]")
        assert_mc_mean(sc[:, :, None] * sc[:, None, :], info, f"CAR {form}: E[s sᵀ]")
        assert_mc_mean(-he, info, f"CAR {form}: E[−∇²]")


def _icar_logp(v: pt.TensorVariable, w: np.ndarray) -> pt.TensorVariable:
    """PyMC's ICAR log-density per row of ``v = (φ (N), σ, s)``, written out."""
    n = w.shape[0]
    phi, sigma, s = v[:, :n], v[:, n], v[:, n + 1]
    laplacian = np.diag(w.sum(axis=0)) - w
    pairwise = (phi * (phi @ laplacian)).sum(axis=1) / (2 * sigma**2)
    zero_sum = phi.sum(axis=1) ** 2 / (2 * (s * n) ** 2)
    return -pairwise - zero_sum - np.log(np.sqrt(2 * np.pi)) - pt.log(s * n)


@pytest.mark.parametrize(("w", "components"), [(_GRAPH, 1), (_ISLANDS, 2)], ids=["one", "two"])
def test_icar_against_monte_carlo(w: np.ndarray, components: int) -> None:
    """Coordinates ``(φ (N), σ, s)``. PyMC's log-density leaves out the normaliser ``−r log σ``
    (``r = N − components``), so the score in σ has mean ``r/σ`` and only ``E[−∇²] = I``
    holds in σ; ``E[s sᵀ] = I`` is checked in the other coordinates. With two components the
    field is improper along the component-wise constants that sum to zero; the draws leave that
    direction at zero, which no term of the log-density sees."""
    m, n = 40_000, w.shape[0]
    rank = n - components
    x0 = np.array([1.3, 0.4])  # σ, s
    v = pt.vector("v", dtype="float64")
    rv = pm.ICAR.dist(W=w, sigma=v[n], zero_sum_stdev=v[n + 1])
    params = rv.owner.op.dist_params(rv.owner)
    general = pullback_for(rv.owner.op)
    assert general is not None

    def tangents_fn(graphs):
        return tangents(graphs, v, n + 2)

    free = general(params, v[:n], "identity", tangents_fn, n + 2, ())
    observed = general(params, None, None, tangents_fn, n + 2, ())
    vm = pt.matrix("vm", dtype="float64")
    logp = _icar_logp(vm, w)
    score, hess = _scores_and_hessians(logp, [vm], n + 2)
    check = pm.logp(rv, v[:n])
    fn = pytensor.function([v, vm], [free, observed, score, hess, check], mode=MODE)

    sigma, s = x0
    laplacian = np.diag(w.sum(axis=0)) - w
    precision = laplacian / sigma**2 + np.ones((n, n)) / (s * n) ** 2
    eigenvalues, vectors = np.linalg.eigh(precision)
    proper = eigenvalues > 1e-9 * eigenvalues.max()
    assert proper.sum() == rank + 1  # the zero-sum constraint adds one direction
    white = np.random.default_rng(20261122).normal(size=(m, int(proper.sum())))
    y = (white / np.sqrt(eigenvalues[proper])) @ vectors[:, proper].T
    point = np.r_[y[0], x0]
    free_info, obs_info, sc, he, logp_pm = fn(point, np.column_stack([y, np.tile(x0, (m, 1))]))
    np.testing.assert_allclose(
        pytensor.function([vm], logp, mode=MODE)(point[None])[0], logp_pm, rtol=1e-12
    )
    np.testing.assert_allclose(free_info[:n, :n], precision, rtol=1e-12)  # I_φφ = Q
    np.testing.assert_allclose(obs_info[:n], 0.0)
    np.testing.assert_allclose(obs_info[n:, n:], free_info[n:, n:], rtol=1e-12)
    mean_score = np.zeros(n + 2)
    mean_score[n] = rank / sigma  # the normaliser PyMC leaves out
    assert_mc_mean(sc, mean_score, "ICAR free: E[s]")
    keep = np.r_[0:n, n + 1]
    outer = sc[:, keep, None] * sc[:, None, keep]
    assert_mc_mean(outer, free_info[np.ix_(keep, keep)], "ICAR free: E[s sᵀ] off σ")
    assert_mc_mean(-he, free_info, "ICAR free: E[−∇²]")
    assert_mc_mean(-he[:, n:, n:], obs_info[n:, n:], "ICAR observed: E[−∇²]")


def test_mv_student_t_nu_information_without_cancellation() -> None:
    """``p = 1`` is StudentT's ``I_νν`` (its series above ν = 200) to 1e-7 up to ν = 1e9, where
    the difference of ``g`` has lost its ``log₁₀(ν)`` digits; for ``p > 1`` scipy's direct form
    below ν = 50, where it is still good to about 1e-11."""
    nu, p = pt.vector("nu", dtype="float64"), pt.scalar("p", dtype="float64")
    fn = pytensor.function([nu, p], mv_student_t_nu_information(nu, p), mode=MODE)
    univariate = pytensor.function([nu], student_t_nu_information(nu), mode=MODE)
    grid = np.geomspace(0.05, 1e9, 60)
    np.testing.assert_allclose(fn(grid, 1.0), univariate(grid), rtol=1e-7)
    small = np.array([0.05, 0.3, 1.0, 5.0, 20.0, 50.0])
    for dim in (2.0, 5.0, 30.0):
        direct = (special.polygamma(1, small / 2) - special.polygamma(1, (small + dim) / 2)) / 4
        direct -= dim * (small + dim + 4) / (2 * small * (small + dim) * (small + dim + 2))
        np.testing.assert_allclose(fn(small, dim), direct, rtol=1e-10)
    assert np.all(fn(np.geomspace(1e-3, 1e12, 200), 3.0) > 0)


def _mv_t_information(nu: float, sigma: np.ndarray, d_mu: list, d_sigma: list) -> np.ndarray:
    """The MvStudentT information in numpy (Lange, Little & Taylor 1989), one observation, over
    coordinates with tangents ``d_mu`` (p-vectors) and ``d_sigma`` (p × p), ν the last."""
    p = sigma.shape[0]
    prec = np.linalg.inv(sigma)
    c = (nu + p) / (nu + p + 2)
    k = len(d_mu)
    out = np.zeros((k + 1, k + 1))
    for i in range(k):
        for j in range(k):
            out[i, j] = c * d_mu[i] @ prec @ d_mu[j]
            a, b = prec @ d_sigma[i], prec @ d_sigma[j]
            out[i, j] += c * np.trace(a @ b) / 2 - np.trace(a) * np.trace(b) / (2 * (nu + p + 2))
        out[i, k] = out[k, i] = -np.trace(prec @ d_sigma[i]) / ((nu + p) * (nu + p + 2))
    out[k, k] = (special.polygamma(1, nu / 2) - special.polygamma(1, (nu + p) / 2)) / 4 - p * (
        nu + p + 4
    ) / (2 * nu * (nu + p) * (nu + p + 2))
    return out


def test_mv_student_t_batch_with_a_nu_per_row() -> None:
    """Three observations, ν per row and in the last coordinate through ``ν_i = w_i e^η``,
    Σ = s² R shared, μ = β shared: the pull-back against numpy, row by row."""
    w = np.array([1.0, 2.5, 0.4])
    corr = np.array([[1.0, 0.3, -0.2], [0.3, 1.0, 0.1], [-0.2, 0.1, 1.0]])
    v = pt.vector("v", dtype="float64")  # β (3), log s, η
    rv = pm.MvStudentT.dist(
        nu=w * pt.exp(v[4]), mu=v[:3], scale=pt.exp(2 * v[3]) * corr, shape=(3, 3)
    )
    general = pullback_for(rv.owner.op)
    params = rv.owner.op.dist_params(rv.owner)
    got = pytensor.function(
        [v], general(params, None, None, lambda g: tangents(g, v, 5), 5, (3,)), mode=MODE
    )(np.r_[0.1, -0.2, 0.3, 0.25, np.log(4.0)])
    sigma = np.exp(0.5) * corr
    expect = np.zeros((5, 5))
    for wi in w:
        nu = 4.0 * wi
        # the coordinates: β (3) through μ, log s through Σ (∂Σ = 2Σ), then ν (∂ν/∂η = ν)
        d_mu = [*np.eye(3), np.zeros(3)]
        d_sigma = [np.zeros((3, 3))] * 3 + [2 * sigma]
        block = _mv_t_information(nu, sigma, d_mu, d_sigma)
        jac = np.diag([1.0, 1.0, 1.0, 1.0, nu])
        expect += jac @ block @ jac
    np.testing.assert_allclose(got, expect, rtol=1e-10, atol=1e-12)


def test_metric_derivative_through_mv_student_t_car_and_icar() -> None:
    """``∇θ Σ G(θ) ⊙ C`` by one reverse pass, against central differences: through trigamma,
    the Cholesky solves, CAR's eigenvalues (constant: W is data) and ICAR's σ block."""
    w = np.array([[0, 1, 0, 1], [1, 0, 1, 1], [0, 1, 0, 1], [1, 1, 1, 0]])
    rng = np.random.default_rng(5)
    with pm.Model() as model:
        nu = pm.Gamma("nu", 2.0, 0.2)
        s = pm.HalfNormal("s", 1.0)
        alpha = pm.Uniform("alpha", -1.0, 1.0)
        corr = np.array([[1.0, 0.4], [0.4, 1.0]])
        pm.MvStudentT("y", nu=nu, mu=np.zeros(2), scale=s**2 * corr, observed=np.zeros((3, 2)))
        # a loose zero-sum constraint: the default's 1/(sN)² = 6e4 would swamp the differences
        phi = pm.ICAR("phi", W=w, sigma=s, zero_sum_stdev=0.5)
        pm.CAR("z", mu=phi, W=w, alpha=alpha, tau=1 / s, observed=rng.normal(size=(2, 4)))
    point = {
        "nu_log__": np.log(4.0),
        "s_log__": np.log(1.3),
        "alpha_interval__": 0.3,
        "phi": np.array([0.2, -0.1, 0.3, -0.4]),
    }
    mg = model_graph(model, {k: np.shape(v) for k, v in point.items()})
    theta = np.concatenate([np.ravel(point[name]) for name in mg.layout.names])
    metric = expected_information_graph(mg, include_prior=True)
    weights = rng.normal(size=(theta.size, theta.size))
    objective = pt.sum(metric * weights)
    fn = pytensor.function([mg.theta], [objective, pytensor.grad(objective, mg.theta)], mode=MODE)
    _, grad = fn(theta)
    eps = 1e-6
    fd = [(fn(theta + eps * e)[0] - fn(theta - eps * e)[0]) / (2 * eps) for e in np.eye(theta.size)]
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("shape", "n_axes", "x0"),
    [((2, 4), 1, (0.7, 1.6)), ((3, 4), 2, (0.7,))],
    ids=["rows", "two_axes"],
)
def test_zero_sum_normal_under_the_zero_sum_transform_against_monte_carlo(
    shape: tuple, n_axes: int, x0: tuple
) -> None:
    """Coordinates ``(y (6), σ)``, ``y`` PyMC's zero-sum value (log-Jacobian zero) of draws of
    PyMC's own: a σ per row of a (2, 4) value (a batch of 2, one zero-sum axis), or one σ for a
    (3, 4) value summing to zero along both axes."""
    from pymc.distributions.transforms import ZeroSumTransform

    m = 40_000
    transform = ZeroSumTransform(tuple(range(-n_axes, 0)))
    batch, support = shape[: len(shape) - n_axes], shape[len(shape) - n_axes :]
    y_shape = (*batch, *(n - 1 for n in support))
    sigma_shape = (*batch, *([1] * n_axes))  # one σ per batch element
    k, n_sigma = int(np.prod(y_shape)), len(x0)
    dims = k + n_sigma
    v = pt.vector("v", dtype="float64")
    rv = pm.ZeroSumNormal.dist(sigma=v[k:].reshape(sigma_shape), shape=shape, n_zerosum_axes=n_axes)
    params = rv.owner.op.dist_params(rv.owner)
    general = pullback_for(rv.owner.op)
    assert general is not None

    def tangents_fn(graphs):
        return tangents(graphs, v, dims)

    free = general(params, v[:k].reshape(y_shape), "ZeroSumTransform", tangents_fn, dims, batch)
    observed = general(params, None, None, tangents_fn, dims, batch)
    vm = pt.matrix("vm", dtype="float64")
    y_m = vm[:, :k].reshape((m, *y_shape))
    at_m = pm.ZeroSumNormal.dist(
        sigma=vm[:, k:].reshape((m, *sigma_shape)), shape=(m, *shape), n_zerosum_axes=n_axes
    )
    logp = pm.logp(at_m, transform.backward(y_m)) + transform.log_jac_det(y_m)
    score, hess = _scores_and_hessians(logp.reshape((m, -1)).sum(axis=1), [vm], dims)
    fn = pytensor.function([v, vm], [free, observed, score, hess], mode=MODE)

    sigma = np.asarray(x0).reshape(sigma_shape)
    draw = pm.ZeroSumNormal.dist(sigma=sigma[None], shape=(m, *shape), n_zerosum_axes=n_axes)
    x = pm.draw(draw, random_seed=20261122, mode=MODE)
    y = transform.forward(pt.as_tensor(x)).eval(mode=MODE)
    back = transform.backward(pt.as_tensor(y)).eval(mode=MODE)
    np.testing.assert_allclose(back, x, atol=1e-12)
    y = y.reshape((m, k))
    free_info, obs_info, s, h = fn(np.r_[y[0], x0], np.column_stack([y, np.tile(x0, (m, 1))]))
    entries = int(np.prod([n - 1 for n in support]))  # y entries per batch element
    per_entry = np.broadcast_to(sigma, y_shape).ravel()
    expect = np.diag(np.r_[1 / per_entry**2, 2 * entries / np.asarray(x0) ** 2])
    np.testing.assert_allclose(free_info, expect, rtol=1e-12)
    np.testing.assert_allclose(obs_info[:k], 0.0)
    np.testing.assert_allclose(obs_info[k:, k:], free_info[k:, k:], rtol=1e-12)
    for form, info, sc, he in [
        ("free", free_info, s, h),
        ("observed", obs_info[k:, k:], s[:, k:], h[:, k:, k:]),
    ]:
        assert_mc_mean(sc, np.zeros(sc.shape[1]), f"ZeroSumNormal {form}: E[s]")
        assert_mc_mean(sc[:, :, None] * sc[:, None, :], info, f"ZeroSumNormal {form}: E[s sᵀ]")
        assert_mc_mean(-he, info, f"ZeroSumNormal {form}: E[−∇²]")
