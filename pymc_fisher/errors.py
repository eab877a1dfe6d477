"""Typed errors. Each names the variable at fault and says what to do."""

from __future__ import annotations

import numpy as np

__all__ = [
    "DiscreteVariableError",
    "DrawsMismatchError",
    "FisherError",
    "ImproperPriorError",
    "MissingGroupError",
    "MissingPointValueError",
    "NoClosedFormError",
    "NoObservedVariablesError",
    "NonFiniteInformationError",
    "NonFiniteLogDensityError",
    "NonFinitePointError",
    "NotPositiveDefiniteError",
    "NotSemiSeparableError",
    "UnsupportedModelError",
]


class FisherError(ValueError):
    """Base class of pymc_fisher's errors about a model or its input."""


class DiscreteVariableError(FisherError, TypeError):
    """A free variable is discrete, so no derivative with respect to it exists."""


class NoObservedVariablesError(FisherError):
    """A likelihood quantity was asked of a model without observed variables."""


class NonFiniteLogDensityError(FisherError):
    """The log-density, or one of its terms, is not finite at the point."""


class NonFinitePointError(FisherError):
    """A point's value is NaN or infinite, or outside its variable's support (names it)."""


class NoClosedFormError(FisherError, NotImplementedError):
    """A distribution has no closed-form Fisher information in the registry."""


class MissingPointValueError(FisherError, KeyError):
    """A point does not give a value for every free variable."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else ""


class NotPositiveDefiniteError(FisherError, np.linalg.LinAlgError):
    """A matrix that must be positive definite is not."""


class UnsupportedModelError(FisherError, NotImplementedError):
    """The model uses a construct this function cannot handle yet."""


class NotSemiSeparableError(UnsupportedModelError):
    """The blockwise integrator was asked of a metric that is not semi-separable."""


class NonFiniteInformationError(FisherError, FloatingPointError):
    """An information matrix has a NaN or infinite entry (names the variable and the factor)."""


class ImproperPriorError(FisherError):
    """The prior does not integrate to one (Flat, HalfFlat, a Potential): no marginal likelihood."""


class MissingGroupError(FisherError, KeyError):
    """A ``DataTree`` of draws lacks the group a function reads (names the groups it has)."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else ""


class DrawsMismatchError(FisherError):
    """Draws do not match the model: a free variable is missing or has another shape."""
