"""Progress of long work: one rich display per stage, shared by the library and the pipeline.

Library code reports progress with :func:`progress_task`::

    with progress_task("generate", total=len(seeds), enabled=config.progress) as task:
        ...
        task.advance(len(chunk), note=f"{rate:.2f} triplets/s")

On its own it draws one rich progress bar (on rich's global console, which the CLI points at
its one console). Under a host — the pipeline runner shows one display per stage and hosts
the stage's work with :func:`hosted` — the task reports into that display instead (whatever
``enabled`` says), so a stage never draws a second one. Progress displays never capture
``print``/``stderr`` output: library noise goes wherever stdout/stderr point (the run's log
file under ``tripletforge run``).

Where the console is not a terminal (output piped to a file, a CI log, ``nohup``), rich draws
no live bar; every display then prints one plain line per task at most every
:data:`LINE_INTERVAL` seconds (``stage 12/40 0:01:30 note``), so long work still shows that it
moves.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

LINE_INTERVAL = float(os.environ.get("TRIPLETFORGE_PROGRESS_INTERVAL", "30"))
"""Seconds between two plain progress lines of one task where the console is not a terminal."""

_HOST: ContextVar[tuple[Any, Any] | None] = ContextVar("tripletforge_progress_host", default=None)


@dataclass
class ProgressTask:
    """One task of a rich ``Progress`` (or nothing, when disabled)."""

    progress: Any = None
    task_id: Any = None

    def advance(self, amount: float = 1, note: str | None = None) -> None:
        """Count ``amount`` more units done; ``note`` replaces the text after the bar."""
        if self.progress is not None:
            fields = {} if note is None else {"note": note}
            self.progress.update(self.task_id, advance=amount, **fields)

    def update(
        self, *, total: float | None = None, completed: float | None = None, note: str | None = None
    ) -> None:
        """Set the total, the units done or the note."""
        if self.progress is None:
            return
        fields: dict[str, Any] = {}
        if total is not None:
            fields["total"] = total
        if completed is not None:
            fields["completed"] = completed
        if note is not None:
            fields["note"] = note
        self.progress.update(self.task_id, **fields)


def columns(label: str | None = None) -> list[Any]:
    """The columns of every display: spinner, label, bar, n/total, elapsed time, note."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    return [
        SpinnerColumn(finished_text="[green]✓[/]"),
        TextColumn(label if label is not None else "[bold]{task.description}"),
        BarColumn(bar_width=28),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"),
    ]


def make_progress(*cols: Any, console: Any = None, transient: bool = False) -> Any:
    """A rich ``Progress`` with ``cols`` that leaves stdout and stderr alone; on a console that
    is not a terminal, one that prints plain lines instead (see the module docstring)."""
    import rich
    from rich.progress import Progress

    class LineProgress(Progress):
        """Plain, throttled lines for logs: rich draws nothing live where there is no terminal."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._last_line: dict[Any, float] = {}

        def update(self, task_id: Any, **kwargs: Any) -> None:
            super().update(task_id, **kwargs)
            self._line(task_id)

        def advance(self, task_id: Any, advance: float = 1) -> None:
            super().advance(task_id, advance)
            self._line(task_id)

        def _line(self, task_id: Any) -> None:
            now = time.monotonic()
            last = self._last_line.setdefault(task_id, now)
            if now - last < LINE_INTERVAL:
                return
            self._last_line[task_id] = now
            with self._lock:
                task = self._tasks[task_id]
                done = f"{task.completed:g}" + (f"/{task.total:g}" if task.total else "")
                elapsed = time.strftime("%H:%M:%S", time.gmtime(task.elapsed or 0))
                note = task.fields.get("note", "")
                line = f"{task.description.strip()} {done} {elapsed} {note}".rstrip()
            self.console.print(line, highlight=False)

    shown = console if console is not None else rich.get_console()
    cls = Progress if shown.is_terminal else LineProgress
    return cls(
        *cols, console=console, transient=transient, redirect_stdout=False, redirect_stderr=False
    )


def new_display(console: Any = None, transient: bool = False) -> Any:
    """A rich ``Progress`` with :func:`columns` (see :func:`make_progress`)."""
    return make_progress(*columns(), console=console, transient=transient)


@contextmanager
def progress_task(
    description: str, total: float | None = None, *, enabled: bool = True
) -> Iterator[ProgressTask]:
    """A progress task: in the host's display if there is one, else in a display of its own
    (none when ``enabled`` is false)."""
    host = _HOST.get()
    if host is not None:
        progress, task_id = host
        progress.update(task_id, total=total, completed=0)
        yield ProgressTask(progress, task_id)
        return
    if not enabled:
        yield ProgressTask()
        return
    with new_display() as progress:
        yield ProgressTask(progress, progress.add_task(description, total=total, note=""))


@contextmanager
def hosted(progress: Any, task_id: Any) -> Iterator[None]:
    """Route every :func:`progress_task` opened inside to ``progress``'s task ``task_id``."""
    token = _HOST.set((progress, task_id))
    try:
        yield
    finally:
        _HOST.reset(token)


@contextmanager
def quiet_library_bars() -> Iterator[None]:
    """Silence the tqdm bars of the libraries inside the block (mteb, datasets, whose bars
    subclass tqdm's, sentence-transformers' encode and model-card code): tripletforge shows
    its own display.

    tqdm bars are switched off even where the library passes ``disable=False`` itself
    (``mine_hard_negatives`` encodes with ``show_progress_bar=True``).
    """
    from tqdm import std

    original = std.tqdm.__init__

    def silent(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["disable"] = True
        original(self, *args, **kwargs)

    std.tqdm.__init__ = silent  # type: ignore[method-assign]
    try:
        yield
    finally:
        std.tqdm.__init__ = original  # type: ignore[method-assign]
