"""What a run shows on the terminal: one line per stage, a live progress display while it runs.

A running stage gets one rich progress display (spinner, stage key, bar, counts, elapsed time
and a note) that hosts the progress its library reports (:mod:`tripletforge.progress`), so a
stage never draws a second display; when it ends the line stays with its result. Skipped and
blocked stages get one static line. Without a live display (``progress=False``) each stage
prints one line when it ends; ``quiet`` prints failures only. Tracebacks go to the log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from tripletforge.progress import hosted, new_display

if TYPE_CHECKING:
    from tripletforge.pipeline.plan import Stage

log = logging.getLogger(__name__)
WIDTH = 30  # stage keys are padded to this width


class StageDisplay:
    """The terminal side of a run (see the module docstring)."""

    def __init__(self, console: Any, progress: bool = True, quiet: bool = False) -> None:
        self.console = console
        self.progress = progress and not quiet
        self.quiet = quiet

    def _line(self, text: str) -> None:
        if not self.quiet:
            self.console.print(text, highlight=False)

    def skipped(self, stage: Stage) -> None:
        self._line(f"[dim]✓ {stage.key:<{WIDTH}} finished earlier, skipped[/]")

    def blocked(self, stage: Stage) -> None:
        self._line(f"[yellow]·[/] {stage.key:<{WIDTH}} blocked ({stage.error})")

    def failed(self, stage: Stage) -> None:
        self.console.print(f"[red]✗ {stage.key:<{WIDTH}} failed:[/] {stage.error}", highlight=False)

    @contextmanager
    def running(self, stage: Stage, verb: str) -> Iterator[None]:
        """Show ``stage`` while its body runs; the final line says how it ended."""
        started = time.perf_counter()
        how = " (resumed)" if verb == "resuming" else ""  # a killed run's stage, continued
        if not self.progress:
            yield
            self._line(
                f"[green]✓ {stage.key:<{WIDTH}}[/] done in "
                f"{time.perf_counter() - started:.1f} s{how}"
            )
            return
        display = new_display(self.console)
        task = display.add_task(f"{stage.key:<{WIDTH}}", total=None, note=f"{verb}…")
        display.start()
        try:
            with hosted(display, task):
                yield
        except BaseException:
            display.update(task, note="[red]failed")
            display.stop()
            raise
        seconds = time.perf_counter() - started
        shown = display.tasks[0]
        total = shown.total if shown.total else 1
        display.update(task, total=total, completed=total, note=f"done in {seconds:.1f} s{how}")
        display.stop()
