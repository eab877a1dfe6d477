r"""Fisher–Rao distance and geodesics: the Fisher information as a Riemannian metric.

The geodesic acceleration comes from the information graph without forming Christoffel
symbols: the Euler–Lagrange equation of ``L = ½ vᵀ G(θ) v`` is
``G a = ½ ∇_θ(vᵀ G v) − (∂_v G) v``, i.e. ``a = −Γ[v, v]`` with
``Γᵏᵢⱼ = ½ gᵏˡ(∂ᵢ g_lj + ∂ⱼ g_li − ∂_l gᵢⱼ)``; ``(∂_v G)`` is one forward-mode pass and
``∇_θ(vᵀGv)`` one reverse pass, so no third-order tensor is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple, cast

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from pytensor.gradient import pushforward
from pytensor.tensor.variable import TensorVariable

from pymc_fisher.compile import cached, compile_function
from pymc_fisher.errors import FisherError
from pymc_fisher.fisher.model_graph import Space
from pymc_fisher.geometry.geodesic_solver import minimize_action, solve_geodesic
from pymc_fisher.geometry.graphs import information_graph
from pymc_fisher.geometry.points import theta_of
from pymc_fisher.validation import check_option

__all__ = ["Geodesic", "GeodesicError", "fisher_rao_distance", "geodesic"]


class GeodesicError(FisherError):
    """The geodesic boundary-value problem did not converge."""


class Geodesic(NamedTuple):
    """The geodesic between two points and the solver's report.

    Attributes
    ----------
    distance
        The Fisher–Rao distance: the geodesic's length ``∫ √(θ̇ᵀ I(θ) θ̇) dt``.
    path
        θ along the path, dims ``("t", "parameters")``, labelled in ``space``.
    velocity
        ``θ̇`` along the path, same dims.
    space
        The coordinates of ``path``.
    converged
        Whether the boundary-value solve met its tolerance.
    residual
        Largest relative collocation residual.
    speed_spread
        ``(max − min)/mean`` of the speed along the path (0 for an exact geodesic).
    nodes
        Collocation mesh nodes used.
    message
        The solver's message.
    """

    distance: float
    path: xr.DataArray
    velocity: xr.DataArray
    space: str
    converged: bool
    residual: float
    speed_spread: float
    nodes: int
    message: str


def _compiled(model: pm.Model, space: Space):
    """One function ``(θ, v) -> (G, a, vᵀGv, ∇_θ(vᵀGv), Gv)``, compiled once per model."""

    def build():
        ig = information_graph(model, space=space)
        theta, metric = ig.theta, ig.information
        v = pt.vector("v", dtype="float64")
        metric_dot = cast(list, pushforward([metric], theta, v))[0]  # ∂_v G
        metric_v = metric @ v
        energy = v @ metric_v
        energy_grad = cast(TensorVariable, pt.grad(energy, theta))
        acc = pt.linalg.solve(metric, 0.5 * energy_grad - metric_dot @ v, assume_a="pos")
        outputs = [metric, acc, energy, energy_grad, metric_v]
        return ig, compile_function([theta, v], outputs, name="fisher_rao", mode="NUMBA")

    return cached(model, ("geometry.fisher_rao", space), build)


def geodesic(
    model: pm.Model | None = None,
    point_a: Mapping[str, object] | None = None,
    point_b: Mapping[str, object] | None = None,
    *,
    space: Space = "unconstrained",
    segments: int = 32,
    tol: float = 1e-6,
    max_nodes: int = 5000,
) -> Geodesic:
    r"""Solve for the Fisher–Rao geodesic between two parameter points of a model.

    Parameters
    ----------
    model
        The model (default: the one in context); the metric is the expected Fisher
        information of its likelihood over all free variables.
    point_a, point_b
        End points, keyed by variable names (constrained values) or value-variable names.
        Required (they have defaults only so that the model, first as in every public
        function, can come from the context).
    space
        Coordinates the equation is solved in. The geodesic and its length do not depend on
        them; ``"unconstrained"`` keeps the path inside the support.
    segments
        Segments of the discretised action minimised (with exact gradients, by BFGS) for
        the starting path.
    tol, max_nodes
        Relative tolerance and mesh limit of the collocation refinement
        (``scipy.integrate.solve_bvp``).

    Returns
    -------
    Geodesic
        The distance, the path and the solver's report (check ``converged``).

    Notes
    -----
    The geodesic minimises the action ``∫₀¹ ½ θ̇ᵀ I(θ) θ̇ dt`` with fixed ends, whose
    Euler–Lagrange equation is ``θ̈ᵏ + Γᵏᵢⱼ θ̇ⁱθ̇ʲ = 0``. The discretised action is minimised
    first from the straight line in ``space``; the geodesic equation is then solved by
    collocation from that path. Where geodesics are not unique this finds a local minimiser
    of the length (on the usual statistical manifolds, of non-positive curvature, the
    geodesic is unique).

    References
    ----------
    Rao, C. R. (1945). Information and the accuracy attainable in the estimation of statistical
    parameters. *Bull. Calcutta Math. Soc.* 37, 81–91.

    Atkinson, C. & Mitchell, A. F. S. (1981). Rao's distance measure. *Sankhyā A* 43, 345–365.
    """
    model = pm.modelcontext(model)
    check_option("space", space, Space)
    if point_a is None or point_b is None:
        raise TypeError("geodesic needs both end points, point_a and point_b.")
    ig, fn = _compiled(model, space)
    theta_a = theta_of(model, ig.mg.layout, point_a, space)
    theta_b = theta_of(model, ig.mg.layout, point_b, space)
    zero = np.zeros_like(theta_a)

    def energy(x, v):
        _, _, e, g, gv = fn(x, v)
        return float(e), np.asarray(g), np.asarray(gv)

    # start from the minimiser of the discretised action, then refine by collocation
    start, _ = minimize_action(energy, theta_a, theta_b, segments=segments)
    sol = solve_geodesic(
        lambda x, v: np.asarray(fn(x, v)[1]),
        lambda x: np.asarray(fn(x, zero)[0]),
        theta_a,
        theta_b,
        tol=tol,
        max_nodes=max_nodes,
        initial_path=start,
    )
    coords = {"t": sol.t, "parameters": list(ig.mg.layout.labels)}
    attrs = {"space": space}
    return Geodesic(
        distance=sol.length,
        path=xr.DataArray(sol.theta, dims=("t", "parameters"), coords=coords, attrs=attrs),
        velocity=xr.DataArray(sol.velocity, dims=("t", "parameters"), coords=coords, attrs=attrs),
        space=space,
        converged=sol.converged,
        residual=sol.residual,
        speed_spread=sol.speed_spread,
        nodes=sol.nodes,
        message=sol.message,
    )


def fisher_rao_distance(
    model: pm.Model | None = None,
    point_a: Mapping[str, object] | None = None,
    point_b: Mapping[str, object] | None = None,
    *,
    space: Space = "unconstrained",
    tol: float = 1e-6,
) -> float:
    r"""Compute the Fisher–Rao distance between two parameter points of a model.

    The length of the geodesic of the expected Fisher information of the likelihood (see
    ``geodesic``): invariant under reparametrisation, so ``space`` changes only the
    coordinates the equation is solved in.

    Parameters
    ----------
    model
        The model (default: the one in context).
    point_a, point_b
        End points, keyed by variable names (constrained values) or value-variable names
        (required).
    space
        ``"unconstrained"`` or ``"constrained"`` coordinates for the solve.
    tol
        Relative tolerance of the boundary-value solve.

    Returns
    -------
    float

    Raises
    ------
    GeodesicError
        If the boundary-value solve does not converge (call ``geodesic`` for the report).

    Notes
    -----
    For ``n`` observations of N(μ, σ), ``I = n·diag(1, 2)/σ²``: with ``μ' = μ/√2`` this is
    ``2n`` times the Poincaré half-plane metric ``(dμ'² + dσ²)/σ²``, so

    .. math:: d = \sqrt{2n}\,\operatorname{arccosh}\Bigl(1 + \frac{(μ_a-μ_b)^2/2 + (σ_a-σ_b)^2}
              {2σ_aσ_b}\Bigr)

    (Atkinson & Mitchell 1981; Costa, Santos & Strapasson 2015, eq. 11).

    References
    ----------
    Costa, S. I. R., Santos, S. A. & Strapasson, J. E. (2015). Fisher information distance:
    a geometrical reading. *Discrete Applied Mathematics* 197, 59–69.

    Examples
    --------
    >>> import numpy as np, pymc as pm
    >>> from pymc_fisher.geometry import fisher_rao_distance
    >>> with pm.Model() as model:
    ...     mu = pm.Normal("mu")
    ...     sigma = pm.HalfNormal("sigma")
    ...     y = pm.Normal("y", mu, sigma, observed=np.zeros(1))
    >>> d = fisher_rao_distance(model, {"mu": 0.0, "sigma": 1.0}, {"mu": 1.0, "sigma": 2.0})
    >>> exact = np.sqrt(2) * np.arccosh(1 + (0.5 + 1.0) / 4.0)
    >>> bool(abs(d - exact) < 1e-6)
    True
    """
    if point_a is None or point_b is None:
        raise TypeError("fisher_rao_distance needs both end points, point_a and point_b.")
    result = geodesic(model, point_a, point_b, space=space, tol=tol)
    if not result.converged:
        raise GeodesicError(
            f"The geodesic boundary-value solve did not converge ({result.message}; residual "
            f"{result.residual:.3g}, {result.nodes} nodes). Try space='unconstrained' or "
            f"'constrained', a looser tol, or nearer points."
        )
    return result.distance
