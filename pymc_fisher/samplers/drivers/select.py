"""Which kernel runs a model: the compiled one where it agrees with the reference.

:func:`make_kernel` builds the NumPy reference kernel and, unless told otherwise, the compiled
one; it self-tests the compiled kernel against the reference on one leapfrog step and says why
in a :class:`~..core.kernel.KernelFallbackWarning` when it falls back.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np

from pymc_fisher.samplers.compiled.binding import NoKernelError
from pymc_fisher.samplers.compiled.kernel import compiled_kernel
from pymc_fisher.samplers.core.kernel import Kernel, KernelFallbackWarning
from pymc_fisher.samplers.core.options import SolverOptions
from pymc_fisher.samplers.core.types import BlockSplit
from pymc_fisher.samplers.drivers.model import object_mode_ops, reference_system
from pymc_fisher.samplers.metric.operations import Metric
from pymc_fisher.samplers.reference.blockwise import blockwise_kernel
from pymc_fisher.samplers.reference.kernel import reference_kernel

__all__ = ["make_kernel"]


#: Where the self-test looks for a step both kernels take: the start, then points jittered by
#: U(-1, 1) about it (as chains start), each with shorter steps where a solve did not converge.
SELF_TEST_POINTS = 5
SELF_TEST_STEP_SIZES = (1e-2, 1e-3, 1e-4)

#: What :func:`_agrees` says when no step converged in either kernel at any of its points.
NOT_COMPARED = "no step to compare"


def _agrees(a: Kernel, b: Kernel, theta: np.ndarray, options: SolverOptions) -> str | None:
    """``None`` when a converged leapfrog step ends alike in both kernels, else why not.

    The comparison is never vacuous: it needs one step that both kernels evaluate, take and
    converge (``"none"``), from ``theta`` or from a point jittered about it, with the step size
    shortened when a solve does not converge. Two kernels that agree only on failing are not
    known to agree: that is :data:`NOT_COMPARED` (a start where nothing converges is one the
    sampler refuses with a typed error anyway).
    """
    rng = np.random.default_rng(0)
    for k in range(SELF_TEST_POINTS):
        at = theta if k == 0 else theta + rng.uniform(-1.0, 1.0, theta.size)
        points = [kernel.evaluate(at) for kernel in (a, b)]
        kinds = ["ok" if not isinstance(p, str) else p for p in points]
        if kinds[0] != kinds[1]:
            return f"a test point evaluates as {kinds[0]} vs {kinds[1]}"
        if kinds[0] != "ok":
            continue
        p0 = points[1].metric.sqrt @ np.linspace(-1.0, 1.0, theta.size)  # type: ignore[union-attr]
        for step_size in SELF_TEST_STEP_SIZES:
            starts = [kernel.start(p, p0) for kernel, p in zip((a, b), points, strict=True)]  # type: ignore[arg-type]
            (sa, ra), (sb, rb) = (
                kernel.leapfrog(s, step_size, options)
                for kernel, s in zip((a, b), starts, strict=True)
            )
            if ra.divergence != rb.divergence:
                return f"a test step ends {ra.divergence!r} vs {rb.divergence!r}"
            if ra.divergence != "none":
                continue
            scale = 1.0 + float(np.abs(sb.position.theta).max()) + float(np.abs(sb.momentum).max())
            gap = max(
                float(np.abs(sa.position.theta - sb.position.theta).max()),
                float(np.abs(sa.momentum - sb.momentum).max()),
            )
            return None if gap <= 1e-8 * scale else f"a test step differs by {gap:.3g}"
    return NOT_COMPARED


def make_kernel(
    compiled: Any,
    metric: Metric,
    theta: np.ndarray,
    *,
    prefer: Literal["compiled", "reference"],
    split: BlockSplit | None = None,
) -> Kernel:
    """The compiled kernel where it runs the model as the reference does, else the reference.

    A fallback says why in a :class:`KernelFallbackWarning`: the model's functions have no Numba
    body the kernel can call (the ops Numba runs in object mode are named), or one leapfrog step
    of the two kernels from ``theta`` disagrees.

    Parameters
    ----------
    compiled
        The model's functions (:func:`~.drivers.model.compile_model`).
    metric
        The metric bundle.
    theta
        A point where the two kernels are compared (one leapfrog step).
    prefer
        ``"reference"`` builds the reference only.
    split
        The blocks of a semi-separable metric: the blockwise leapfrog
        (:mod:`~.reference.blockwise`), which has no compiled twin yet, so the reference runs it
        whatever ``prefer`` says.
    """
    if split is not None:
        return blockwise_kernel(reference_system(compiled, metric), split)
    reference = reference_kernel(reference_system(compiled, metric))
    if prefer == "reference":
        return reference
    try:
        fast = compiled_kernel(compiled, metric)
    except NoKernelError as exc:
        ops = object_mode_ops(compiled)
        named = f" (ops without a Numba implementation: {', '.join(ops)})" if ops else ""
        warnings.warn(
            f"RMHMC runs the NumPy reference integrator, several times slower: {exc}{named}.",
            KernelFallbackWarning,
            stacklevel=3,
        )
        return reference
    why = _agrees(fast, reference, np.asarray(theta, dtype=np.float64), SolverOptions(tol=1e-12))
    if why == NOT_COMPARED:
        # every point tried fails in both kernels alike: the caller's check of the start
        # raises its typed error (nothing was compared: the compiled kernel is kept untested)
        return fast
    if why is not None:
        warnings.warn(
            f"RMHMC's compiled kernel disagrees with the NumPy reference on this model ({why}); "
            "the reference runs instead. Please report this with your Numba and PyTensor "
            "versions.",
            KernelFallbackWarning,
            stacklevel=3,
        )
        return reference
    return fast
