"""Typed errors of sampler comparison studies."""

from __future__ import annotations

from pymc_fisher.errors import FisherError

__all__ = [
    "DataNotFoundError",
    "RunFailedError",
    "StudyError",
    "UnknownSamplerError",
    "UnknownTargetError",
]


class StudyError(FisherError):
    """A sampler comparison study cannot go on as asked."""


class UnknownTargetError(StudyError, KeyError):
    """A target name is not in the registry."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else ""


class UnknownSamplerError(StudyError, KeyError):
    """A sampler name is not in the registry."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class DataNotFoundError(StudyError, FileNotFoundError):
    """A data file that a target needs is not where it was looked for."""


class RunFailedError(StudyError, RuntimeError):
    """One run of a study (target, sampler, seed) raised; the original error is its cause."""
