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
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

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


def new_display(console: Any = None, transient: bool = False) -> Any:
    """A rich ``Progress`` with :func:`columns` that leaves stdout and stderr alone."""
    from rich.progress import Progress

    return Progress(
        *columns(),
        console=console,
        transient=transient,
        redirect_stdout=False,
        redirect_stderr=False,
    )


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
