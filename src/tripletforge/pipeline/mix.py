"""The training rows of a mix arm: each source's rows, its share of the size, its record.

A mix arm (``source: mix``) trains one model for every language of the run on several
sources at once; each source is one training set (:mod:`tripletforge.train.mixture`: a batch
never mixes sets) with its weight. For a size *N* the train stage

1. splits *N* over the sources by weight (largest remainder), each capped by its ``limit``;
2. takes each source's rows: corpora (``xllora``, ``nli``, ``triplets``, ``scored``) in a
   seeded order
   (the same for every size, so sizes are nested), per-language sources (``parallel``,
   ``synthetic``) as the first rows of each language's kept file, the source's share split
   evenly over the languages;
3. drops rows that share a sentence with any language's evaluation or dev data (when the
   run's ``leakage_check`` is on; the per-language sources were checked by their filter);
4. records per source its kind, files, rows available, asked for, used and skipped (bad rows,
   leaked rows, by reason), its weight and its planned share of batches.

Training draws batches by weight (``mixing: weighted``), so a source's batch share is its
weight's share whatever its row count: a small source is repeated, a large one subsampled.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tripletforge.pipeline.config import MixSource
from tripletforge.train.mixture import largest_remainder

Row = dict[str, Any]

#: Sources whose rows come per language from upstream stages (keys ``<label>.<lang>``).
PER_LANGUAGE = ("parallel", "synthetic")


@dataclass
class SourceRows:
    """One source's rows for one train stage and what happened to the rest."""

    source: MixSource
    files: list[str]
    available: int
    requested: int
    rows: list[Row] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # reason → rows
    by_language: dict[str, int] = field(default_factory=dict)

    def record(self, batch_share: float, batches: int) -> dict[str, Any]:
        return {
            "kind": self.source.kind,
            "name": self.source.label,
            "weight": self.source.weight,
            "limit": self.source.limit,
            "files": self.files,
            "rows_available": self.available,
            "rows_requested": self.requested,
            "rows_used": len(self.rows),
            "rows_skipped": self.skipped,
            **({"by_language": self.by_language} if self.by_language else {}),
            "batch_share": round(batch_share, 4),
            "batches_per_epoch": batches,
        }


def source_shares(size: int, sources: list[MixSource]) -> list[int]:
    """Rows asked of each source: ``size`` split by weight, capped by each ``limit``."""
    shares = largest_remainder(size, [s.weight for s in sources])
    return [min(n, s.limit) if s.limit else n for n, s in zip(shares, sources, strict=True)]


def _read_corpus(source: MixSource, files: list[Path]) -> tuple[list[Row], dict[str, int]]:
    from tripletforge.data.triplets import read_triplets

    if source.kind == "scored":
        from tripletforge.data.scored import read_scored_rows

        return read_scored_rows(files, str(source.format))
    if source.kind == "xllora":
        from tripletforge.data.xllora import read_xllora_triplets

        rows, report = read_xllora_triplets(files[0].parent)
    else:
        rows, report = [], None
        for path in files:
            part, report = read_triplets(path)
            rows += part
    skipped = dict(report.skipped_by_reason) if report is not None else {}
    return rows, skipped


def gather(
    source: MixSource,
    requested: int,
    languages: list[str],
    inputs: dict[str, Any],
    seed: int,
) -> SourceRows:
    """The rows of one source for a train stage (before the leakage check)."""
    from tripletforge.data.jsonl import read_jsonl

    if source.kind in PER_LANGUAGE:  # the run languages this source has rows of
        languages = [lang for lang in languages if f"{source.label}.{lang}" in inputs]
        per_lang = dict(zip(languages, largest_remainder(requested, [1.0] * len(languages)),
                            strict=True))  # fmt: skip
        out = SourceRows(source, [], 0, requested)
        spare = 0
        kept: dict[str, list[Row]] = {}
        for lang in languages:
            path = Path(inputs[f"{source.label}.{lang}"])
            rows, _ = read_jsonl(path)
            kept[lang] = rows
            out.files.append(str(path))
            out.available += len(rows)
        # a language with fewer rows than its share leaves the rest to the others, in order
        for lang in languages:
            take = min(len(kept[lang]), per_lang[lang])
            spare += per_lang[lang] - take
            per_lang[lang] = take
        for lang in languages:
            extra = min(spare, len(kept[lang]) - per_lang[lang])
            per_lang[lang] += extra
            spare -= extra
        for lang in languages:
            part = kept[lang][: per_lang[lang]]
            out.rows += part
            out.by_language[lang] = len(part)
        return out
    files = list(inputs[source.label].paths)
    rows, skipped = _read_corpus(source, files)
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)  # the same order for every size: nested subsets
    out = SourceRows(source, [str(p) for p in files], len(rows), requested, skipped=skipped)
    out.rows = [rows[i] for i in order]
    return out


def count_languages(item: SourceRows, languages: list[str]) -> None:
    """Record the rows used per language of a corpus source whose rows say it (``scored``);
    a SemRel source's language without the split (or without rows left) shows as 0."""
    if item.source.kind != "scored":
        return
    counts: dict[str, int] = {}
    if item.source.format == "semrel":
        counts = dict.fromkeys(item.source.languages or languages, 0)
    for row in item.rows:
        lang = str(row.get("lang", "und"))
        counts[lang] = counts.get(lang, 0) + 1
    item.by_language = dict(sorted(counts.items()))


def drop_leaks(item: SourceRows, eval_sets: dict[str, list[str]]) -> None:
    """Remove (and count) rows sharing a sentence with the evaluation or dev data."""
    from tripletforge.filter.leakage import check_leakage

    leak = check_leakage(item.rows, eval_sets)
    if leak.leaked_rows:
        item.skipped["leaked into eval/dev"] = leak.leaked_rows
    item.rows = leak.kept


def planned_batches(items: list[SourceRows], batch_size: int) -> list[tuple[float, int]]:
    """Each source's batch share (its weight's share among the sources with rows) and its
    batches per epoch under the weighted sampler (all sets' batches split by weight)."""
    used = [item for item in items if item.rows]
    whole = sum(item.source.weight for item in used) or 1.0
    total = sum(math.ceil(len(item.rows) / batch_size) for item in used)
    counts = iter(largest_remainder(total, [item.source.weight for item in used]))
    return [(item.source.weight / whole, next(counts)) if item.rows else (0.0, 0) for item in items]


def mix_line(sources: list[dict[str, Any]]) -> str:
    """The mix in one line: ``xllora 60% (300 rows), nli 30% (150), parallel 10% (50)``."""
    parts = []
    for index, src in enumerate(sources):
        rows = f"{src.get('rows_used')} rows" if index == 0 else str(src.get("rows_used"))
        parts.append(f"{src.get('name')} {100 * float(src.get('batch_share') or 0):.0f}% ({rows})")
    return ", ".join(parts)
