"""``pmf.sample``'s progress bar: one rich row per chain, as PyMC draws its own.

The chains run in compiled code and write ``[iterations done, divergences after tuning, step
size]`` into a shared array; the main thread reads it a few times a second and redraws.
"""

from __future__ import annotations

from types import TracebackType

import numpy as np
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["ChainProgress"]


class ChainProgress:
    """A progress row per chain: iterations, divergences after tuning, step size, times.

    Parameters
    ----------
    chains, total
        Number of chains and iterations per chain (tuning included).
    tune
        Tuning iterations (a row says "tuning" until it passes them).
    enabled
        Draw nothing when false.
    """

    def __init__(self, chains: int, total: int, tune: int, *, enabled: bool = True) -> None:
        self._tune = tune
        self._bar = Progress(
            TextColumn("chain {task.fields[chain]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[phase]}"),
            TextColumn("divergences {task.fields[divergences]}"),
            TextColumn("step size {task.fields[step_size]:.3g}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            disable=not enabled,
        )
        self._tasks = [
            self._bar.add_task(
                "",
                total=total,
                chain=c,
                phase="tuning" if tune else "sampling",
                divergences=0,
                step_size=float("nan"),
            )
            for c in range(chains)
        ]

    def __enter__(self) -> ChainProgress:
        self._bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._bar.stop()

    def update(self, progress: np.ndarray, failed: dict[int, str] | None = None) -> None:
        """Redraw from ``progress`` (one ``[iterations, divergences, step size]`` row per chain)."""
        for c, task in enumerate(self._tasks):
            done, divergences, step_size = progress[c]
            phase = "tuning" if done < self._tune else "sampling"
            if failed and c in failed:
                phase = "failed"
            self._bar.update(
                task, completed=int(done), phase=phase, divergences=int(divergences),
                step_size=float(step_size),
            )  # fmt: skip
