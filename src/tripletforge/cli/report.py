"""`tripletforge report RUN_DIR`: Markdown + self-contained HTML report of a pipeline run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tripletforge.cli.common import command


def report_command(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (runs/NAME).")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Report folder (default RUN_DIR/report).")
    ] = None,
) -> None:
    """Tables (every number links to its manifest) and PNG plots of a run."""
    from tripletforge.cli.output import console as cli_console
    from tripletforge.report import build_report

    console = cli_console()
    paths = build_report(run_dir, out)
    if paths.data.unreadable:
        console.print(f"skipped {len(paths.data.unreadable)} unreadable manifest(s)")
    console.print(f"report: {paths.markdown}\n        {paths.html}", highlight=False)
    for line in paths.main_score_lines():
        console.print(f"  {line}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    command(app, "report")(report_command)
