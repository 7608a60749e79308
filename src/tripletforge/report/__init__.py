"""Report of a pipeline run: Markdown and self-contained HTML, tables and PNG plots.

>>> paths = build_report("runs/quickstart")   # writes runs/quickstart/report/
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tripletforge.report.collect import CONNECTED_MODELS, RunData, load_run


@dataclass
class ReportPaths:
    markdown: Path
    html: Path
    plots: dict[str, Path]
    data: RunData

    def main_score_lines(self) -> list[str]:
        """One line per language: the base's main score and the best arm's (trained, merged)."""
        return main_score_lines(self.data)


def main_score_lines(data: RunData) -> list[str]:
    """One line per language: main score ×100 of the base and of each arm's largest model
    (a connected arm: its target alone and the connected model)."""
    lines = []
    for lang in data.languages:
        base = data.score(lang, "base", None, "base")
        task = base.main_task if base else "?"
        parts = [f"{lang} ({task} ×100): base {base.main:.1f}" if base and base.main is not None
                 else f"{lang}: base –"]  # fmt: skip
        for arm in data.arms:
            connected = data.connected_scores(lang, arm)
            if connected:
                shown = [f"{CONNECTED_MODELS[s.model]} {s.main:.1f}" for s in connected
                         if s.main is not None]  # fmt: skip
                parts.append(f"{arm}: {', '.join(shown) or '–'}")
                continue
            for size in reversed(data.sizes):
                trained = data.score(lang, arm, size, "trained")
                merged = data.score(lang, arm, size, "merged")
                merge = data.merge(lang, arm, size)
                if trained is None or trained.main is None:
                    continue
                text = f"{arm}@{size} {trained.main:.1f}"
                if merged is not None and merged.main is not None and merge is not None:
                    text += f" (merged α={merge.alpha:g}: {merged.main:.1f})"
                parts.append(text)
                break
        lines.append("; ".join(parts))
    return lines


def build_report(run_dir: str | Path, out_dir: str | Path | None = None) -> ReportPaths:
    """Write ``report.md``, ``report.html`` and ``plots/*.png`` (default ``RUN_DIR/report``)."""
    from tripletforge.report.plots import make_plots
    from tripletforge.report.render import all_tables, to_html, to_markdown

    data = load_run(run_dir)
    out = Path(out_dir) if out_dir is not None else Path(run_dir) / "report"
    out.mkdir(parents=True, exist_ok=True)
    plots = make_plots(data, out / "plots")
    tables = all_tables(data)
    md = out / "report.md"
    md.write_text(to_markdown(data, tables, plots, out), encoding="utf-8")
    page = out / "report.html"
    page.write_text(to_html(data, tables, plots, out), encoding="utf-8")
    return ReportPaths(md, page, {k: v[0] for k, v in plots.items()}, data)


__all__ = ["ReportPaths", "RunData", "build_report", "load_run", "main_score_lines"]
