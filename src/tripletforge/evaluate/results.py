"""Evaluation results: ``results.json``, ``results.md``, MTEB result files and rich tables.

Every metric is stored **raw**, as mteb reports it (correlations in [-1, 1], accuracies, F1,
AP, V-measure and ranking metrics in [0, 1]); an undefined metric is ``null``. Tables
(Markdown and terminal) show them **×100** with one decimal; alignment and uniformity are
shown raw with three decimals.

Next to ``results.json`` the evaluation writes, under ``mteb/``, one result file per task in
the layout mteb's ``ResultCache`` reads
(``mteb/results/<model>/<revision>/<task>.json`` plus ``model_meta.json``): task name, scores
per split and HF subset with ``main_score``, evaluation time and mteb version, written by
mteb's own ``TaskResult``/``ResultCache`` code. ``ResultCache("<out>/mteb").load_results()``
reads them back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from tripletforge.data.jsonl import strict_dumps
from tripletforge.provenance import library_versions

if TYPE_CHECKING:
    from huggingface_hub import EvalResult

log = logging.getLogger("tripletforge.evaluate")

#: Task types in table order, with the column label of their main score.
TASK_LABELS = {
    "sts": "STS",
    "bitext": "Bitext",
    "retrieval": "Retrieval",
    "reranking": "Rerank",
    "classification": "Classif.",
    "clustering": "Cluster",
    "pair_classification": "PairCls",
}
#: Columns of each task's table: (header, metric key).
_TASK_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "sts": [("spearman", "cosine_spearman"), ("pearson", "cosine_pearson")],
    "bitext": [
        ("F1 →", "f1"),
        ("acc →", "accuracy"),
        ("F1 ←", "f1_tgt2src"),
        ("margin acc →", "margin_accuracy"),
        ("margin acc ←", "margin_accuracy_tgt2src"),
    ],
    "retrieval": [
        ("nDCG@10", "ndcg_at_10"),
        ("MAP@10", "map_at_10"),
        ("R@10", "recall_at_10"),
        ("MRR@10", "mrr_at_10"),
    ],
    "reranking": [("MAP@1000", "map_at_1000"), ("nDCG@10", "ndcg_at_10"), ("MRR@10", "mrr_at_10")],
    "classification": [("accuracy", "accuracy"), ("F1", "f1"), ("F1 weighted", "f1_weighted")],
    "clustering": [("V-measure", "v_measure"), ("std", "v_measure_std"), ("AMI", "ami")],
    "pair_classification": [
        ("max AP", "max_ap"),
        ("max F1", "max_f1"),
        ("max acc", "max_accuracy"),
        ("cos AP", "cosine_ap"),
    ],
}


@dataclass
class DatasetResult:
    """Scores of one data set.

    ``metrics`` are mteb's scores of the data set (raw; ``None`` = undefined), including
    ``main_score``, the value of the task's main metric ``main_metric``.
    """

    name: str
    task: str
    format: str
    lang: str
    target_lang: str | None
    n: int
    metrics: dict[str, Any]
    geometry: dict[str, Any]
    main_metric: str = ""
    split: str = "test"
    hf_subset: str = "default"
    mteb_task: str = ""
    files: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    skipped_rows: int = 0
    notes: list[str] = field(default_factory=list)
    prompts: dict[str, str | None] = field(default_factory=dict)
    reused: bool = False  # scores taken from the score cache (nothing that determines them changed)
    task_result: Any = field(default=None, repr=False, compare=False)
    task_metadata: Any = field(default=None, repr=False, compare=False)

    @property
    def main_score(self) -> float | None:
        """MTEB's main score of the task (raw), or None when undefined."""
        value = self.metrics.get("main_score")
        return None if value is None else float(value)

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k not in ("task_result", "task_metadata")}
        data["main_score"] = self.main_score
        return data


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
    model_meta: Any = field(default=None, repr=False, compare=False)

    def __getitem__(self, name: str) -> DatasetResult:
        for result in self.datasets:
            if result.name == name:
                return result
        raise KeyError(name)

    @property
    def tasks(self) -> list[str]:
        """Task types present, in table order."""
        return [t for t in TASK_LABELS if any(r.task == t for r in self.datasets)]

    def by_language(self) -> dict[str, dict[str, float | None]]:
        """Per language: mean main score per task type and mean alignment/uniformity.

        Undefined values (None) are left out of each mean (see :meth:`aggregate_notes`); a
        mean of only undefined values is None.
        """
        table: dict[str, dict[str, list[float | None]]] = {}
        for r in self.datasets:
            row = table.setdefault(r.lang, {})
            row.setdefault(r.task, []).append(r.main_score)
            for key in ("alignment", "uniformity"):
                if key in r.geometry:
                    row.setdefault(key, []).append(r.geometry.get(key))
        out: dict[str, dict[str, float | None]] = {}
        for lang, row in sorted(table.items()):
            out[lang] = {}
            for key, values in row.items():
                defined = [v for v in values if v is not None]
                out[lang][key] = sum(defined) / len(defined) if defined else None
        return out

    def aggregate_notes(self) -> list[str]:
        """One line per (language, task) mean that skipped undefined data sets."""
        notes = []
        groups: dict[tuple[str, str], list[DatasetResult]] = {}
        for r in self.datasets:
            groups.setdefault((r.lang, r.task), []).append(r)
        for (lang, task), results in sorted(groups.items()):
            undefined = [r.name for r in results if r.main_score is None]
            if undefined:
                kept = len(results) - len(undefined)
                notes.append(
                    f"{lang} {task}: mean over {kept} of {len(results)} data sets; "
                    f"undefined (skipped): {', '.join(undefined)}"
                )
        return notes

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "fingerprint": self.fingerprint,
            "suite": self.suite,
            "suite_source": self.suite_source,
            "settings": self.settings,
            "versions": self.versions,
            "encoding": self.encoding,
            "created_at": self.created_at,
            "datasets": [r.to_dict() for r in self.datasets],
            "languages": self.by_language(),
            "notes": self.aggregate_notes(),
            "units": "raw, as mteb reports them: correlations in [-1, 1], other scores in "
            "[0, 1]; null = undefined",
        }

    def to_json(self) -> str:
        """Strict JSON (no NaN/Infinity)."""
        return strict_dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def tables(self) -> list[tuple[str, list[str], list[list[str]]]]:
        """(title, header, rows) of the per-language table and one table per task."""
        out = []
        langs = self.by_language()
        tasks = self.tasks
        header = ["lang", *(TASK_LABELS[t] for t in tasks), "align", "unif"]
        rows = [
            [
                lang,
                *(_pct(row.get(t)) for t in tasks),
                _raw(row.get("alignment")),
                _raw(row.get("uniformity")),
            ]
            for lang, row in langs.items()
        ]
        names = ", ".join(f"{TASK_LABELS[t]} {self._main_metric(t)}" for t in tasks)
        out.append((f"Per language: main score ×100 ({names}); align/unif raw", header, rows))
        for task in tasks:
            out.append(_task_table(task, [r for r in self.datasets if r.task == task]))
        return out

    def _main_metric(self, task: str) -> str:
        names = sorted({r.main_metric for r in self.datasets if r.task == task})
        return "/".join(names)

    def to_markdown(self) -> str:
        lines = [
            f"# Evaluation of `{self.model}` on suite `{self.suite}`",
            "",
            f"- model fingerprint: `{self.fingerprint[:16]}`",
            f"- created: {self.created_at}",
            "- versions: " + ", ".join(f"{k} {v}" for k, v in self.versions.items()),
            "- scores ×100 (raw values in results.json), computed by mteb's evaluators; "
            "alignment/uniformity raw; – = undefined",
            "",
        ]
        for title, header, rows in self.tables():
            lines += [f"## {title}", "", "| " + " | ".join(header) + " |"]
            lines.append("|" + "|".join("---" for _ in header) + "|")
            lines += ["| " + " | ".join(row) + " |" for row in rows]
            lines.append("")
        notes = self.aggregate_notes() + [f"{r.name}: {n}" for r in self.datasets for n in r.notes]
        if notes:
            lines += ["## Notes", "", *(f"- {n}" for n in notes), ""]
        lines += ["## Data files", "", "| dataset | file | sha256 |", "|---|---|---|"]
        for r in self.datasets:
            lines += [f"| {r.name} | {f['path']} | `{f['sha256'][:16]}` |" for f in r.files]
        return "\n".join(lines) + "\n"

    def print(self, console: Any = None) -> None:
        """Print the tables (and notes on undefined values) with rich."""
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
        for note in self.aggregate_notes():
            console.print(f"[yellow]note:[/yellow] {note}", highlight=False)

    def task_results(self) -> dict[str, Any]:
        """mteb ``TaskResult`` per task name (data sets sharing an ``mteb_task`` are merged)."""
        from mteb.results import TaskResult

        grouped: dict[str, list[DatasetResult]] = {}
        for r in self.datasets:
            if r.task_result is not None:
                grouped.setdefault(r.mteb_task or r.name, []).append(r)
        out = {}
        for name, results in grouped.items():
            if len(results) == 1:
                out[name] = results[0].task_result
                continue
            first = results[0].task_result
            scores: dict[str, list[dict[str, Any]]] = {}
            for r in results:
                for split, entries in r.task_result.scores.items():
                    scores.setdefault(split, []).extend(entries)
            out[name] = TaskResult(
                dataset_revision=first.dataset_revision,
                task_name=name,
                mteb_version=first.mteb_version,
                scores=scores,
                evaluation_time=sum(r.task_result.evaluation_time or 0 for r in results),
            )
        return out

    def write_mteb(self, folder: str | Path) -> list[Path]:
        """Write the MTEB result files under ``folder`` (a ``ResultCache`` root)."""
        from mteb.cache import ResultCache

        cache = ResultCache(Path(folder))
        written = []
        for task_result in self.task_results().values():
            cache.save_to_cache(task_result, self.model_meta)
            written.append(cache.get_task_result_path(task_result.task_name, self.model_meta))
        return written

    def hf_eval_results(self) -> list[EvalResult]:
        """``model-index`` entries of the data sets with a main score, by mteb's card writer.

        mteb's ``TaskResult.get_hf_eval_results`` builds one ``huggingface_hub.EvalResult`` per
        split and subset (task type, data set, split, main metric and its raw value).
        """
        out: list[EvalResult] = []
        for r in self.datasets:
            if r.task_result is None or r.task_metadata is None or r.main_score is None:
                continue
            out += mteb_card_eval_results(r.task_result, r.task_metadata)
        return out

    def write(self, out_dir: str | Path) -> tuple[Path, Path]:
        """Write ``results.json``, ``results.md`` and the MTEB files (``mteb/``) into ``out_dir``.

        Returns the paths of ``results.json`` and ``results.md``.
        """
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        json_path, md_path = folder / "results.json", folder / "results.md"
        json_path.write_text(self.to_json() + "\n", encoding="utf-8")
        md_path.write_text(self.to_markdown(), encoding="utf-8")
        if self.model_meta is not None:
            self.write_mteb(folder / "mteb")
        return json_path, md_path


def mteb_card_eval_results(task_result: Any, metadata: Any) -> list[EvalResult]:
    """mteb's ``get_hf_eval_results`` for a task mteb's registry does not know (a local one)."""
    import warnings

    from mteb.results import TaskResult

    class _LocalTaskResult(TaskResult):
        @property
        def task(self) -> Any:  # type: ignore[override]
            return SimpleNamespace(metadata=metadata)

    bound = _LocalTaskResult.model_validate(task_result.model_dump())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the method is marked deprecated in favour of pushes
        return bound.get_hf_eval_results()


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def _raw(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _task_table(task: str, results: list[DatasetResult]) -> tuple[str, list[str], list[list[str]]]:
    columns = list(_TASK_COLUMNS[task])
    mains = {r.main_metric for r in results}
    if len(mains) == 1 and (main := mains.pop()) not in {key for _, key in columns}:
        columns.insert(0, (main, main))
    pair = task in ("bitext",) or any(r.target_lang for r in results if task == "retrieval")
    header = ["dataset", "pair" if pair else "lang", "n", *(h for h, _ in columns)]
    if task == "sts":
        header.append("positives")
    header += ["align", "unif"]
    rows = []
    for r in results:
        lang = f"{r.lang}→{r.target_lang}" if pair and r.target_lang else r.lang
        row = [r.name, lang, str(r.n), *(_pct(r.metrics.get(key)) for _, key in columns)]
        if task == "sts":
            row.append(str(r.geometry.get("positives", 0)))
        row += [_raw(r.geometry.get("alignment")), _raw(r.geometry.get("uniformity"))]
        rows.append(row)
    titles = {
        "sts": "STS (cosine Spearman ×100, main score)",
        "bitext": "Bitext mining ×100 (→ source→target, mteb's direction; F1 = main score)",
        "retrieval": "Retrieval ×100 (nDCG@10 = main score)",
        "reranking": "Reranking ×100 (MAP@1000 = main score)",
        "classification": "Classification ×100 (logistic regression; accuracy = main score)",
        "clustering": "Clustering ×100 (V-measure = main score)",
        "pair_classification": "Pair classification ×100 (max AP = main score)",
    }
    return titles[task], header, rows
