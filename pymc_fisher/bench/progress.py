"""Progress over the runs of a study: rich's progress bar (as PyMC's), one line per finished run."""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

__all__ = ["Progress"]


class Progress:
    """Count finished runs on a rich progress bar, and log one line per run above it.

    On a terminal the bar is live; elsewhere (a log file, CI) rich draws no bar and the lines
    ``[done/total] label`` are the record.

    Parameters
    ----------
    total : int
        Runs to do (finished runs found on disk are reported with :meth:`skip`).
    enabled : bool
        Print nothing when false.
    stream : file, optional
        Where to write (standard error by default).
    """

    def __init__(self, total: int, *, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.total, self.done = total, 0
        self._bar = RichProgress(
            TextColumn("runs"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=Console(file=stream or sys.stderr),
            disable=not enabled,
            transient=True,  # the per-run lines are the record; the bar goes when done
        )
        self._task = self._bar.add_task("", total=total)
        self._bar.start()

    def skip(self, n: int) -> None:
        """Report ``n`` runs already finished in an earlier session."""
        if n:
            self._log(f"resuming: {n} finished run(s) found, {self.total - n} to go")
        self.done += n
        self._bar.update(self._task, advance=n)

    def advance(self, n: int = 1, *, label: str = "") -> None:
        """Count ``n`` more finished runs, labelled ``label``."""
        self.done += n
        self._bar.update(self._task, advance=n, description=label)
        self._log(f"[{self.done}/{self.total}] {label}")

    def close(self) -> None:
        """Stop the bar."""
        self._bar.stop()

    def _log(self, text: str) -> None:
        if not self._bar.disable:
            # plain text: a label may hold brackets, and a log line is not to be wrapped
            self._bar.console.print(text, markup=False, highlight=False, soft_wrap=True)
