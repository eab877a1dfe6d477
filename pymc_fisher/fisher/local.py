"""The local rule: a smooth positive semi-definite curvature where no expectation is available.

For a term of the joint density that has neither a closed form nor a quadrature rule (a
``pm.Potential``, which is not a density and has nothing to take an expectation over, or a
factor whose distribution is multivariate and unregistered: LKJCholeskyCov, continuous
mixtures, ...; or univariate without a closed form or a quantile function: ExGaussian), the
information of the term is

``G = V f(Λ) Vᵀ``,  ``f(λ) = λ coth(αλ) − 1/α``,  ``V Λ Vᵀ = −∇²θ log p_term``,

the SoftAbs map (Betancourt 2013, arXiv:1212.4693) of the term's negative Hessian at the current
point, shifted so that a zero eigenvalue maps to zero (the term adds nothing along coordinates it
does not touch). ``f`` is smooth, even, and ``≥ 0``, so ``G`` is positive semi-definite; it is
``|λ|`` to within ``1/α`` for ``|λ| ≫ 1/α`` (α = 1e3, the sampler's SoftAbs default). It is a
function of the point, not an expectation over the term's values: for a free factor it is the
curvature of ``log p(value | parents)`` where the value is, which the Hamiltonian then balances.

The gradient (the sampler differentiates the metric) is the Daleckii-Krein formula
``∂⟨G, C⟩/∂H = V (F ⊙ Vᵀ C̄ V) Vᵀ`` with ``F_ij = (f(λ_i) − f(λ_j))/(λ_i − λ_j)`` and ``f′`` on
the diagonal and for (nearly) repeated eigenvalues, so it stays finite where the eigenvector
derivatives of ``eigh`` do not (repeated eigenvalues are common: symmetric initial points).
"""

from __future__ import annotations

from typing import Any, cast

import pytensor.tensor as pt
from pytensor.compile.builders import OpFromGraph
from pytensor.tensor.variable import TensorVariable

__all__ = ["LOCAL_SOFTABS_ALPHA", "local_information", "smooth_abs"]

LOCAL_SOFTABS_ALPHA = 1e3
_SERIES_BELOW = 1e-3  # |αλ| below which f and f′ use their Taylor series (error < 1e-16 relative)
_REPEATED = 1e-9  # relative gap below which two eigenvalues count as equal in F


def _f(lam: TensorVariable) -> TensorVariable:
    """``λ coth(αλ) − 1/α`` (series ``(x²/3 − x⁴/45)/α`` near 0, ``x = αλ``)."""
    x = LOCAL_SOFTABS_ALPHA * lam
    small = pt.abs(x) < _SERIES_BELOW
    safe = pt.switch(small, 1.0, x)
    series = (x**2 / 3 - x**4 / 45) / LOCAL_SOFTABS_ALPHA
    return pt.switch(small, series, (safe / pt.tanh(safe) - 1) / LOCAL_SOFTABS_ALPHA)


def _f_prime(lam: TensorVariable) -> TensorVariable:
    """``coth(x) − x / sinh²(x)`` (series ``2x/3 − 4x³/45`` near 0)."""
    x = LOCAL_SOFTABS_ALPHA * lam
    small = pt.abs(x) < _SERIES_BELOW
    safe = pt.switch(small, 1.0, x)
    return pt.switch(
        small, 2 * x / 3 - 4 * x**3 / 45, 1 / pt.tanh(safe) - safe / pt.sinh(safe) ** 2
    )


def _divided_differences(lam: TensorVariable) -> TensorVariable:
    fl = _f(lam)
    gap = lam[:, None] - lam[None, :]
    scale = 1 + pt.maximum(pt.abs(lam[:, None]), pt.abs(lam[None, :]))
    close = pt.abs(gap) < _REPEATED * scale
    mean_slope = _f_prime((lam[:, None] + lam[None, :]) / 2)
    return pt.switch(close, mean_slope, (fl[:, None] - fl[None, :]) / pt.switch(close, 1.0, gap))


def _build() -> OpFromGraph:
    h = pt.matrix("h", dtype="float64")
    lam, vec = cast(Any, pt.linalg.eigh(h))
    out = (vec * _f(lam)[None, :]) @ vec.T

    def lop(inputs: Any, outputs: Any, output_grads: Any) -> list:
        (a,) = inputs
        (c,) = output_grads
        w, v = cast(Any, pt.linalg.eigh(a))
        sym = (c + c.T) / 2
        return [v @ (_divided_differences(w) * (v.T @ sym @ v)) @ v.T]

    return OpFromGraph([h], [out], pullback=lop, name="SmoothAbs")


_SMOOTH_ABS: OpFromGraph | None = None


def smooth_abs(h: TensorVariable) -> TensorVariable:
    """``V f(Λ) Vᵀ`` of a symmetric matrix graph (module docstring), with its gradient."""
    global _SMOOTH_ABS
    if _SMOOTH_ABS is None:
        _SMOOTH_ABS = _build()
    return _SMOOTH_ABS(h)  # type: ignore[return-value]


def local_information(term: TensorVariable, theta: TensorVariable, size: int) -> TensorVariable:
    """The local rule for one term: ``smooth_abs(−∇²θ Σ term)`` (module docstring).

    The Hessian is built row by row (``size`` reverse passes of the gradient): PyTensor 3.3's
    vectorised Jacobian fails at run time on some of these graphs (an AsymmetricLaplace next to
    another variable: "total size of new array must be unchanged"), and this is the fallback
    rule, so it takes the plain construction that always compiles.
    """
    gradient: Any = pt.grad(pt.sum(term), theta)
    rows: list[Any] = [pt.grad(gradient[i], theta) for i in range(size)]
    hessian = pt.stack(rows) if rows else pt.zeros((0, 0), dtype="float64")
    return smooth_abs(-(hessian + hessian.T) / 2)
