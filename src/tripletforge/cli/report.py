"""`tripletforge report RUN_DIR`: Markdown + self-contained HTML report of a pipeline run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def report_command(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (runs/NAME).")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Report folder (default RUN_DIR/report).")
    ] = None,
) -> None:
    """Tables (every number links to its manifest) and PNG plots of a run."""
    from rich.console import Console

    from tripletforge.report import build_report

    console = Console(stderr=True, soft_wrap=True)
    try:
        paths = build_report(run_dir, out)
    except FileNotFoundError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    if paths.data.unreadable:
        console.print(f"skipped {len(paths.data.unreadable)} unreadable manifest(s)")
    console.print(f"report: {paths.markdown}\n        {paths.html}", highlight=False)
    for line in paths.main_score_lines():
        console.print(f"  {line}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("report")(report_command)
