"""Evaluation results: JSON and Markdown files and rich tables.

Every metric is stored **raw** in the JSON (correlations in [-1, 1], accuracies and ranking
metrics in [0, 1]). Tables (Markdown and terminal) show them **×100** with one decimal;
alignment and uniformity are shown raw with three decimals.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tripletforge.provenance import library_versions

HEADLINE = {"sts": "spearman", "bitext": "margin", "retrieval": "ndcg@10"}
HEADLINE_LABEL = {"sts": "STS ρ", "bitext": "Bitext acc (margin)", "retrieval": "Retr. nDCG@10"}


@dataclass
class DatasetResult:
    """Scores of one data set."""

    name: str
    task: str
    format: str
    lang: str
    target_lang: str | None
    n: int
    metrics: dict[str, Any]
    geometry: dict[str, Any]
    files: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    skipped_rows: int = 0

    @property
    def headline(self) -> float:
        """The task's main figure (raw): Spearman, mean margin accuracy or nDCG@10."""
        key = HEADLINE[self.task]
        if self.task == "retrieval":
            key = next(k for k in self.metrics if k.startswith("ndcg@"))
        return float(self.metrics[key])


@dataclass
class EvaluationResult:
    """Everything one evaluation run produced, with provenance."""

    model: str
    fingerprint: str
    suite: str
    datasets: list[DatasetResult]
    suite_source: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=library_versions)
    encoding: dict[str, Any] = field(default_factory=dict)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def __getitem__(self, name: str) -> DatasetResult:
        for result in self.datasets:
            if result.name == name:
                return result
        raise KeyError(name)

    def by_language(self) -> dict[str, dict[str, float]]:
        """Per language: mean headline score per task, and mean alignment/uniformity."""
        table: dict[str, dict[str, list[float]]] = {}
        for r in self.datasets:
            row = table.setdefault(r.lang, {})
            row.setdefault(r.task, []).append(r.headline)
            for key in ("alignment", "uniformity"):
                value = r.geometry.get(key)
                if value is not None and not math.isnan(value):
                    row.setdefault(key, []).append(value)
        return {
            lang: {key: sum(vals) / len(vals) for key, vals in row.items()}
            for lang, row in sorted(table.items())
        }

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["languages"] = self.by_language()
        data["units"] = "raw: correlations in [-1, 1], accuracies and ranking metrics in [0, 1]"
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=True)

    def tables(self) -> list[tuple[str, list[str], list[list[str]]]]:
        """(title, header, rows) of the per-language table and one table per task."""
        out = []
        langs = self.by_language()
        tasks = [t for t in HEADLINE if any(r.task == t for r in self.datasets)]
        header = ["lang", *(HEADLINE_LABEL[t] for t in tasks), "align", "unif"]
        rows = [
            [
                lang,
                *(_pct(row.get(t)) for t in tasks),
                _raw(row.get("alignment")),
                _raw(row.get("uniformity")),
            ]
            for lang, row in langs.items()
        ]
        out.append(("Per language (×100; align/unif raw)", header, rows))
        for task in tasks:
            results = [r for r in self.datasets if r.task == task]
            out.append(_task_table(task, results))
        return out

    def to_markdown(self) -> str:
        lines = [
            f"# Evaluation of `{self.model}` on suite `{self.suite}`",
            "",
            f"- model fingerprint: `{self.fingerprint[:16]}`",
            f"- created: {self.created_at}",
            "- versions: " + ", ".join(f"{k} {v}" for k, v in self.versions.items()),
            "- scores ×100 (raw values in results.json); alignment/uniformity raw",
            "",
        ]
        for title, header, rows in self.tables():
            lines += [f"## {title}", "", "| " + " | ".join(header) + " |"]
            lines.append("|" + "|".join("---" for _ in header) + "|")
            lines += ["| " + " | ".join(row) + " |" for row in rows]
            lines.append("")
        lines += ["## Data files", "", "| dataset | file | sha256 |", "|---|---|---|"]
        for r in self.datasets:
            lines += [f"| {r.name} | {f['path']} | `{f['sha256'][:16]}` |" for f in r.files]
        return "\n".join(lines) + "\n"

    def print(self, console: Any = None) -> None:
        """Print the tables with rich."""
        from rich.console import Console
        from rich.table import Table

        console = console or Console()
        for title, header, rows in self.tables():
            table = Table(title=title, title_justify="left")
            for i, column in enumerate(header):
                table.add_column(column, justify="left" if i < 2 else "right", no_wrap=i == 0)
            for row in rows:
                table.add_row(*row)
            console.print(table)

    def write(self, out_dir: str | Path) -> tuple[Path, Path]:
        """Write ``results.json`` and ``results.md`` into ``out_dir``; return their paths."""
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        json_path, md_path = folder / "results.json", folder / "results.md"
        json_path.write_text(self.to_json() + "\n", encoding="utf-8")
        md_path.write_text(self.to_markdown(), encoding="utf-8")
        return json_path, md_path


def _pct(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{100 * value:.1f}"


def _raw(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.3f}"


def _task_table(task: str, results: list[DatasetResult]) -> tuple[str, list[str], list[list[str]]]:
    geo = ["align", "unif"]
    if task == "sts":
        header = ["dataset", "lang", "n", "spearman", "pearson", "positives", *geo]
        keys = ["spearman", "pearson"]
    elif task == "bitext":
        header = ["dataset", "pair", "n", "cos →", "cos ←", "margin →", "margin ←", *geo]
        keys = ["cosine_src2tgt", "cosine_tgt2src", "margin_src2tgt", "margin_tgt2src"]
    else:
        k = next((m.split("@")[1] for m in results[0].metrics if m.startswith("ndcg@")), "10")
        header = ["dataset", "pair", "n", f"nDCG@{k}", f"R@{k}", f"MRR@{k}", *geo]
        keys = [f"ndcg@{k}", f"recall@{k}", f"mrr@{k}"]
    rows = []
    for r in results:
        pair = r.lang if task == "sts" else f"{r.lang}→{r.target_lang}"
        row = [r.name, pair, str(r.n), *(_pct(r.metrics.get(key)) for key in keys)]
        if task == "sts":
            row.append(str(r.geometry.get("positives", 0)))
        row += [_raw(r.geometry.get("alignment")), _raw(r.geometry.get("uniformity"))]
        rows.append(row)
    titles = {"sts": "STS (Spearman ×100)", "bitext": "Bitext mining accuracy ×100 (→ = x→tgt)"}
    return titles.get(task, "Retrieval ×100 (queries → corpus)"), header, rows
