"""``pmf.reparametrize``: the model in coordinates where its Fisher geometry is flat.

A model transformation in the style of ``pm.do`` and ``pm.observe``: the result is a new
``pm.Model`` with the same posterior. Its one free variable, ``fisher_z``, is the new coordinate
vector ``u``; the original free variables come back as Deterministics with their names, dims and
coords; the observed variables stay observed (so ``log_likelihood``, ``observed_data`` and
posterior predictive work as on the original); one Potential, ``fisher_prior``, carries the
original free variables' log-densities (with their transforms' log-Jacobians) and the
log-Jacobian of the map ``u ↦ θ`` (:mod:`.maps`).

The graph surgery is PyMC's: ``fgraph_from_model``, replace, ``model_from_fgraph``. The
whitening's shift and scale are shared variables of the new model (``fisher_shift``,
``fisher_scale``), so that one compiled model serves to find the mode, in the coordinates
before the whitening, and to sample after it (nutpie's ``with_data``).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple, cast

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from pymc.model.fgraph import (
    fgraph_from_model,
    model_deterministic,
    model_free_rv,
    model_from_fgraph,
    model_potential,
)
from pytensor.compile.mode import Mode
from pytensor.graph.basic import Variable
from pytensor.graph.replace import graph_replace
from pytensor.tensor.variable import TensorVariable

from pymc_fisher.compile import compile_function, split_wide_nodes
from pymc_fisher.errors import FisherError
from pymc_fisher.fisher.model_graph import ModelGraph, graph_of
from pymc_fisher.reparam.blocks import (
    LatentBlock,
    candidate_blocks,
    information_vector_product,
    is_diagonal_block,
)
from pymc_fisher.reparam.maps import BlockGraphs, noncentering, whitening
from pymc_fisher.reparam.whiten import Whitening, fit_whitening, identity_whitening
from pymc_fisher.validation import check_option

__all__ = [
    "COORDINATES",
    "DENSE_LIMIT",
    "PRIOR_TERM",
    "SCALE",
    "SHIFT",
    "Reparametrization",
    "WhiteningWarning",
    "build",
    "reparametrization_of",
    "reparametrize",
    "set_whitening",
    "unconstrained_point_graph",
    "whitening_values",
]

#: The new model's free variable (its dim is ``fisher_z_dim``).
COORDINATES = "fisher_z"
#: The Potential that carries the original prior and the map's log-Jacobian.
PRIOR_TERM = "fisher_prior"
#: The whitening's shared variables.
SHIFT, SCALE, LOG_DET = "fisher_shift", "fisher_scale", "fisher_scale_log_det"
#: Up to this many coordinates the whitening is dense; above, diagonal: a dense ``M u`` costs
#: ``d²`` per gradient, more than the gradient of most models that large.
DENSE_LIMIT = 300

Whiten = Literal["auto", "dense", "diagonal", "none"]

#: The diagonality check runs a handful of times: no code generation, no rewrites.
_CHECK_MODE = Mode(linker="py", optimizer="None")


class WhiteningWarning(UserWarning):
    """The whitening fell back to a cheaper form; the message says why and along what."""


class Reparametrization(NamedTuple):
    """What :func:`reparametrize` did, kept on the new model (:func:`reparametrization_of`).

    Attributes
    ----------
    noncentered
        The free variables non-centred by their Fisher precision.
    kept
        Every other free variable -> why it was not non-centred.
    whitening
        The global linear map (:class:`~pymc_fisher.reparam.whiten.Whitening`), ``None`` until
        it is fitted.
    labels
        Names of the coordinates before the whitening (``x_z[...]`` for a non-centred block).
    seconds
        Wall time of the set-up (graphs, mode, Hessian), seconds.
    """

    noncentered: tuple[str, ...]
    kept: dict[str, str]
    whitening: Whitening | None
    labels: tuple[str, ...]
    seconds: float


def reparametrization_of(model: pm.Model) -> Reparametrization | None:
    """What :func:`reparametrize` did to make ``model`` (``None`` for any other model)."""
    return getattr(model, "_pymc_fisher_reparametrization", None)


def reparametrize(
    model: pm.Model | None = None,
    *,
    noncenter: bool = True,
    whiten: Whiten = "auto",
) -> pm.Model:
    """The model with the same posterior, in coordinates its Fisher information flattens.

    Parameters
    ----------
    model
        A PyMC model with continuous free variables (default: the one in context).
    noncenter
        Non-centre every latent block by its Fisher precision (``x = m(φ) + G_xx(φ)^{-1/2} z``,
        :mod:`pymc_fisher.reparam.maps`): the free variables held by the identity, drawn from
        an elementwise location family (Normal, StudentT, Cauchy, Laplace, Logistic) whose
        location or scale depends on other free variables, and whose block of the whole-graph
        expected information is diagonal.
    whiten
        The global linear map after it, ``w = ŵ + M u`` at the mode ``ŵ`` of the density of the
        non-centred coordinates: ``"dense"`` (``M = L⁻ᵀ``, ``L Lᵀ`` the negative Hessian
        there), ``"diagonal"`` (``M`` the Laplace marginal standard deviations), ``"none"``, or
        ``"auto"``: dense up to ``DENSE_LIMIT`` coordinates, diagonal above. Without a mode (a
        density that rises without bound) there is no whitening; a Hessian that is not
        positive definite gives the diagonal of its absolute value, with a
        :class:`WhiteningWarning` naming the direction.

    Returns
    -------
    pymc.Model
        Free variable ``fisher_z`` (the new coordinates, dim ``fisher_z_dim``); the original free
        variables as Deterministics with their names, dims and coords; the original observed
        variables, Deterministics and Potentials; a Potential ``fisher_prior``.
        :func:`reparametrization_of` says what was done.

    Raises
    ------
    DiscreteVariableError
        If a free variable is discrete.

    Notes
    -----
    The density of ``u`` is ``p(θ(u)) |det ∂θ/∂u|``, so any sampler of the new model samples
    the original posterior exactly; the choices above change only its efficiency. At
    ``u = 0`` (the new model's initial point) θ is the mode where one exists.

    Examples
    --------
    >>> import pymc as pm
    >>> import pymc_fisher as pmf
    >>> with pm.Model() as funnel:
    ...     v = pm.Normal("v", 0.0, 3.0)
    ...     x = pm.Normal("x", 0.0, pm.math.exp(v / 2), shape=3)
    >>> new = pmf.reparametrize(funnel)
    >>> [rv.name for rv in new.free_RVs], sorted(d.name for d in new.deterministics)
    (['fisher_z'], ['v', 'x'])
    >>> pmf.reparametrization_of(new).noncentered
    ('x',)
    """
    model = pm.modelcontext(model)
    check_option("whiten", whiten, Whiten)
    begin = time.perf_counter()
    new = build(model, noncenter=noncenter, whiten=whiten)
    if whiten != "none":
        (value,) = new.value_vars
        logp: Any = new.logp()
        with new:
            fn = compile_function(
                [value], [logp, cast(Any, pt.grad(logp, value))], name="reparam_logp", mode="NUMBA",
                sampling=True,
            )  # fmt: skip

        def logp_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
            with np.errstate(all="ignore"):
                f, g = fn(x)
            return float(f), np.asarray(g, dtype=float)

        fit_and_set_whitening(new, logp_grad, whiten, stacklevel=3)
    info = reparametrization_of(new)
    assert info is not None
    new._pymc_fisher_reparametrization = info._replace(seconds=time.perf_counter() - begin)
    return new


def fit_and_set_whitening(
    new: pm.Model,
    logp_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
    whiten: str,
    stacklevel: int = 2,
) -> Whitening:
    """Fit the whitening of ``new`` (built with the identity) from its ``log p``, and set it.

    ``logp_grad`` must read the model's ``fisher_shift`` and ``fisher_scale`` as they are,
    the identity, so that it is the density of the coordinates before the whitening.
    """
    info = reparametrization_of(new)
    assert info is not None
    scale = next(slot for slot in new._pymc_fisher_slots if slot.name == SCALE)
    dense_slot = scale.type.ndim == 2
    size = len(info.labels)
    kind = whiten if whiten != "auto" else ("dense" if dense_slot else "diagonal")
    whitening, message = fit_whitening(
        logp_grad, size, kind=kind, dense_slot=dense_slot, labels=info.labels
    )
    if message is not None:
        warnings.warn(message, WhiteningWarning, stacklevel=stacklevel + 1)
    set_whitening(new, whitening)
    return whitening


def whitening_values(whitening: Whitening) -> dict[str, np.ndarray]:
    """The model's whitening shared variables by name -> their values for ``whitening``.

    What :func:`set_whitening` writes into the model, and what a compiled copy of it (nutpie's
    ``with_data``) takes.
    """
    return {
        SHIFT: np.asarray(whitening.shift, dtype="float64"),
        SCALE: np.asarray(whitening.scale, dtype="float64"),
        LOG_DET: np.asarray(whitening.log_det, dtype="float64"),
    }


def set_whitening(new: pm.Model, whitening: Whitening) -> None:
    """Write ``whitening`` into the model's shared variables and its record."""
    values = whitening_values(whitening)
    for slot in new._pymc_fisher_slots:
        slot.set_value(values[slot.name])
    info = reparametrization_of(new)
    assert info is not None
    new._pymc_fisher_reparametrization = info._replace(whitening=whitening)


def build(model: pm.Model, *, noncenter: bool = True, whiten: str = "auto") -> pm.Model:
    """The reparametrised model with the whitening at the identity (``fisher_scale`` = I).

    ``fisher_scale`` is a matrix when the whitening may be dense (``whiten`` ``"dense"``, or
    ``"auto"`` with at most ``DENSE_LIMIT`` coordinates), else a vector.
    """
    mg = graph_of(model, "unconstrained")
    if noncenter:
        blocks, kept = _blocks(mg)
    else:
        blocks, kept = [], {rv.name: "noncenter=False" for rv in model.free_RVs}
    graphs = BlockGraphs(mg, blocks) if blocks else None
    size = mg.layout.size
    dense = whiten == "dense" or (whiten == "auto" and size <= DENSE_LIMIT)
    new = _assemble(model, mg, graphs, dense)
    labels = _labels(mg, blocks)
    whitening = None if whiten != "none" else identity_whitening(size, dense, "whiten='none'")
    info = Reparametrization(tuple(b.name for b in blocks), kept, whitening, labels, 0.0)
    new._pymc_fisher_reparametrization = info
    return new


def _labels(mg: ModelGraph, blocks: Sequence[LatentBlock]) -> tuple[str, ...]:
    labels = list(mg.layout.labels)
    for block in blocks:
        for i in range(block.slice.start, block.slice.stop):
            labels[i] = labels[i].replace(block.value_name, f"{block.value_name}_z", 1)
    return tuple(labels)


def _blocks(mg: ModelGraph) -> tuple[list[LatentBlock], dict[str, str]]:
    """The latent blocks whose information block is diagonal (checked at a jittered point)."""
    candidates, kept = candidate_blocks(mg)
    if not candidates:
        return [], kept
    v, product = information_vector_product(mg)
    fn = compile_function(
        [mg.theta, v],
        cast(Any, split_wide_nodes([product])[0]),
        name="reparam_product",
        mode=_CHECK_MODE,
    )
    rng = np.random.default_rng(0)
    point = mg.layout.ravel(mg.model.initial_point(random_seed=0))
    point = point + rng.uniform(-0.5, 0.5, size=point.size)
    blocks = []
    for block in candidates:
        if is_diagonal_block(lambda t, d: np.asarray(fn(t, d)), point, block.slice, rng):
            blocks.append(block)
        else:
            kept[block.name] = "its block of the information is not diagonal"
    return blocks, kept


def _assemble(model: pm.Model, mg: ModelGraph, graphs: BlockGraphs | None, dense: bool) -> pm.Model:
    """The new model: ``fisher_z`` free, the old free variables Deterministics (module docs)."""
    for name in (COORDINATES, PRIOR_TERM, SHIFT, SCALE, LOG_DET):
        if name in model.named_vars:
            raise FisherError(
                f"The model already has a variable named {name!r}, which reparametrize needs; "
                "rename it."
            )
    initial_values = model.rvs_to_initial_values
    try:  # PyMC refuses models with initial values; the new model has its own initial point
        model.rvs_to_initial_values = {rv: None for rv in initial_values}
        fgraph, memo = fgraph_from_model(model, inlined_views=True)
    finally:
        model.rvs_to_initial_values = initial_values
    size = mg.layout.size
    dim = f"{COORDINATES}_dim"
    fgraph._coords[dim] = tuple(range(size))

    u_rv = pm.Flat.dist(shape=(size,))
    u_value = u_rv.type(name=COORDINATES)
    u = model_free_rv(u_rv, u_value, None, COORDINATES, dim)
    shift = pytensor.shared(np.zeros(size), name=SHIFT, shape=(size,))
    scale_value = np.eye(size) if dense else np.ones(size)
    scale = pytensor.shared(scale_value, name=SCALE, shape=scale_value.shape)
    log_det = pytensor.shared(np.asarray(0.0), name=LOG_DET)
    w = whitening(cast(TensorVariable, u), shift, scale)
    theta: Any
    log_jacobian: Any
    if graphs is None:
        theta, log_jacobian = w, pt.constant(0.0, dtype="float64")
    else:
        theta, log_jacobian = noncentering(graphs, w)

    prior = pt.add(*(pt.sum(f.logp) for f in mg.free_factors)) + log_jacobian + log_det
    constrained = _constrained_values(model, mg)
    replace: dict[Any, Any] = {
        k: v for k, v in memo.items() if isinstance(k, Variable) and k.owner is None and k is not v
    }
    replace[mg.theta] = theta
    prior, *values = graph_replace([prior, *constrained], replace, strict=False)

    for rv, value in zip(model.free_RVs, values, strict=True):
        dims = model.named_vars_to_dims.get(rv.name, ())
        shaped = pt.as_tensor(value).astype(rv.type.dtype)
        fgraph.replace(memo[rv], model_deterministic(shaped, rv.name, *dims), import_missing=True)
    fgraph.add_output(u, import_missing=True)
    fgraph.add_output(model_potential(prior, PRIOR_TERM), import_missing=True)
    fgraph.add_output(theta, import_missing=True)  # kept by the mutation below, then dropped
    new = model_from_fgraph(fgraph, mutate_fgraph=True)
    new._pymc_fisher_slots = (shift, scale, log_det)
    new._pymc_fisher_theta = fgraph.outputs[-1]
    return new


def unconstrained_point_graph(new: pm.Model) -> TensorVariable:
    """θ, the original model's unconstrained values raveled, as a graph of ``fisher_z``'s value.

    The map ``u ↦ θ`` itself (for tests and diagnostics: ``pmf.sample`` never needs it).
    """
    theta = new._pymc_fisher_theta
    return cast(TensorVariable, new.replace_rvs_by_values([theta])[0])


def _constrained_values(model: pm.Model, mg: ModelGraph) -> list[TensorVariable]:
    """Each free variable's own value (its transform undone), a graph of ``mg.theta``."""
    graphs = []
    for rv in model.free_RVs:
        value = model.rvs_to_values[rv]
        transform = model.rvs_to_transforms.get(rv)
        graphs.append(value if transform is None else transform.backward(value, *rv.owner.inputs))
    return mg.to_theta(graphs)
