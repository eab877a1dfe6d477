"""Deterministic expected information of any univariate continuous factor: quantile quadrature.

The rule, for a factor ``p(z | ψ)`` with scalar support, elementwise over its batch, whose
distribution has no closed form in the registry but has a quantile function ``F⁻¹`` in PyMC:

``I_ab = E[s_a s_b] = ∫ s_a s_b(F⁻¹(Φ(x); ψ), ψ) φ(x) dx ≈ Σ_k w_k s_a s_b(z_k, ψ)``,

where ``s`` is the score of the log-density of the factor's coordinate (the free value in its
default transform's coordinate, log-Jacobian included; or the data of an observed factor) with
respect to that coordinate and every parameter that depends on θ, ``x_k, w_k`` are Gauss-Legendre
nodes on ``[−L, L]`` with weights ``φ(x_k)`` times the rule's weights, normalised to sum to one,
and ``z_k = F⁻¹(Φ(x_k); ψ)``. The substitution ``u = Φ(x)`` turns the quantile map's endpoint
behaviour into a smooth integrand decaying like ``φ(x)``; the mass beyond ``|x| = L = 6.5`` is
8e-11. Every term is a weighted outer product, so ``I`` is positive semi-definite for any ψ.

Accuracy: against every closed form with a quantile function the rule agrees to 1e-6 relative
(``tests/fisher/test_quadrature.py``, StudentT down to ν = 1.2 and Cauchy included). It assumes
a score smooth in the quantile: at a kink (Laplace's, AsymmetricLaplace's or Triangular's mode)
it converges slowly, 0.5% off Laplace's I_bb and 1% to 10% off Triangular's, which is why
both have a closed form.

Uniform, in the sampler's coordinates. A free Uniform(a, b) value is held as
``y = logit((z − a)/(b − a))``; with the log-Jacobian the density of ``y`` is the standard
logistic ``σ(y)(1 − σ(y))`` whatever ``a`` and ``b`` are (fixed or graphs of other parameters).
So the factor's information is ``I_yy = E[2σ(y)(1 − σ(y))] = 1/3`` and nothing on the bounds;
the bounds reach the metric only through the factors downstream of ``z = a + (b − a)σ(y)``.
The rule above returns exactly that (the score in ``a, b`` is identically zero), as does
Uniform's closed form (``bounded.py``).

Derivative. PyTensor has no gradient of ``betaincinv``/``gammaincinv`` (StudentT, Gamma, Beta
quantiles) with respect to their shape parameters, so the nodes are placed at the parameters'
values with the gradient stopped, and each term carries the likelihood ratio
``exp(ℓ(z_k; ψ) − ℓ(z_k; ψ̄))`` (equal to one in value): the gradient of the sum is then
``Σ_k w_k (∂_ψ(s_a s_b) + s_a s_b s)``, the quadrature of the exact derivative of the integral
``∂_ψ ∫ s_a s_b p dz``. It differs from the derivative of the quadrature's value only by how the
quadrature error moves with the nodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytensor.tensor as pt
from pymc.logprob.abstract import _icdf, _logprob
from pymc.logprob.utils import CheckParameterValue
from pytensor.gradient import disconnected_grad
from pytensor.graph.replace import graph_replace, vectorize_graph
from pytensor.graph.traversal import ancestors
from pytensor.tensor.type_other import NoneConst
from pytensor.tensor.variable import TensorVariable

from pymc_fisher.errors import NoClosedFormError
from pymc_fisher.fisher.registry import Information

__all__ = ["QUADRATURE_NODES", "has_quantile", "quadrature_information"]

QUADRATURE_NODES = 64
_HALF_WIDTH = 6.5


def _nodes() -> tuple[np.ndarray, np.ndarray]:
    """``Φ(x_k)`` and normalised weights of the rule (module docstring)."""
    from scipy import special

    x, w = np.polynomial.legendre.leggauss(QUADRATURE_NODES)
    x = _HALF_WIDTH * x
    w = w * np.exp(-(x**2) / 2)
    return special.ndtr(x), w / w.sum()


_U, _W = _nodes()


def has_quantile(op: object) -> bool:
    """Whether PyMC registers a quantile function (``icdf``) for ``op``'s distribution."""
    return type(op) in _icdf.registry or any(t in _icdf.registry for t in type(op).__mro__[1:2])


def _size_index(node: Any) -> int | None:
    """Index of the ``size`` input of a random-variable node (``None`` if it has none)."""
    op = node.op
    from pytensor.tensor.random.op import RandomVariable

    if isinstance(op, RandomVariable):
        return 1
    size_idx = getattr(op, "size_param", None)
    if callable(size_idx):
        size = size_idx(node)
        return None if size is None else list(node.inputs).index(size)
    return None


def quadrature_information(
    node: Any,
    params: tuple[TensorVariable, ...],
    value: TensorVariable | None,
    transform: Any,
    live: Sequence[bool],
) -> Information:
    """The quantile-quadrature information of one univariate factor (module docstring).

    Parameters
    ----------
    node
        The random variable's node in the model.
    params
        ``op.dist_params(node)`` as graphs of θ (in that order).
    value
        The free value as θ holds it (``None`` for an observed factor).
    transform
        The value's transform (``None``: identity, or observed).
    live
        Whether each parameter depends on θ (only those get a coordinate).

    Returns
    -------
    Information
        Over the coordinates ``(value, *live params)``, elementwise over the batch.

    Raises
    ------
    NoClosedFormError
        If the distribution has no quantile function or is not univariate.
    """
    op = node.op
    if getattr(op, "ndim_supp", None) != 0 or not has_quantile(op):
        raise NoClosedFormError(
            f"no closed form and no quantile function (icdf) for {type(op).__name__}, so no "
            "deterministic quadrature either"
        )
    if transform is not None and getattr(transform, "ndim_supp", 0) != 0:
        raise NoClosedFormError(
            f"no deterministic rule for a {type(op).__name__} value held in the "
            f"{type(transform).__name__} coordinate, which is not elementwise"
        )
    dist_params = list(op.dist_params(node))
    index = [list(node.inputs).index(p) for p in dist_params]
    live_index = [
        i
        for i, (p, is_live) in enumerate(zip(params, live, strict=True))
        if is_live and str(getattr(p.type, "dtype", "")).startswith("float")
    ]
    # scalar stand-ins for the parameters: the rule is elementwise, vectorised over the batch
    scalars = [pt.scalar(f"p{i}", dtype="float64") for i in range(len(dist_params))]
    inputs = list(node.inputs)
    stopped = list(node.inputs)
    for i, k in enumerate(index):
        inputs[k] = scalars[i]
        stopped[k] = disconnected_grad(scalars[i])
    size_idx = _size_index(node)
    if size_idx is not None:
        inputs[size_idx] = NoneConst
        stopped[size_idx] = NoneConst
    u = pt.scalar("u", dtype="float64")
    z = _quantile(op, u, stopped)
    coord = pt.scalar("coordinate", dtype="float64")
    if value is None:
        transform = None
    if transform is not None:
        y = pt.as_tensor(transform.forward(z, *stopped))
        logp = _logprob(op, [transform.backward(coord, *inputs)], *inputs) + transform.log_jac_det(
            coord, *inputs
        )
    else:
        y = z
        logp = _logprob(op, [coord], *inputs)
    logp = pt.as_tensor(logp).astype("float64")
    wrt = ([coord] if value is not None else []) + [scalars[i] for i in live_index]
    scores: Any = pt.grad(logp, wrt)
    # likelihood ratio: one in value, the score in its derivative (module docstring)
    ratio = pt.exp(logp - disconnected_grad(logp))
    # A quantile function may underflow in the far tail (HalfStudentT's gives 0 below u ≈ 1e-12,
    # whose log is −∞): such a node is moved to a harmless point and its weight dropped. The
    # node is disconnected from the gradient, so its non-finite value cannot leak into it.
    finite = pt.isfinite(y)
    mask = pt.cast(finite, "float64")
    entries = [[mask * ratio * a * b for b in scores] for a in scores]
    flat = [e for row in entries for e in row]
    safe = pt.switch(finite, y, disconnected_grad(_safe_point(op, stopped, transform)))
    replace: dict[Any, Any] = {coord: safe}
    at_node = graph_replace(flat, replace, strict=False)
    return _vectorise(at_node, u, scalars, params, wrt, value, live_index)


def _quantile(op: Any, u: TensorVariable, inputs: list) -> TensorVariable:
    """PyMC's quantile graph, NaN where its parameters are invalid instead of raising.

    PyMC guards a quantile's parameters with checks that raise ``ParameterValueError`` and that
    its samplers' compilation cannot turn into ``−∞`` (a quantile is not a log-density). Inside
    a metric that would end ``pm.sample`` at the first out-of-support point of a trajectory
    (GARCH's ``beta1 ~ Uniform(0, 1 − alpha1)`` once ``alpha1`` rounds to 1, where the
    log-density is ``−∞`` and the point is a divergence), so each check becomes a NaN: the
    nodes drop out (their weight is masked) and the log-density decides.
    """
    z = pt.as_tensor(_icdf(op, u, *inputs))
    while True:
        checks = [
            v
            for v in ancestors([z])
            if v.owner is not None
            and isinstance(v.owner.op, CheckParameterValue)
            and not v.owner.op.can_be_replaced_by_ninf
        ]
        if not checks:
            return z
        expr, *conditions = checks[0].owner.inputs
        valid = pt.all(pt.stack([pt.all(c) for c in conditions])) if conditions else True
        nan = pt.constant(np.nan, dtype=expr.type.dtype)
        z = pt.as_tensor(graph_replace(z, {checks[0]: pt.switch(valid, expr, nan)}, strict=False))


def _safe_point(op: Any, inputs: list, transform: Any) -> TensorVariable:
    """The median in the factor's coordinate: a point where the density is positive."""
    median = _quantile(op, pt.constant(0.5, dtype="float64"), inputs)
    return pt.as_tensor(median if transform is None else transform.forward(median, *inputs))


def _vectorise(flat, u, scalars, params, wrt, value, live) -> Information:
    batch_ndim = max(p.type.ndim for p in params)
    if value is not None:
        batch_ndim = max(batch_ndim, value.type.ndim)
    nodes = pt.as_tensor(_U.reshape((-1,) + (1,) * batch_ndim))
    weights = pt.as_tensor(_W.reshape((-1,) + (1,) * batch_ndim))
    replace: dict[Any, Any] = {u: nodes}
    for s, p in zip(scalars, params, strict=True):
        p = pt.as_tensor(p).astype("float64")
        replace[s] = pt.shape_padleft(p, 1 + batch_ndim - p.type.ndim)
    batched = vectorize_graph(flat, replace)
    k = len(wrt)
    summed = [pt.sum(weights * b, axis=0) for b in batched]
    matrix: list[list[Any]] = [[summed[a * k + b] for b in range(k)] for a in range(k)]
    coords = ([value] if value is not None else []) + [params[i] for i in live]
    return Information(tuple(coords), matrix)
