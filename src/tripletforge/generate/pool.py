"""Few-shot example pools: the shipped ones or a user's own JSONL in any language.

Shipped pools, by name: ``snli-en`` (NLI, 300 SNLI triplets, CC BY-SA 4.0),
``retrieval-en`` (24 English passage → query pairs) and ``paraphrase-en`` (24 English
anchor, paraphrase, related non-paraphrase triplets), written for tripletforge (see
``resources/task_pools/ATTRIBUTION.md``). Each generation task names its default pool
(:mod:`tripletforge.generate.tasks`) and the pool file's columns it reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from tripletforge.data.jsonl import iter_jsonl
from tripletforge.data.schemas import ReadReport, seed_id_for

#: Name of the shipped NLI pool (300 SNLI dev/test triplets, CC BY-SA 4.0; see ATTRIBUTION.md).
BUILTIN_POOL = "snli-en"
#: Shipped pools: name → (resources folder, file).
BUILTIN_POOLS = {
    BUILTIN_POOL: ("nli_pool", "snli_en.jsonl"),
    "retrieval-en": ("task_pools", "retrieval_en.jsonl"),
    "paraphrase-en": ("task_pools", "paraphrase_en.jsonl"),
}
#: Example field → pool file column (the NLI layout).
TRIPLET_FIELDS = {"anchor": "anchor", "positive": "positive", "negative": "negative"}


@dataclass(frozen=True)
class Example:
    """One few-shot example: the seed (``anchor``) and the task's outputs for it.

    For NLI and paraphrase ``positive``/``negative`` are the two generated sentences; for
    retrieval ``anchor`` is the passage, ``positive`` its query and ``negative`` is empty.
    """

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


def builtin_pool_path(name: str = BUILTIN_POOL) -> Path:
    """Path of a shipped pool file (``snli-en``, ``retrieval-en``, ``paraphrase-en``)."""
    folder, file = BUILTIN_POOLS[name]
    return Path(str(resources.files("tripletforge") / "resources" / folder / file))


def load_pool(
    source: str | Path = BUILTIN_POOL,
    lang: str = "eng",
    columns: Mapping[str, str] | None = None,
) -> tuple[list[Example], ReadReport]:
    """Read a pool (a shipped name or a JSONL path).

    ``columns`` maps the example fields ``anchor``, ``positive`` and ``negative`` to the
    file's columns (default: the same names, all three required); a field left out is empty
    (retrieval pools: ``{"anchor": "passage", "positive": "query"}``). Optional columns:
    ``id``, ``lang`` (of the anchor) and ``positive_lang`` (of the outputs, for cross-lingual
    pools). Rows without the required texts are skipped and reported; ``lang`` is used for
    rows without one and ``id`` defaults to the row's line-stable hash.
    """
    fields = dict(columns or TRIPLET_FIELDS)
    path = builtin_pool_path(str(source)) if str(source) in BUILTIN_POOLS else Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"few-shot pool not found: {path}")
    report = ReadReport(str(path))
    examples: list[Example] = []
    for row in iter_jsonl(path, report):
        texts = {name: row.get(column) for name, column in fields.items()}
        if not all(isinstance(t, str) and t.strip() for t in texts.values()):
            report.rows_kept -= 1
            *first, last = fields.values()
            missing = f"{', '.join(first)} or {last}" if first else last
            report.skip(report.rows_read, f"missing {missing}")
            continue
        anchor, positive, negative = (
            str(texts.get(k) or "").strip() for k in ("anchor", "positive", "negative")
        )
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
        raise ValueError(f"few-shot pool {path} has no usable examples ({report.summary()})")
    return examples, report
