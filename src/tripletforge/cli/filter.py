"""`tripletforge filter`: run the filter funnel over a triplet file.

Options are derived from :class:`~tripletforge.filter.config.FilterConfig`; an explicit flag
beats ``--config``, which beats the default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tripletforge.cli.common import command, resolve_settings, settings_options, with_options
from tripletforge.filter.config import FilterConfig


@with_options(settings_options(FilterConfig))
def filter_command(
    ctx: typer.Context,
    inp: Annotated[
        Path,
        typer.Argument(
            metavar="FILE", help="Triplets: JSONL, Parquet, CSV, TSV, or an XL-LoRA folder."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Kept triplets (.jsonl or .parquet).")],
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="YAML with FilterConfig fields; flags override it."),
    ] = None,
    no_teacher: Annotated[
        bool, typer.Option("--no-teacher", help="Skip the teacher margin (teacher: null).")
    ] = False,
    **options: Any,
) -> None:
    """Filter triplets; write OUT, OUT.rejected.jsonl (with reasons) and OUT.funnel.json."""
    from tripletforge.cli.output import console, print_read_report
    from tripletforge.filter.funnel import filter_file, funnel_table, side_files

    fields = resolve_settings(ctx, options, config, FilterConfig)
    if no_teacher:
        fields["teacher"] = None
    run, report = filter_file(inp, out, FilterConfig(**fields))
    print_read_report(report)
    console().print(funnel_table(run, title=f"filter funnel: {inp.name}"))
    rejected, funnel = side_files(out)
    console().print(
        f"kept {len(run.kept)} → {out}; rejects → {rejected}; funnel → {funnel}", highlight=False
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    command(app, "filter")(filter_command)
