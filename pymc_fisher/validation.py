"""Checks of a public function's input that every facade shares.

Three checks, written once so that the same mistake gets the same message everywhere:

- :func:`check_option`: a ``Literal`` option holds one of its values;
- :func:`reject_inapplicable`: an option given where the chosen mode does not use it is an
  error, not silently ignored (``method="monte_carlo"`` with ``kind="observed"``);
- :func:`check_continuous`: the free variables to differentiate are continuous.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, get_args

import pymc as pm

from pymc_fisher.errors import DiscreteVariableError

__all__ = [
    "CONTINUOUS_DTYPES",
    "check_continuous",
    "check_option",
    "discrete_variables",
    "reject_inapplicable",
]

#: The dtypes a derivative exists for (PyMC's ``continuous_types`` without the complex ones,
#: which no log-density here is written for).
CONTINUOUS_DTYPES = frozenset({"float16", "float32", "float64"})


def check_option(name: str, value: object, allowed: Any) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``allowed``.

    Parameters
    ----------
    name
        The option's name, as the caller spells it.
    value
        What was passed.
    allowed
        A ``typing.Literal`` (its values are read with ``typing.get_args``) or an iterable of
        the allowed values.

    Raises
    ------
    ValueError
        Naming the option, the value and every allowed value.

    Examples
    --------
    >>> from typing import Literal
    >>> check_option("kind", "observed", Literal["expected", "observed"])
    >>> check_option("kind", "hessian", Literal["expected", "observed"])
    Traceback (most recent call last):
    ...
    ValueError: kind='hessian' is not one of 'expected', 'observed'.
    """
    values = get_args(allowed) or tuple(allowed)
    if value not in values:
        raise ValueError(f"{name}={value!r} is not one of {', '.join(map(repr, values))}.")


def reject_inapplicable(given: Mapping[str, bool], *, when: str, advice: str = "") -> None:
    """Raise ``ValueError`` if an option that does not apply ``when`` was given.

    Parameters
    ----------
    given
        Option name -> whether the caller gave it (a value other than its neutral default).
    when
        The choice that makes them inapplicable, e.g. ``"kind='observed'"``.
    advice
        What to do instead (appended to the message).

    Examples
    --------
    >>> reject_inapplicable({"draws": False}, when="method='analytic'")
    >>> reject_inapplicable({"draws": True}, when="method='analytic'")
    Traceback (most recent call last):
    ...
    ValueError: draws does not apply with method='analytic'; leave it out.
    """
    bad = [name for name, was_given in given.items() if was_given]
    if bad:
        names = ", ".join(bad)
        verb = "does" if len(bad) == 1 else "do"
        raise ValueError(f"{names} {verb} not apply with {when}; {advice or 'leave it out.'}")


def discrete_variables(model: pm.Model, names: Iterable[str] | None = None) -> list[str]:
    """Names of the discrete free variables of ``model`` (among ``names``, default all)."""
    chosen = None if names is None else set(names)
    return [
        rv.name
        for rv in model.free_RVs
        if (chosen is None or rv.name in chosen) and rv.type.dtype not in CONTINUOUS_DTYPES
    ]


def check_continuous(
    model: pm.Model, names: Iterable[str] | None = None, *, advice: str | None = None
) -> None:
    """Raise :class:`~pymc_fisher.errors.DiscreteVariableError` if a free variable is discrete.

    Parameters
    ----------
    model
        The model.
    names
        Free-variable names to check (default: every free variable).
    advice
        What the caller's user can do; the default suggests observing, marginalising or fixing
        the variable.

    Raises
    ------
    DiscreteVariableError
        Naming the first discrete variable and its dtype.

    Examples
    --------
    >>> with pm.Model() as model:
    ...     k = pm.Poisson("k", 3.0)
    >>> check_continuous(model)
    Traceback (most recent call last):
    ...
    pymc_fisher.errors.DiscreteVariableError: Free variable 'k' is discrete (int64), so the \
log-density has no derivative with respect to it. Observe it, marginalize it out \
(pymc_extras.marginalize), or fix it with pm.do(model, {'k': value}).
    """
    discrete = discrete_variables(model, names)
    if not discrete:
        return
    name = discrete[0]
    dtype = model[name].type.dtype
    todo = advice or (
        f"Observe it, marginalize it out (pymc_extras.marginalize), or fix it with "
        f"pm.do(model, {{{name!r}: value}})."
    )
    raise DiscreteVariableError(
        f"Free variable {name!r} is discrete ({dtype}), so the log-density has no derivative "
        f"with respect to it. {todo}"
    )
