"""Targets of sampler comparison studies: posterior models, by name, with reference answers.

A :class:`Target` is a name, a callable that builds a fresh ``pm.Model`` and, optionally,
reference posterior means (and standard deviations) against which a study measures bias.

Registered targets and their references:

============================  =====  ==============================================================
name                          dim    reference
============================  =====  ==============================================================
``funnel``                    10     exact: ``v`` mean 0 sd 3; ``x_i`` mean 0 sd ``exp(9/4)``
``banana``                    2      exact: both means 0; sds ``s`` and ``sqrt(1 + 2 b² s⁴)``
``gaussian``                  3      exact: independent normals with known means and sds
``eight_schools_centered``    10     none (attach one from a long run with :func:`with_reference`)
``eight_schools_noncentered`` 10     none
``german_credit``             25     none (data: ``bench/gc2011``, shipped with the package)
``stochastic_volatility``     2003   none (data: ``bench/gc2011``, shipped with the package)
============================  =====  ==============================================================
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from numpy.typing import ArrayLike

from pymc_fisher.bench.data import german_credit_data, stochastic_volatility_data
from pymc_fisher.bench.errors import StudyError, UnknownTargetError

__all__ = [
    "Reference",
    "Target",
    "as_target",
    "available_targets",
    "banana",
    "eight_schools_centered",
    "eight_schools_noncentered",
    "funnel",
    "gaussian",
    "german_credit",
    "get_target",
    "register_target",
    "stochastic_volatility",
    "with_reference",
]

EIGHT_SCHOOLS_Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
EIGHT_SCHOOLS_SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
EIGHT_SCHOOLS = ["Choate", "Deerfield", "Phillips Andover", "Phillips Exeter", "Hotchkiss",
                 "Lawrenceville", "St. Paul's", "Mt. Hermon"]  # fmt: skip


class Reference(NamedTuple):
    """Reference posterior mean (and standard deviation) of one variable, constrained space."""

    mean: np.ndarray
    sd: np.ndarray | None = None


@dataclass(frozen=True)
class Target:
    """A posterior to sample: a name, a model builder and optional reference answers.

    Parameters
    ----------
    name : str
        Name used in tables, file names and on the command line.
    build : callable
        Called with no argument, returns a fresh ``pm.Model``. It runs in the worker process,
        so it must be picklable by ``cloudpickle`` (functions, partials, lambdas all are).
    reference : mapping of str to Reference, optional
        Reference posterior means (and sds) by free-variable name, used for ``max_bias_z``.
    description : str
        One line for listings.
    """

    name: str
    build: Callable[[], pm.Model]
    reference: Mapping[str, Reference] | None = None
    description: str = field(default="", compare=False)


def _normalise(name: str) -> str:
    return name.strip().lower().replace("-", "_")


_TARGETS: dict[str, Target] = {}


def register_target(target: Target, *, overwrite: bool = False) -> Target:
    """Add ``target`` to the registry so that studies and the command line find it by name.

    Parameters
    ----------
    target : Target
    overwrite : bool
        Replace a registered target of the same name instead of raising.

    Returns
    -------
    Target
        The target, unchanged.

    Raises
    ------
    StudyError
        When the name is taken and ``overwrite`` is false.
    """
    key = _normalise(target.name)
    if key in _TARGETS and not overwrite:
        raise StudyError(f"a target named {target.name!r} is already registered")
    _TARGETS[key] = target
    return target


def available_targets() -> list[str]:
    """Names of the registered targets.

    Examples
    --------
    >>> "funnel" in available_targets()
    True
    """
    return sorted(t.name for t in _TARGETS.values())


def get_target(name: str) -> Target:
    """Return the registered target called ``name`` (``-`` and ``_`` are interchangeable).

    Raises
    ------
    UnknownTargetError
        With the list of registered names.
    """
    try:
        return _TARGETS[_normalise(name)]
    except KeyError:
        raise UnknownTargetError(
            f"no target named {name!r}; registered: {', '.join(available_targets())}"
        ) from None


def as_target(obj: str | Target | pm.Model | Callable[[], pm.Model]) -> Target:
    """Turn a name, a ``Target``, a ``pm.Model`` or a model-building callable into a ``Target``.

    A ``pm.Model`` is named after ``model.name`` (or ``"model"``); a callable after its
    ``__name__``. Neither has a reference: wrap it in :class:`Target` to give one.
    """
    if isinstance(obj, Target):
        return obj
    if isinstance(obj, str):
        return get_target(obj)
    if isinstance(obj, pm.Model):
        return Target(obj.name or "model", functools.partial(_same_model, obj))
    if callable(obj):
        return Target(getattr(obj, "__name__", "model"), obj)
    raise TypeError(f"cannot use {type(obj).__name__} as a target: give a name, Target or pm.Model")


def _same_model(model: pm.Model) -> pm.Model:
    return model


def with_reference(
    target: Target,
    means: Mapping[str, ArrayLike],
    sds: Mapping[str, ArrayLike] | None = None,
) -> Target:
    """Return a copy of ``target`` with reference means (and sds), e.g. from a long NUTS run.

    Examples
    --------
    >>> t = with_reference(get_target("eight_schools_noncentered"), {"mu": 4.4})
    >>> float(t.reference["mu"].mean)
    4.4
    """
    sds = sds or {}
    ref = {
        k: Reference(np.asarray(v, float), None if k not in sds else np.asarray(sds[k], float))
        for k, v in means.items()
    }
    return replace(target, reference=ref)


# --- models ----------------------------------------------------------------------------------


def funnel(d: int = 10) -> pm.Model:
    """Neal's funnel in ``d`` dimensions: ``v ~ N(0, 3)``, ``x_i | v ~ N(0, exp(v/2))``, i < d."""
    with pm.Model(coords={"i": np.arange(d - 1)}) as model:
        v = pm.Normal("v", 0.0, 3.0)
        pm.Normal("x", 0.0, pt.exp(v / 2), dims="i")
    return model


def banana(scale: float = 2.0, curvature: float = 0.5) -> pm.Model:
    """Build a banana: ``x1 ~ N(0, scale)``, ``x2 | x1 ~ N(curvature (x1² − scale²), 1)``.

    Both means are 0; ``sd(x2) = sqrt(1 + 2 curvature² scale⁴)``.
    """
    with pm.Model() as model:
        x1 = pm.Normal("x1", 0.0, scale)
        pm.Normal("x2", curvature * (x1**2 - scale**2), 1.0)
    return model


GAUSSIAN_MEAN = np.array([1.0, -2.0, 0.5])
GAUSSIAN_SD = np.array([1.0, 2.0, 0.5])


def gaussian() -> pm.Model:
    """Three independent normals with known means and sds: a quick sanity target."""
    with pm.Model() as model:
        pm.Normal("x", GAUSSIAN_MEAN, GAUSSIAN_SD)
    return model


def eight_schools_centered() -> pm.Model:
    """Eight schools (Rubin 1981), centered: ``theta ~ N(mu, tau)``, ``mu ~ N(0, 5)``, ``tau ~ C+(5)``."""  # noqa: E501
    with pm.Model(coords={"school": EIGHT_SCHOOLS}) as model:
        mu = pm.Normal("mu", 0.0, 5.0)
        tau = pm.HalfCauchy("tau", 5.0)
        theta = pm.Normal("theta", mu, tau, dims="school")
        pm.Normal("y", theta, EIGHT_SCHOOLS_SIGMA, observed=EIGHT_SCHOOLS_Y, dims="school")
    return model


def eight_schools_noncentered() -> pm.Model:
    """Eight schools, non-centered: ``theta = mu + tau * theta_tilde``, ``theta_tilde ~ N(0,1)``."""
    with pm.Model(coords={"school": EIGHT_SCHOOLS}) as model:
        mu = pm.Normal("mu", 0.0, 5.0)
        tau = pm.HalfCauchy("tau", 5.0)
        theta_tilde = pm.Normal("theta_tilde", 0.0, 1.0, dims="school")
        theta = pm.Deterministic("theta", mu + tau * theta_tilde, dims="school")
        pm.Normal("y", theta, EIGHT_SCHOOLS_SIGMA, observed=EIGHT_SCHOOLS_Y, dims="school")
    return model


def german_credit() -> pm.Model:
    """Girolami & Calderhead's logistic regression on German credit: ``w ~ N(0, 100 I)``, d = 25."""
    design, labels, names = german_credit_data()
    with pm.Model(coords={"coefficient": names}) as model:
        w = pm.Normal("w", 0.0, 10.0, dims="coefficient")
        pm.Bernoulli("t", logit_p=pt.dot(design, w), observed=labels)
    return model


def stochastic_volatility(n: int | None = None) -> pm.Model:
    """Girolami & Calderhead's stochastic volatility model on the simulated series.

    ``x_1 ~ N(0, σ²/(1−φ²))``, ``x_{t+1} = φ x_t + N(0, σ²)``, ``y_t ~ N(0, β² exp(x_t))`` with
    ``p(β) ∝ 1/β`` (a flat prior on ``log_beta``), ``σ² ~ Inv-χ²(10, 0.05) = Inv-Gamma(5, 0.25)``
    and ``(φ+1)/2 ~ Beta(20, 1.5)``. ``n`` keeps the first ``n`` of the 2000 time points.
    """
    y, _ = stochastic_volatility_data(n)
    with pm.Model(coords={"time": np.arange(len(y))}) as model:
        log_beta = pm.Flat("log_beta")
        beta = pm.Deterministic("beta", pt.exp(log_beta))
        sigma2 = pm.InverseGamma("sigma2", alpha=5.0, beta=0.25)
        phi_star = pm.Beta("phi_star", 20.0, 1.5)
        phi = pm.Deterministic("phi", 2.0 * phi_star - 1.0)
        sigma = pt.sqrt(sigma2)
        init = pm.Normal.dist(0.0, sigma / pt.sqrt(1.0 - phi**2))
        x = pm.AR("x", rho=[phi], sigma=sigma, init_dist=init, constant=False, dims="time")
        pm.Normal("y", 0.0, beta * pt.exp(x / 2), observed=y, dims="time")
    return model


def _register_builtins() -> None:
    d = 10
    register_target(
        Target(
            "funnel",
            functools.partial(funnel, d),
            {
                "v": Reference(np.array(0.0), np.array(3.0)),
                # E[x_i] = 0; Var[x_i] = E[exp(v)] = exp(9/2) for v ~ N(0, 3²)
                "x": Reference(np.zeros(d - 1), np.full(d - 1, np.exp(9 / 4))),
            },
            "Neal's funnel, d = 10",
        )
    )
    scale, curvature = 2.0, 0.5
    register_target(
        Target(
            "banana",
            functools.partial(banana, scale, curvature),
            {
                "x1": Reference(np.array(0.0), np.array(scale)),
                "x2": Reference(np.array(0.0), np.array(np.sqrt(1 + 2 * curvature**2 * scale**4))),
            },
            "two-dimensional banana, exact moments",
        )
    )
    register_target(
        Target("gaussian", gaussian, {"x": Reference(GAUSSIAN_MEAN, GAUSSIAN_SD)}, "3 normals")
    )
    register_target(Target("eight_schools_centered", eight_schools_centered, None, "centered"))
    register_target(Target("eight_schools_noncentered", eight_schools_noncentered, None, "nc"))
    register_target(Target("german_credit", german_credit, None, "logistic regression, d = 25"))
    register_target(
        Target("stochastic_volatility", stochastic_volatility, None, "SV, 2000 points, d = 2003")
    )


_register_builtins()
