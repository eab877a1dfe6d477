"""``stein_discrepancy``: the kernel Stein discrepancy of posterior draws against the model."""

from __future__ import annotations

from typing import Any

import numpy as np
import pymc as pm
import xarray as xr

from pymc_fisher.stein.draws import unconstrained_draws
from pymc_fisher.stein.kernel import kernel_sums
from pymc_fisher.stein.preconditioner import Preconditioner, resolve_metric
from pymc_fisher.stein.whitening import whiten

__all__ = ["MAX_DRAWS", "stein_discrepancy"]

#: Default cap on the draws in the ``O(n²)`` double sum: ``pm.sample``'s default output
#: (4 chains × 1000 draws) whole; about 0.2 s for ``d = 25`` on two cores
#: (``benchmarks/bench_stein.py``). Above it, each chain is thinned evenly.
MAX_DRAWS = 4000


def stein_discrepancy(
    model: pm.Model | None = None,
    idata: xr.DataTree | None = None,
    *,
    preconditioner: Preconditioner = "information",
    max_draws: int | None = MAX_DRAWS,
    c: float = 1.0,
    beta: float = -0.5,
) -> xr.DataArray:
    r"""Compute the IMQ kernel Stein discrepancy of posterior draws, with the model's score.

    The discrepancy measures how far the draws are from the model's posterior using only the
    posterior's score ``∇ log p`` (no normalising constant, no reference draws): zero in the
    limit if and only if the draws converge to the posterior (for distantly dissipative
    targets with a Lipschitz score; Gorham & Mackey 2017). It sees bias and poor mixing alike.

    Parameters
    ----------
    model
        The model the draws are of (default: the one in context).
    idata
        A ``DataTree`` whose ``posterior`` group holds draws of every free variable, dims
        ``(chain, draw, ...)``, as ``pm.sample`` returns. Required (its default only lets the
        model come first, from the context).
    preconditioner
        The metric ``Γ`` (see Notes): ``"information"`` (default: the observed information
        at the posterior mode, falling back to ``"scores"`` with a warning where there is no
        mode), ``"scores"`` (mean score outer product), ``"covariance"`` (inverse sample
        covariance), ``"identity"``, or a ``(d, d)`` matrix of the unconstrained parameters
        (a NumPy array in θ's order, or a ``DataArray`` labelled ``rows``/``columns``). Fix one
        matrix to compare runs of one model.
    max_draws
        Use at most this many draws (default :data:`MAX_DRAWS` = 4000), thinning each chain
        evenly above it (every ``k``-th draw); ``None`` uses all: the cost is ``O(n² d)``.
    c, beta
        The IMQ kernel ``(c² + ‖x − y‖²_Γ)^β``, ``c > 0``, ``−1 < β < 0``.

    Returns
    -------
    xarray.DataArray
        Scalar, named ``ksd``: the V-statistic ``√(KSD²_V)`` of the pooled draws, in the whitened
        (posterior-sd) units of ``Γ``. ``attrs``: ``ksd2_v`` and ``ksd2_u`` (the unbiased
        U-statistic, which may be negative), ``floor`` (``Σᵢ k₀(xᵢ, xᵢ)/n²``, the expected
        ``KSD²_V`` of as many exact independent draws; ``2d/n`` for a Gaussian posterior with
        ``Γ`` its precision), ``ratio`` (``ksd2_v / floor``: about 1 for exact independent
        draws, larger for bias or autocorrelation), ``n_draws``, ``n_draws_total``,
        ``thinning_stride``, ``dimension``, ``kernel``, ``c``, ``beta``, ``preconditioner``,
        ``preconditioner_source``, ``space`` and ``jacobian``.

    Raises
    ------
    TypeError
        If ``idata`` is not a ``DataTree``.
    MissingGroupError
        If ``idata`` has no ``posterior`` group.
    DrawsMismatchError
        If a free variable has no draws, or draws of another shape.
    DiscreteVariableError
        If the model has a discrete free variable (no score exists).
    NonFiniteLogDensityError
        If the log-density is not finite at a draw.
    NotPositiveDefiniteError
        If the metric is not positive definite.

    Warns
    -----
    PreconditionerFallbackWarning
        ``preconditioner="information"`` found no usable mode and used ``"scores"``.

    Notes
    -----
    Draws are mapped to the unconstrained space θ (``sigma_log__``) and scored with the
    Jacobian-adjusted log-density ``log p̃(θ)``, the density the unconstrained draws follow.
    With ``Γ = Uᵀ U``, the draws are whitened, ``z = U θ`` and ``s_z = U⁻ᵀ ∇ log p̃``, and

    .. math::

        \mathrm{KSD}^2_V = \frac{1}{n^2} \sum_{i,j} k_0(z_i, z_j),\quad
        k_0 = \nabla_z\!\cdot\!\nabla_{z'} k + \nabla_z k\cdot s_{z'} + \nabla_{z'} k\cdot s_z
              + k\, s_z\!\cdot s_{z'},\quad k = (c^2 + \lVert z - z'\rVert^2)^\beta.

    This is the Langevin Stein operator with the constant diffusion matrix ``Γ⁻¹`` (Gorham et
    al. 2019): the kernel measures distances in the metric ``Γ`` and the score products in
    ``Γ⁻¹``. It is **affine invariant**: reparametrising ``θ ↦ Aθ + b`` (with ``Γ`` transformed
    as the information is) leaves it unchanged, and for exact independent draws from a
    Gaussian posterior with ``Γ`` its precision, ``E[KSD²_V] = 2d/n`` whatever the
    posterior's scales and correlations. The ``stein-thinning`` package's preconditioner
    enters the kernel alone; the two coincide for ``Γ = I`` and differ by the factor ``λ``
    for ``Γ = λI``.

    What it does not see: the **weights of well-separated modes** (draws all in one of two
    distant modes have a discrepancy as small as correct draws; Wenliang & Kanagawa 2020),
    so pair it with multi-chain R-hat. Values compare runs of one model in one
    parametrisation with one fixed ``Γ``, not across models. Autocorrelation raises it as bias
    does (compare ``ratio`` at equal effective sample size).

    References
    ----------
    Gorham, J. & Mackey, L. (2017). Measuring sample quality with kernels. ICML.
    Gorham, J., Duncan, A., Vollmer, S. & Mackey, L. (2019). Measuring sample quality with
    diffusions. Ann. Appl. Probab. 29(5).
    Riabiz, M. et al. (2022). Optimal thinning of MCMC output. JRSS B 84(4).

    Examples
    --------
    Exact draws of a standard normal: ``KSD²_V`` is of the order of its floor ``2d/n``.

    >>> import numpy as np, pymc as pm, xarray as xr
    >>> import pymc_fisher as pmf
    >>> with pm.Model() as model:
    ...     x = pm.Normal("x", shape=2)
    >>> draws = np.random.default_rng(0).normal(size=(2, 500, 2))
    >>> idata = xr.DataTree.from_dict(
    ...     {"posterior": xr.Dataset({"x": (("chain", "draw", "x_dim_0"), draws)})})
    >>> ksd = pmf.stein_discrepancy(model, idata)
    >>> ksd.attrs["n_draws"], round(ksd.attrs["floor"], 4), round(ksd.attrs["ksd2_v"], 4)
    (1000, 0.004, 0.0025)
    """
    model = pm.modelcontext(model)
    draws = unconstrained_draws(model, idata, max_draws=max_draws, who="stein_discrepancy")
    metric = resolve_metric(
        preconditioner, draws.theta, draws.scores, draws.logp, draws.labels, draws.model
    )
    white = whiten(draws.theta, draws.scores, metric.matrix)
    sums = kernel_sums(white.points, white.scores, c=c, beta=beta)
    posterior: Any = idata["posterior"]  # type: ignore[index]
    n_total = int(posterior.sizes["chain"] * posterior.sizes["draw"])
    floor = sums.trace / sums.n**2
    attrs = {
        "ksd2_v": sums.v_statistic,
        "ksd2_u": sums.u_statistic,
        "floor": floor,
        "ratio": sums.v_statistic / floor if floor > 0 else np.nan,
        "n_draws": sums.n,
        "n_draws_total": n_total,
        "thinning_stride": draws.layout.stride,
        "dimension": int(draws.theta.shape[1]),
        "kernel": "imq",
        "c": float(c),
        "beta": float(beta),
        "preconditioner": preconditioner if isinstance(preconditioner, str) else "matrix",
        "preconditioner_source": metric.source,
        "space": "unconstrained",
        "jacobian": 1,
    }
    return xr.DataArray(np.sqrt(sums.v_statistic), name="ksd", attrs=attrs)
