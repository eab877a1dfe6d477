"""The IMQ Stein kernel, its double sum and greedy thinning, against ``stein-thinning`` and
closed forms: the 2d/n expectation for exact draws, the mean-shift population KSD, affine
invariance of the whitened form, and the blindness to mode weights."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats
from stein_thinning.kernel import make_precon, vfk0_imq
from stein_thinning.stein import ksd as st_ksd
from stein_thinning.thinning import thin as st_thin

from pymc_fisher.stein.kernel import greedy_thin, kernel_sums, stein_kernel_pairs
from pymc_fisher.stein.whitening import whiten

# z-score bound for the Monte Carlo checks: a two-sided normal false-alarm rate of 6e-5
Z = 4.0


def banana_sample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Draws of a banana, x2 | x1 ~ N(x1², 1), x1 ~ N(0, 1), perturbed, and its score."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x = np.column_stack([x1, x1**2 + rng.normal(size=n), rng.normal(size=n)]) * 1.1
    r = x[:, 1] - x[:, 0] ** 2
    s = np.column_stack([-x[:, 0] + 2 * x[:, 0] * r, -r, -x[:, 2]])
    return x, s


@pytest.mark.parametrize(("c", "beta"), [(1.0, -0.5), (1.0, -0.3), (2.0, -0.5)])
def test_kernel_values_are_stein_thinnings_with_the_identity_metric(c, beta):
    x, s = banana_sample(50, 0)
    y, t = x[::-1].copy(), s[::-1].copy()
    ours = stein_kernel_pairs(x, s, y, t, c=c, beta=beta)
    # stein_thinning writes c where we write c² (its q = c + ‖r‖²)
    theirs = vfk0_imq(x, y, s, t, np.eye(3), c=c**2, beta=beta)
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-14)


def test_the_package_test_value():
    # stein_thinning's own pinned value (tests/stein_thinning/test_kernel.py)
    value = stein_kernel_pairs(
        np.array([[1.0, 2, 3]]), np.array([[0.5, 0.75, 1.5]]),
        np.array([[2.0, 3, 4]]), np.array([[1.0, 1.5, 3]]),
    )  # fmt: skip
    assert value[0] == pytest.approx(3.5, rel=1e-15)


def test_whitened_kernel_is_the_diffusion_kernel_with_metric_gamma():
    # In the original coordinates, with Γ: q = c² + rᵀΓr and
    # k₀ = −4β(β−1) rᵀΓr q^(β−2) − 2β (d + (s−s')·r) q^(β−1) + sᵀΓ⁻¹s' q^β.
    x, s = banana_sample(40, 1)
    rng = np.random.default_rng(2)
    a = rng.normal(size=(3, 3))
    gamma = a @ a.T + 0.5 * np.eye(3)
    w = whiten(x, s, gamma)
    i, j = np.triu_indices(40, 1)
    ours = stein_kernel_pairs(w.points[i], w.scores[i], w.points[j], w.scores[j])
    r = x[i] - x[j]
    r2 = np.einsum("na,ab,nb->n", r, gamma, r)
    q = 1.0 + r2
    ss = np.einsum("na,ab,nb->n", s[i], np.linalg.inv(gamma), s[j])
    rs = np.sum((s[i] - s[j]) * r, axis=1)
    beta = -0.5
    direct = (
        -4 * beta * (beta - 1) * r2 * q ** (beta - 2)
        - 2 * beta * (3 + rs) * q ** (beta - 1)
        + ss * q**beta
    )
    np.testing.assert_allclose(ours, direct, rtol=1e-11)


def test_sums_are_the_kernel_matrix_sums():
    x, s = banana_sample(101, 3)  # odd n: the paired rows meet in the middle
    rows, cols = np.repeat(np.arange(101), 101), np.tile(np.arange(101), 101)
    k = vfk0_imq(x[rows], x[cols], s[rows], s[cols], np.eye(3)).reshape(101, 101)
    sums = kernel_sums(x, s)
    assert sums.total == pytest.approx(k.sum(), rel=1e-12)
    assert sums.trace == pytest.approx(np.trace(k), rel=1e-12)
    assert sums.u_statistic == pytest.approx((k.sum() - np.trace(k)) / (101 * 100), rel=1e-11)
    # stein_thinning's cumulative KSD, at its last point, is √V
    assert np.sqrt(sums.v_statistic) == pytest.approx(
        st_ksd(lambda a, b: vfk0_imq(x[a], x[b], s[a], s[b], np.eye(3)), 101)[-1], rel=1e-12
    )


def test_greedy_indices_and_path_are_stein_thinnings():
    x, s = banana_sample(400, 4)
    idx, path = greedy_thin(x, s, 40)
    np.testing.assert_array_equal(idx, st_thin(x, s, 40, standardize=False))
    sel = x[idx], s[idx]
    expected = st_ksd(
        lambda a, b: vfk0_imq(sel[0][a], sel[0][b], sel[1][a], sel[1][b], np.eye(3)), 40
    )
    np.testing.assert_allclose(path, expected, rtol=1e-12)


def test_an_isotropic_metric_scales_stein_thinnings_kernel_only_form():
    # Γ = λI: the diffusion form is stein_thinning's kernel-only form divided by λ, so the
    # greedy choice is the same and KSD² scales by 1/λ.
    x, s = banana_sample(300, 5)
    linv = make_precon(x, "med")
    lam = linv[0, 0]
    w = whiten(x, s, linv)
    idx, _ = greedy_thin(w.points, w.scores, 30)
    np.testing.assert_array_equal(idx, st_thin(x, s, 30, standardize=False, preconditioner="med"))
    theirs = vfk0_imq(x[:-1], x[1:], s[:-1], s[1:], linv)
    ours = stein_kernel_pairs(w.points[:-1], w.scores[:-1], w.points[1:], w.scores[1:])
    np.testing.assert_allclose(ours, theirs / lam, rtol=1e-11)


def test_exact_draws_expectation_is_2d_over_n():
    # X₁..Xₙ iid N(0, I_d), s = −x, c = 1, β = −½. Off the diagonal E k₀(X, Y) = 0 (Stein's
    # identity), on it k₀(x, x) = d + ‖x‖², so E[KSD²_V] = (d + d)/n = 2d/n. The kernel is
    # degenerate (E[k₀(x, Y)] = 0 for every x), so the diagonal and off-diagonal parts are
    # uncorrelated and Var(V) = Var(d + ‖X‖²)/n³ + ((n−1)/n)² · 2 E[k₀(X,Y)²]/(n(n−1)),
    # with Var(‖X‖²) = 2d and E[k₀(X,Y)²] estimated from 10⁵ independent pairs.
    n, d, reps = 200, 3, 200
    rng = np.random.default_rng(10)
    values = np.array([kernel_sums(x, -x).v_statistic for x in rng.normal(size=(reps, n, d))])
    a, b = rng.normal(size=(2, 100_000, d))
    second_moment = np.mean(stein_kernel_pairs(a, -a, b, -b) ** 2)
    var = 2 * d / n**3 + ((n - 1) / n) ** 2 * 2 * second_moment / (n * (n - 1))
    assert abs(values.mean() - 2 * d / n) < Z * np.sqrt(var / reps)


def mean_shift_ksd2(delta: np.ndarray, c: float = 1.0, beta: float = -0.5) -> float:
    """Population KSD² of N(δ, I) against N(0, I): ‖δ‖² E[(c² + ‖W‖²)^β], W ~ N(0, 2I).

    With X = δ + U, Y = δ + V: r = W = U − V, s_x − s_y = −W, and U + V is independent of W
    with E[U·V | W] = (2d − ‖W‖²)/4; the terms without δ integrate to 0 (Stein's identity
    at δ = 0), which leaves ‖δ‖² E[q^β]. ‖W‖² = 2T with T ~ χ²_d: one-dimensional quadrature.
    """
    d = delta.size
    value, _ = integrate.quad(
        lambda t: (c**2 + 2 * t) ** beta * stats.chi2.pdf(t, d), 0, np.inf, epsabs=1e-13
    )
    return float(delta @ delta) * value


def test_mean_shift_closed_form():
    delta = np.array([0.5, 0.0])
    expected = mean_shift_ksd2(delta)
    assert expected == pytest.approx(0.1364, abs=1e-4)  # the research note's quadrature
    # The U-statistic is unbiased for the population KSD²; its replicates are independent.
    n, reps = 300, 60
    rng = np.random.default_rng(11)
    samples = delta + rng.normal(size=(reps, n, 2))
    u = np.array([kernel_sums(x, -x).u_statistic for x in samples])
    assert abs(u.mean() - expected) < Z * u.std(ddof=1) / np.sqrt(reps)


def test_affine_invariance_of_the_whitened_form():
    # x ↦ A x + b, s ↦ A⁻ᵀ s, Γ ↦ A⁻ᵀ Γ A⁻¹: the whitened points move by an orthogonal map.
    x, s = banana_sample(200, 6)
    rng = np.random.default_rng(7)
    a = rng.normal(size=(3, 3)) + 2 * np.eye(3)
    b = rng.normal(size=3)
    m = rng.normal(size=(3, 3))
    gamma = m @ m.T + np.eye(3)
    a_inv = np.linalg.inv(a)
    before = kernel_sums(*whiten(x, s, gamma))
    after = kernel_sums(*whiten(x @ a.T + b, s @ a_inv, a_inv.T @ gamma @ a_inv))
    assert after.total == pytest.approx(before.total, rel=1e-10)
    assert after.trace == pytest.approx(before.trace, rel=1e-10)
    # the identity metric is not invariant: the same map changes it by far more than rounding
    raw_after = kernel_sums(x @ a.T + b, s @ a_inv)
    assert abs(raw_after.total / kernel_sums(x, s).total - 1) > 0.1


def mixture_score(x: np.ndarray, means: tuple[float, float] = (-5.0, 5.0)) -> np.ndarray:
    """Score of ½N(−5, 1) + ½N(5, 1)."""
    logw = np.stack([-0.5 * (x - m) ** 2 for m in means])
    w = np.exp(logw - logw.max(0))
    w /= w.sum(0)
    return sum(wk * (m - x) for wk, m in zip(w, means, strict=True))


def test_blind_to_mode_weights():
    # Modes 10 sd apart: the mixture's score is each component's own where its draws lie, so
    # the population KSD² of any weighting of the two components is ~e⁻¹² (Stein's identity
    # holds per component); the U-statistic of draws with the wrong weights stays within its
    # null spread, sqrt(2 E[k₀²]/(n(n−1))) (the kernel is degenerate), estimated from the
    # draws' kernel matrix. The same draws with a sd 30% too large are far outside it.
    n = 1000
    rng = np.random.default_rng(12)

    def draws(share: float, sd: float = 1.0) -> np.ndarray:
        k = round(share * n)
        return np.concatenate([rng.normal(-5, sd, k), rng.normal(5, sd, n - k)])[:, None]

    def u_and_se(x: np.ndarray) -> tuple[float, float]:
        s = mixture_score(x)
        i, j = np.triu_indices(n, 1)
        k0 = stein_kernel_pairs(x[i], s[i], x[j], s[j])
        return kernel_sums(x, s).u_statistic, float(np.sqrt(2 * np.mean(k0**2) / (n * (n - 1))))

    for share in (0.5, 0.9, 1.0):
        u, se = u_and_se(draws(share))
        assert abs(u) < Z * se, share
    u, se = u_and_se(draws(0.5, sd=1.3))
    assert u > 10 * se
