"""The one console of the command line (rich, on stderr), how loud it is, and where library
noise goes.

Every command prints through :func:`console`; the library's progress displays use rich's
global console, which :func:`configure` makes the same one. Without ``--verbose``, library
logs and warnings stay off the terminal: ``tripletforge run`` sends them (and anything the
libraries print, C code included) to the run folder's log file (:func:`library_output_to`);
other commands show only tripletforge's own messages.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_CONSOLE: Any = None
_QUIET = False
_VERBOSE = False
#: Environment read by the libraries at import: no progress bars or advisory warnings of
#: their own (the CLI shows one display per stage), unless --verbose.
QUIET_LIBRARIES = {
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
}
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def console() -> Any:
    """The CLI's rich console (stderr, soft-wrapped)."""
    if _CONSOLE is None:
        configure()
    return _CONSOLE


def configure(quiet: bool = False, verbose: bool = False) -> Any:
    """Set up the console, the loudness and the logging of one command."""
    global _CONSOLE, _QUIET, _VERBOSE
    import rich

    rich.reconfigure(stderr=True, soft_wrap=True)
    _CONSOLE = rich.get_console()
    _QUIET, _VERBOSE = quiet, verbose
    if not verbose:
        for key, value in QUIET_LIBRARIES.items():
            os.environ.setdefault(key, value)
    _setup_logging(verbose)
    return _CONSOLE


def _setup_logging(verbose: bool) -> None:
    from rich.logging import RichHandler

    handler = RichHandler(
        console=_CONSOLE, show_time=False, show_path=False, markup=False, rich_tracebacks=True
    )
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.INFO if verbose else logging.ERROR)
    logging.getLogger("tripletforge").setLevel(logging.INFO if verbose else logging.WARNING)
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").setLevel(logging.WARNING if verbose else logging.ERROR)


def progress_enabled() -> bool:
    """Whether long work shows its progress display (off with ``--quiet``)."""
    return not _QUIET


def is_quiet() -> bool:
    return _QUIET


def is_verbose() -> bool:
    return _VERBOSE


@contextlib.contextmanager
def library_output_to(path: Path, enabled: bool = True) -> Iterator[None]:
    """Send library logs, warnings and printed output (fd 1 and 2 included) to ``path``.

    The console keeps writing to the terminal. When stdout/stderr are not real files (a test
    runner's capture), only Python-level output is redirected.
    """
    if not enabled:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    log_file = open(path, "a", buffering=1, encoding="utf-8", errors="replace")  # noqa: SIM115
    out = console()
    root, ours, warnings_log = (logging.getLogger(n) for n in ("", "tripletforge", "py.warnings"))
    saved_handlers, saved_levels = root.handlers[:], (root.level, ours.level, warnings_log.level)
    saved_file = getattr(out, "_file", None)  # None: rich follows sys.stderr
    handler = logging.StreamHandler(log_file)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.handlers = [handler]
    for logger in (root, ours, warnings_log):
        logger.setLevel(logging.INFO)
    saved_fds: tuple[int, int] | None = None
    terminal = None
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        saved_fds = (os.dup(1), os.dup(2))
        terminal = open(os.dup(2), "w", buffering=1, encoding="utf-8", closefd=True)  # noqa: SIM115
    except (AttributeError, io.UnsupportedOperation, OSError, ValueError):
        saved_fds = None
    try:
        out.file = terminal if terminal is not None else out.file
        if saved_fds is not None:
            os.dup2(log_file.fileno(), 1)
            os.dup2(log_file.fileno(), 2)
        with contextlib.redirect_stdout(log_file), contextlib.redirect_stderr(log_file):
            yield
    finally:
        if saved_fds is not None:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_fds[0], 1)
            os.dup2(saved_fds[1], 2)
            os.close(saved_fds[0])
            os.close(saved_fds[1])
        out._file = saved_file
        if terminal is not None:
            terminal.close()
        root.handlers = saved_handlers
        for logger, level in zip((root, ours, warnings_log), saved_levels, strict=True):
            logger.setLevel(level)
        log_file.close()


def print_read_report(report: Any, prefix: str = "", limit: int = 10) -> None:
    """Print a reader's :class:`~tripletforge.data.schemas.ReadReport`: the summary line, then
    the first ``limit`` skipped rows as ``file:line: reason`` (and how many more)."""
    out = console()
    out.print(f"{prefix}{report.summary()}", highlight=False, markup=False)
    for bad in report.bad_rows[:limit]:
        out.print(f"  skipped {bad}", highlight=False, markup=False)
    if len(report.bad_rows) > limit:
        out.print(f"  … and {len(report.bad_rows) - limit} more", highlight=False, markup=False)
