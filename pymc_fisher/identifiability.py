"""Identifiability: which directions of θ the information pins down, named in parameter terms.

The rank of the information at a point, its eigenvalues and eigenvectors labelled as the
information matrices are, the likelihood's information against the prior's along each
direction, and a plain verdict ("a + b is identified; a − b is not"). :func:`spectrum` and
:func:`describe_subspace` are the numeric core that :func:`pymc_fisher.summary` shares, so a
standard error is refused by the same rule that calls a direction unidentified.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, NamedTuple

import numpy as np
import pymc as pm
import xarray as xr

from pymc_fisher.fisher.model_graph import Space, graph_of
from pymc_fisher.fisher.points import resolve_point
from pymc_fisher.information import fisher_information
from pymc_fisher.laplace.fit import posterior_mode
from pymc_fisher.validation import check_option

__all__ = [
    "QUADRATURE_RTOL",
    "Spectrum",
    "default_rtol",
    "describe_direction",
    "describe_subspace",
    "identifiability",
    "spectrum",
]

Kind = Literal["observed", "expected"]

#: Relative accuracy of an expected information that uses the quantile quadrature for a factor
#: without a closed form (``pymc_fisher.fisher.quadrature``: within 1e-6 of every smooth closed
#: form it was checked against), ten times over.
QUADRATURE_RTOL = 1e-5

# Components of a direction below this share of its largest are left out of its name.
_NAME_SHARE = 1e-3
# Smallest singular value of an orthonormal basis's columns that makes a coordinate a pivot.
_PIVOT_RTOL = 1e-6
# Directions listed by name in a verdict before "and k more".
_MAX_NAMED = 6


class Spectrum(NamedTuple):
    """Eigen-decomposition of a symmetric information matrix and its numerical rank.

    Attributes
    ----------
    eigenvalues
        Ascending.
    eigenvectors
        Unit columns, each signed so that its largest component is positive.
    tolerance
        Eigenvalues with ``|λ|`` at or below it count as zero: ``rtol · max |λ|``.
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    tolerance: float

    @property
    def identified(self) -> np.ndarray:
        """Whether each direction is identified (``|λ|`` exceeds the tolerance)."""
        return np.abs(self.eigenvalues) > self.tolerance

    @property
    def rank(self) -> int:
        """The number of identified directions."""
        return int(np.count_nonzero(self.identified))

    @property
    def null_space(self) -> np.ndarray:
        """The unidentified directions, as columns (``d × (d − rank)``)."""
        return self.eigenvectors[:, ~self.identified]


def default_rtol(model: pm.Model) -> float:
    """``√ε`` of the least precise float dtype among ``model``'s value variables.

    ``1.49e-8`` for float64, ``3.45e-4`` for float32 (module and :func:`identifiability` notes).
    """
    dtypes = [np.dtype(v.type.dtype) for v in model.value_vars]
    eps = max((float(np.finfo(d).eps) for d in dtypes if d.kind == "f"), default=0.0)
    return float(np.sqrt(eps or np.finfo(float).eps))


def spectrum(matrix: np.ndarray, rtol: float) -> Spectrum:
    """Eigen-decomposition of ``matrix`` (symmetrised) with rank tolerance ``rtol · max |λ|``.

    Examples
    --------
    >>> s = spectrum(np.array([[1.0, 1.0], [1.0, 1.0]]), rtol=1e-8)
    >>> s.rank, np.round(s.eigenvalues, 12).tolist(), np.round(s.null_space[:, 0], 6).tolist()
    (1, [0.0, 2.0], [0.707107, -0.707107])
    """
    a = np.asarray(matrix, dtype=float)
    a = 0.5 * (a + a.T)
    if a.size == 0:
        return Spectrum(np.zeros(0), np.zeros((0, 0)), 0.0)
    values, vectors = np.linalg.eigh(a)
    largest = np.argmax(np.abs(vectors), axis=0)
    vectors = vectors * np.sign(vectors[largest, np.arange(vectors.shape[1])])
    return Spectrum(values, vectors, float(rtol * np.max(np.abs(values))))


def describe_direction(vector: np.ndarray, labels: Sequence[str]) -> str:
    """Name a direction by its components, largest scaled to 1: ``"a − b"``, ``"x + 0.5·y"``.

    Components below 1/1000 of the largest are left out.

    Examples
    --------
    >>> describe_direction(np.array([0.7071, -0.7071]), ["a", "b"])
    'a − b'
    >>> describe_direction(np.array([-0.2, 0.4, 0.0]), ["b[0]", "b[1]", "c"])
    '−0.5·b[0] + b[1]'
    """
    vector = np.asarray(vector, dtype=float)
    magnitudes = np.abs(vector)
    # the first of the largest components (to rounding) is scaled to +1: "a − b", not "−a + b"
    top = int(np.flatnonzero(magnitudes >= (1 - 1e-9) * magnitudes.max())[0])
    vector = vector / vector[top]
    terms: list[str] = []
    for i in map(int, np.flatnonzero(np.abs(vector) >= _NAME_SHARE)):
        coef = float(vector[i])
        magnitude = "" if np.isclose(abs(coef), 1.0, rtol=1e-9) else f"{abs(coef):.3g}·"
        sign = (" − " if coef < 0 else " + ") if terms else ("−" if coef < 0 else "")
        terms.append(f"{sign}{magnitude}{labels[i]}")
    return "".join(terms)


def describe_subspace(basis: np.ndarray, labels: Sequence[str]) -> list[str]:
    """Names of a readable basis of the span of ``basis``'s columns (reduced row echelon form).

    An orthonormal basis of a subspace of dimension > 1 is arbitrary; the echelon basis puts a
    1 on one coordinate per direction and 0 on the other directions' pivots, so ``a − c`` and
    ``b − c`` rather than two mixtures of the three.

    Examples
    --------
    >>> basis = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]) / np.sqrt(2)
    >>> describe_subspace(basis, ["a", "b", "c"])
    ['a − c', 'b − c']
    """
    basis = np.asarray(basis, dtype=float)
    if basis.shape[1] == 0:
        return []
    rows = basis.T
    # pivots as in the reduced row echelon form: the earliest coordinates that add to the rank
    chosen: list[int] = []
    for j in range(rows.shape[1]):
        trial = rows[:, [*chosen, j]]
        if np.linalg.svd(trial, compute_uv=False)[-1] > _PIVOT_RTOL:
            chosen.append(j)
        if len(chosen) == rows.shape[0]:
            break
    echelon = np.linalg.solve(rows[:, chosen], rows)
    echelon[np.abs(echelon) < 1e-12] = 0.0
    return [describe_direction(row, labels) for row in echelon]


def _listing(names: list[str]) -> str:
    shown = names[:_MAX_NAMED]
    more = len(names) - len(shown)
    text = ", ".join(shown) if len(shown) < 3 else ", ".join(shown[:-1]) + f" and {shown[-1]}"
    if len(shown) == 2:
        text = f"{shown[0]} and {shown[1]}"
    return text + (f" (and {more} more)" if more else "")


class _Split(NamedTuple):
    """The likelihood's null space, split by whether the prior pins each direction down."""

    by_prior: np.ndarray
    by_nothing: np.ndarray


def _split_null_space(lik_spec: Spectrum, prior: np.ndarray, tolerance: float) -> _Split:
    """Directions the likelihood leaves free, split by the prior's information restricted to them.

    The prior's information on the likelihood's null space ``N`` is ``Nᵀ I_prior N``; its
    eigenvectors above ``tolerance`` span what only the prior identifies.
    """
    null = lik_spec.null_space
    if null.shape[1] == 0:
        empty = np.zeros((null.shape[0], 0))
        return _Split(empty, empty)
    restricted = spectrum(null.T @ prior @ null, rtol=0.0)
    above = restricted.eigenvalues > tolerance  # a negative prior curvature pins nothing down
    return _Split(
        null @ restricted.eigenvectors[:, above], null @ restricted.eigenvectors[:, ~above]
    )


def _verdict(
    spec: Spectrum, labels: Sequence[str], what: str, split: _Split, lik_tol: float
) -> str:
    d = len(labels)
    if spec.rank == d:
        sentences = [
            f"The {what} has full rank {d}: every direction is identified (eigenvalues from "
            f"{spec.eigenvalues[0]:.3g} to {spec.eigenvalues[-1]:.3g}, tolerance "
            f"{spec.tolerance:.3g})."
        ]
    else:
        unidentified = describe_subspace(spec.null_space, labels)
        identified = describe_subspace(spec.eigenvectors[:, spec.identified], labels)
        named = f"{_listing(identified)} {'is' if len(identified) == 1 else 'are'} identified; "
        sentences = [
            f"The {what} has rank {spec.rank} of {d}: "
            f"{named if identified else 'no direction is identified; '}"
            f"{_listing(unidentified)} {'is' if len(unidentified) == 1 else 'are'} not "
            f"(eigenvalue at most {spec.tolerance:.3g}, the tolerance)."
        ]
    negative = spec.eigenvalues < -spec.tolerance
    if np.any(negative):
        names = describe_subspace(spec.eigenvectors[:, negative], labels)
        sentences.append(
            f"The {what} is negative along {_listing(names)}: the point is not a maximum along "
            f"{'it' if len(names) == 1 else 'them'} (a saddle), so curvature there says little "
            "about identification; judge it at the mode (point=None)."
        )
    if split.by_prior.shape[1]:
        names = describe_subspace(split.by_prior, labels)
        sentences.append(
            f"Only the prior pins down {_listing(names)}: the likelihood's information along "
            f"{'it' if len(names) == 1 else 'them'} is at most {lik_tol:.3g}, so the posterior "
            "there is the prior."
        )
    if split.by_nothing.shape[1]:
        names = describe_subspace(split.by_nothing, labels)
        sentences.append(
            f"Neither the likelihood nor the prior pins down {_listing(names)} at this point: "
            "reparametrise (fix or drop one parameter of each such combination) or give a "
            "proper, informative prior."
        )
    return " ".join(sentences)


def identifiability(
    model: pm.Model | None = None,
    point: Mapping[str, object] | None = None,
    *,
    kind: Kind = "observed",
    include_prior: bool = False,
    space: Space = "unconstrained",
    rtol: float | None = None,
) -> xr.Dataset:
    r"""Which directions of the parameters the data identify, named in parameter terms.

    Parameters
    ----------
    model
        The model (default: the one in context). Free variables must be continuous.
    point
        Values of the free variables, by name or value-variable name (as
        :func:`~pymc_fisher.fisher_information` takes them). Default: the posterior mode that
        :func:`~pymc_fisher.fit_laplace` centres on (the unconstrained density with its
        log-Jacobian).
    kind
        ``"observed"`` (``−∇² log p``) or ``"expected"`` information.
    include_prior
        ``False`` (default): the likelihood's information, the frequentist question of what
        the data identify. ``True``: the posterior's (likelihood plus prior), whose rank says
        whether the Laplace approximation exists.
    space
        ``"unconstrained"`` (``sigma_log__``) or ``"constrained"`` (``sigma``).
    rtol
        An eigenvalue with ``|λ| ≤ rtol · max |λ|`` counts as zero (the rank is the
        numerical rank; a negative eigenvalue above it is named in the verdict). Default:
        ``√ε`` of the model's float dtype (``1.49e-8`` in float64), raised to
        :data:`QUADRATURE_RTOL` when an expected information uses the quantile quadrature
        (Notes).

    Returns
    -------
    xarray.Dataset
        ``eigenvalues`` (dim ``direction``, ascending); ``eigenvectors`` (dims ``direction``,
        ``parameter``, unit length, labelled as the information matrices are);
        ``identified`` (per direction); ``likelihood_information`` and
        ``prior_information`` (``vᵀ I v`` along each direction ``v``); ``point`` (dim
        ``parameter``). ``attrs``: ``rank``, ``verdict``, ``tolerance``, ``rtol``, ``kind``,
        ``include_prior``, ``space``, ``condition_number``.

    Raises
    ------
    DiscreteVariableError
        A free variable is discrete.
    MissingPointValueError
        The point names a variable the model does not have, or lacks a free variable.
    NoObservedVariablesError
        The model has no observed variables (so no likelihood to identify anything).
    ModeNotFoundError
        ``point=None`` and the posterior has no mode.
    ValueError
        An option is not one of its values.

    Notes
    -----
    The matrices are exact derivatives of the model graph, so their entries carry rounding
    only: Weyl's inequality bounds each computed eigenvalue's error by ``‖E‖₂``, of order
    ``d ε max |λ|`` for entrywise relative errors ``ε``, and the default tolerance ``√ε`` sits
    far above that for any ``d`` below ``10⁷``. It is also the relative accuracy of a Hessian
    from finite differences of gradients, so a matrix built that way (or evaluated at a mode
    found to a gradient tolerance near ``√ε``) is judged by a tolerance its own errors do not
    cross. A direction at the tolerance has a standard error ``ε^{-1/4} ≈ 8000`` times the
    best-determined direction's. The tolerance is relative to the largest eigenvalue, so it
    depends on the parameters' units; pass ``rtol`` for parameters on wildly different scales.

    The prior's information is the posterior's minus the likelihood's, of the same ``kind``.
    At a posterior mode the likelihood's gradient is not zero, so the *observed* information of
    a likelihood that depends on ``θ`` only through a nonlinear ``g(θ)`` keeps a term
    ``∇ℓ · ∇²g`` along the directions ``g`` ignores; the *expected* information
    ``Jᵀ I_g J`` is exactly singular there. Use ``kind="expected"`` for such models.

    Examples
    --------
    >>> import numpy as np, pymc as pm, pymc_fisher as pmf
    >>> with pm.Model() as model:
    ...     a = pm.Normal("a", 0, 10)
    ...     b = pm.Normal("b", 0, 10)
    ...     y = pm.Normal("y", a + b, 1, observed=np.array([0.5, 1.5]))
    >>> report = pmf.identifiability(model)
    >>> report.attrs["rank"]
    1
    >>> print(report.attrs["verdict"])  # doctest: +NORMALIZE_WHITESPACE
    The observed information of the likelihood has rank 1 of 2: a + b is identified; a − b is
    not (eigenvalue at most 5.96e-08, the tolerance). Only the prior pins down a − b: the
    likelihood's information along it is at most 5.96e-08, so the posterior there is the prior.
    """
    model = pm.modelcontext(model)
    check_option("kind", kind, Kind)
    check_option("space", space, Space)
    if point is None:
        fns, mode = posterior_mode(model)
        point = fns.mg.layout.unravel(mode.theta)
    likelihood = fisher_information(model, point, kind=kind, space=space)
    posterior = fisher_information(model, point, kind=kind, space=space, include_prior=True)
    labels = [str(label) for label in likelihood.coords["rows"].values]
    if rtol is None:
        rtol = default_rtol(model)
        if likelihood.attrs.get("quadrature_factors") or posterior.attrs.get("quadrature_factors"):
            rtol = max(rtol, QUADRATURE_RTOL)
    lik = likelihood.values
    prior = posterior.values - lik
    spec = spectrum(posterior.values if include_prior else lik, rtol)
    lik_spec = spectrum(lik, rtol) if include_prior else spec
    scale = spectrum(posterior.values, rtol)  # the prior is judged on the posterior's scale
    split = _split_null_space(lik_spec, prior, scale.tolerance)
    vectors = spec.eigenvectors
    along_lik = np.einsum("ik,ij,jk->k", vectors, lik, vectors)
    along_prior = np.einsum("ik,ij,jk->k", vectors, prior, vectors)
    what = f"{kind} information of the {'posterior' if include_prior else 'likelihood'}"
    verdict = _verdict(spec, labels, what, split, lik_spec.tolerance)
    unconstrained, constrained = resolve_point(model, point)
    theta = graph_of(model, space).layout.ravel(
        unconstrained if space == "unconstrained" else constrained
    )
    smallest = float(np.min(np.abs(spec.eigenvalues))) if labels else 1.0
    largest = float(np.max(np.abs(spec.eigenvalues))) if labels else 1.0
    direction = np.arange(len(labels))
    return xr.Dataset(
        {
            "eigenvalues": ("direction", spec.eigenvalues),
            "eigenvectors": (("direction", "parameter"), vectors.T),
            "identified": ("direction", spec.identified),
            "likelihood_information": ("direction", along_lik),
            "prior_information": ("direction", along_prior),
            "point": ("parameter", theta),
        },
        coords={"direction": direction, "parameter": labels},
        attrs={
            "rank": spec.rank,
            "verdict": verdict,
            "tolerance": spec.tolerance,
            "rtol": rtol,
            "kind": kind,
            "include_prior": int(include_prior),
            "space": space,
            "condition_number": largest / smallest if smallest > 0 else float("inf"),
        },
    )
