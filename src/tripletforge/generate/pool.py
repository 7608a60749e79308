"""Few-shot example pools: the shipped SNLI sample or a user's own JSONL in any language."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from tripletforge.data.jsonl import iter_jsonl
from tripletforge.data.schemas import ReadReport, seed_id_for

#: Name of the shipped pool (300 SNLI dev/test triplets, CC BY-SA 4.0; see ATTRIBUTION.md).
BUILTIN_POOL = "snli-en"


@dataclass(frozen=True)
class Example:
    """One few-shot (anchor, positive, negative) triplet."""

    id: str
    anchor: str
    positive: str
    negative: str
    lang: str = "eng"
    positive_lang: str = ""  # language of positive and negative ("" = same as lang)

    @property
    def out_lang(self) -> str:
        return self.positive_lang or self.lang

    def texts(self) -> tuple[str, str, str]:
        return self.anchor, self.positive, self.negative


def builtin_pool_path() -> Path:
    """Path of the shipped SNLI pool file."""
    return Path(str(resources.files("tripletforge") / "resources" / "nli_pool" / "snli_en.jsonl"))


def load_pool(
    source: str | Path = BUILTIN_POOL, lang: str = "eng"
) -> tuple[list[Example], ReadReport]:
    """Read a pool (``snli-en`` or a JSONL path with ``anchor, positive, negative``).

    Optional columns: ``id``, ``lang`` (of the anchor) and ``positive_lang`` (of positive and
    negative, for cross-lingual pools).
    Rows without the three texts are skipped and reported; ``lang`` is used for rows without
    one and ``id`` defaults to the row's line-stable hash.
    """
    path = builtin_pool_path() if str(source) == BUILTIN_POOL else Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"few-shot pool not found: {path}")
    report = ReadReport(str(path))
    examples: list[Example] = []
    for row in iter_jsonl(path, report):
        texts = [row.get(key) for key in ("anchor", "positive", "negative")]
        if not all(isinstance(t, str) and t.strip() for t in texts):
            report.rows_kept -= 1
            report.skip(report.rows_read, "missing anchor, positive or negative")
            continue
        anchor, positive, negative = (str(t).strip() for t in texts)
        row_lang = str(row.get("lang") or lang)
        examples.append(
            Example(
                id=str(row.get("id") or seed_id_for(anchor, row_lang)),
                anchor=anchor,
                positive=positive,
                negative=negative,
                lang=row_lang,
                positive_lang=str(row.get("positive_lang") or ""),
            )
        )
    if not examples:
        raise ValueError(f"few-shot pool {path} has no usable triplets ({report.summary()})")
    return examples, report
