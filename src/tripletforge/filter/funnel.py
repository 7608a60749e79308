"""Run the configured filters in order and keep count: the funnel and the rejects."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tripletforge.data.jsonl import strict_dumps
from tripletforge.data.schemas import ReadReport
from tripletforge.filter.base import Row, TripletFilter, build_filter
from tripletforge.filter.config import FilterConfig


@dataclass
class FunnelStep:
    """One filter's rows in, rows out, the count per reason kind, and what the filter reports
    about itself (``details``: e.g. the relevance calibration, the consistency pool)."""

    filter: str
    rows_in: int
    rows_out: int
    reasons: dict[str, int] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        return self.rows_in - self.rows_out


@dataclass
class FilterRun:
    """Kept rows, rejected rows (with ``filter``, ``reason``, input ``row`` index), the funnel."""

    kept: list[Row]
    rejected: list[Row]
    funnel: list[FunnelStep]
    rows_in: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows_in": self.rows_in,
            "rows_out": len(self.kept),
            "steps": [asdict(s) | {"rejected": s.rejected} for s in self.funnel],
        }

    def save_funnel(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(strict_dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n")
        return path


def _reason_kind(reason: str) -> str:
    """The reason without its numbers (``positive copies anchor (similarity 0.97)`` → kind)."""
    return reason.split(" (", 1)[0].split(" of row", 1)[0]


def run_filters(
    rows: list[Row],
    config: FilterConfig | None = None,
    filters: list[TripletFilter] | None = None,
) -> FilterRun:
    """Apply the filters (given, or built from ``config``) in order to the rows."""
    config = config or FilterConfig()
    if filters is None:
        filters = [build_filter(name, config) for name in config.active_filters()]
    current = [dict(row, _row=i) for i, row in enumerate(rows)]
    rejected: list[Row] = []
    funnel: list[FunnelStep] = []
    for flt in filters:
        verdicts = flt(current)
        step = FunnelStep(flt.name, rows_in=len(current), rows_out=0)
        survivors = []
        for row, reason in zip(current, verdicts, strict=True):
            if reason is None:
                survivors.append(row)
                continue
            kind = _reason_kind(reason)
            step.reasons[kind] = step.reasons.get(kind, 0) + 1
            out = {k: v for k, v in row.items() if k != "_row"}
            rejected.append(out | {"filter": flt.name, "reason": reason, "row": row["_row"]})
        step.rows_out = len(survivors)
        step.details = dict(getattr(flt, "details", None) or {})
        funnel.append(step)
        current = survivors
    kept = [{k: v for k, v in row.items() if k != "_row"} for row in current]
    return FilterRun(kept=kept, rejected=rejected, funnel=funnel, rows_in=len(rows))


def side_files(out: str | Path) -> tuple[Path, Path]:
    """``OUT.rejected.jsonl`` and ``OUT.funnel.json``, next to the kept triplets ``OUT``."""
    stem = Path(out).with_suffix("")
    return Path(f"{stem}.rejected.jsonl"), Path(f"{stem}.funnel.json")


def filter_file(
    inp: str | Path, out: str | Path, config: FilterConfig | None = None
) -> tuple[FilterRun, ReadReport]:
    """Filter a triplet file: kept rows to ``out``, rejects and funnel to :func:`side_files`.

    Returns the run and the read report of ``inp`` (bad input rows, counted).
    """
    from tripletforge.data.triplets import read_triplets, write_triplets

    rows, report = read_triplets(inp)
    run = run_filters(rows, config)
    rejected, funnel = side_files(out)
    write_triplets(run.kept, out)
    write_triplets(run.rejected, rejected)
    run.save_funnel(funnel)
    return run, report


def funnel_table(run: FilterRun, title: str = "filter funnel"):
    """A rich table of the funnel: rows in → rows out per filter, with the top reasons."""
    from rich.table import Table

    table = Table(title=title)
    for column in ("filter", "rows in", "rejected", "rows out", "reasons"):
        table.add_column(column, justify="left" if column in ("filter", "reasons") else "right")
    for step in run.funnel:
        reasons = ", ".join(
            f"{k}: {v}" for k, v in sorted(step.reasons.items(), key=lambda kv: -kv[1])[:3]
        )
        unchecked = step.details.get("not_checked") or {}
        if unchecked:  # kept without a check: say so, not just "passed"
            notes = "; ".join(f"{n} kept unchecked ({why})" for why, n in unchecked.items())
            reasons = f"{reasons}; {notes}" if reasons else notes
        table.add_row(
            step.filter, str(step.rows_in), str(step.rejected), str(step.rows_out), reasons
        )
    table.add_row(
        "total", str(run.rows_in), str(run.rows_in - len(run.kept)), str(len(run.kept)), ""
    )
    return table
