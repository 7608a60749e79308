"""`tripletforge filter`: run the filter funnel over a triplet file."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer


def _out_paths(out: Path) -> tuple[Path, Path]:
    stem = out.with_suffix("")
    return Path(f"{stem}.rejected.jsonl"), Path(f"{stem}.funnel.json")


def filter_command(
    inp: Annotated[
        Path, typer.Argument(help="triplets: JSONL, Parquet, CSV, or an XL-LoRA folder")
    ],
    out: Annotated[Path, typer.Argument(help="kept triplets (.jsonl or .parquet)")],
    config: Annotated[Path | None, typer.Option(help="YAML with FilterConfig fields")] = None,
    filters: Annotated[str | None, typer.Option(help="comma-separated filters, in order")] = None,
    teacher: Annotated[str | None, typer.Option(help="teacher encoder (default e5-small)")] = None,
    no_teacher: Annotated[
        bool, typer.Option("--no-teacher", help="skip the teacher margin")
    ] = False,
    margin: Annotated[float | None, typer.Option(help="teacher margin")] = None,
    copy_similarity: Annotated[float | None, typer.Option(help="copy threshold")] = None,
    max_length_ratio: Annotated[float | None, typer.Option(help="length ratio bound")] = None,
) -> None:
    """Filter triplets; write OUT, OUT.rejected.jsonl (with reasons) and OUT.funnel.json."""
    import yaml
    from rich.console import Console

    from tripletforge.data.triplets import read_triplets, write_triplets
    from tripletforge.filter import FilterConfig, funnel_table, run_filters

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    fields = yaml.safe_load(config.read_text()) if config else {}
    overrides = {
        "filters": filters.split(",") if filters else None,
        "teacher": teacher,
        "teacher_margin": margin,
        "copy_similarity": copy_similarity,
        "max_length_ratio": max_length_ratio,
    }
    fields |= {k: v for k, v in overrides.items() if v is not None}
    if no_teacher:
        fields["teacher"] = None
    cfg = FilterConfig(**fields)
    rows, report = read_triplets(inp)
    console = Console()
    console.print(report.summary())
    run = run_filters(rows, cfg)
    rejected_path, funnel_path = _out_paths(out)
    write_triplets(run.kept, out)
    write_triplets(run.rejected, rejected_path)
    run.save_funnel(funnel_path)
    console.print(funnel_table(run, title=f"filter funnel: {inp.name}"))
    console.print(
        f"kept {len(run.kept)} → {out}; rejects → {rejected_path}; funnel → {funnel_path}"
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("filter")(filter_command)
