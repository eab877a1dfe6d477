"""Progress over the runs of a study: a rich bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Count finished runs; print one line per run, or draw a bar when ``stream`` is a terminal.

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
        self.total, self.done, self.enabled = total, 0, enabled
        self.stream = stream or sys.stderr
        self._bar = None
        if enabled and total and self.stream.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("runs"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
                console=Console(file=self.stream),
            )
            self._task = self._bar.add_task("", total=total)
            self._bar.start()

    def skip(self, n: int) -> None:
        """Report ``n`` runs already finished in an earlier session."""
        if n and self.enabled:
            self._print(f"resuming: {n} finished run(s) found, {self.total - n} to go")
        self.advance(n, quiet=True)

    def advance(self, n: int = 1, *, label: str = "", quiet: bool = False) -> None:
        """Count ``n`` more finished runs, labelled ``label``."""
        self.done += n
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(self._task, advance=n, description=label)
        elif not quiet:
            self._print(f"[{self.done}/{self.total}] {label}")

    def close(self) -> None:
        """Stop the bar (plain lines need no closing)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def _print(self, text: str) -> None:
        if self._bar is not None:
            self._bar.console.print(text)
        else:
            print(text, file=self.stream, flush=True)
