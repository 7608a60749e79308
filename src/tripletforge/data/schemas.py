"""The data contracts between pipeline stages.

Every stage reads and writes one of these shapes. On disk they are JSONL (one object per
line, the column names below as keys) or Parquet with the same columns; in memory they are
the dataclasses below. Readers never crash on a bad row: they skip it and record a
:class:`BadRow` in a :class:`ReadReport`, so nothing is lost silently.

=================  ==========================================================================
contract           columns
=================  ==========================================================================
scored pairs       ``sentence1, sentence2, score`` (+ ``lang``, ``lang2`` when cross-lingual)
bitext             ``source, target`` with ``source_lang, target_lang`` on the set
labelled texts     ``text, label`` (+ a training split of the same shape; classification,
                   clustering)
labelled pairs     ``sentence1, sentence2, label`` with label 1 = positive (entailment,
                   paraphrase), 0 = negative (pair classification)
retrieval          BEIR/MTEB layout: ``corpus`` (``_id, title, text``), ``queries``
                   (``_id, text``), ``qrels`` (``query-id, corpus-id, score``) and, for
                   reranking, ``top_ranked`` (``query-id, corpus-id`` candidates)
seeds              ``text, lang`` (+ optional ``seed_id``, ``source``)
triplets           ``anchor, positive, negative`` (+ ``task``, ``lang``, ``positive_lang``
                   and the provenance columns of :data:`TRIPLET_PROVENANCE_COLUMNS`); the
                   ``task`` (``nli`` when absent) says how the columns are encoded
                   (:mod:`tripletforge.data.tasks`: a retrieval row is query, passage,
                   negative passage)
=================  ==========================================================================

Language codes are ISO 639-3 (``hau``, ``kin``, ``eng``); see :mod:`tripletforge.data.languages`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

PAIR_COLUMNS = ("sentence1", "sentence2", "score")
BITEXT_COLUMNS = ("source", "target")
TRIPLET_COLUMNS = ("anchor", "positive", "negative")
#: Provenance written with every generated triplet (see :mod:`tripletforge.generate`).
TRIPLET_PROVENANCE_COLUMNS = (
    "task",  # nli | retrieval | paraphrase (tripletforge.data.tasks)
    "lang",  # language of the anchor
    "positive_lang",  # language of positive and negative (== lang, or "eng" if cross-lingual)
    "seed_id",  # stable id of the anchor's seed row
    "strategy",  # icl | compose | xlora | real
    "backend",  # transformers | llamacpp | openai | vllm
    "model_id",  # name or path of the generator
    "model_sha256",  # hash of the generator file (GGUF) or config, when known
    "prompt_id",  # prompt template id(s), "+"-joined for the two passes
    "shot_ids",  # ids of few-shot examples used, per pass
    "sampling",  # dict of sampling parameters
    "seed",  # random seed of the request
    "raw_positive",  # raw generator output before parsing: raw_<pass> of each of the task's
    "raw_negative",  # passes (nli, paraphrase: positive, negative; retrieval: raw_query)
    "attempts",  # which attempt produced each pass (retries are bounded per anchor)
    "created_at",  # ISO-8601 UTC timestamp
)


@dataclass(frozen=True)
class BadRow:
    """One input row that was skipped, with where it was and why.

    ``line`` is the 1-based line the row starts on; ``last_line`` is set when the skipped
    row spans several lines (a CSV record with an unbalanced quote can swallow the lines that
    follow it: they are all accounted for by this one row).
    """

    path: str
    line: int
    reason: str
    last_line: int | None = None

    def __str__(self) -> str:
        where = f"{self.line}-{self.last_line}" if self.last_line else str(self.line)
        return f"{self.path}:{where}: {self.reason}"


@dataclass
class ReadReport:
    """What a reader kept and what it skipped (by reason, with file and line)."""

    path: str
    rows_read: int = 0
    rows_kept: int = 0
    bad_rows: list[BadRow] = field(default_factory=list)

    def skip(self, line: int, reason: str, last_line: int | None = None) -> None:
        """Record a skipped row (``last_line``: where it ends, when it spans several lines)."""
        self.bad_rows.append(BadRow(self.path, line, reason, last_line))

    @property
    def skipped_by_reason(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for bad in self.bad_rows:
            key = bad.reason.split(":", 1)[0]
            counts[key] = counts.get(key, 0) + 1
        return counts

    def summary(self) -> str:
        if not self.bad_rows:
            return f"{self.path}: {self.rows_kept} rows"
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(self.skipped_by_reason.items()))
        return f"{self.path}: {self.rows_kept} rows kept, {len(self.bad_rows)} skipped ({reasons})"


@dataclass
class PairSet:
    """Sentence pairs with a gold similarity score (STS / relatedness)."""

    name: str
    lang: str
    sentence1: list[str]
    sentence2: list[str]
    scores: list[float]
    lang2: str | None = None  # set for cross-lingual pairs (STS17 es-en)
    files: list[str] = field(default_factory=list)
    report: ReadReport | None = None

    def __len__(self) -> int:
        return len(self.scores)

    def sentences(self) -> list[str]:
        """Every text of the set (for leakage checks)."""
        return [*self.sentence1, *self.sentence2]


@dataclass
class BitextSet:
    """Line-aligned translations: ``source[i]`` translates ``target[i]``."""

    name: str
    source_lang: str
    target_lang: str
    source: list[str]
    target: list[str]
    files: list[str] = field(default_factory=list)
    report: ReadReport | None = None

    def __len__(self) -> int:
        return len(self.source)

    def sentences(self) -> list[str]:
        """Every text of the set (for leakage checks)."""
        return [*self.source, *self.target]


@dataclass
class LabelledSet:
    """Texts with a class label each (classification, clustering).

    ``texts``/``labels`` are the evaluated split; ``train_texts``/``train_labels`` the split a
    classifier is fitted on (empty for clustering). Labels are the data set's own strings.
    """

    name: str
    lang: str
    texts: list[str]
    labels: list[str]
    train_texts: list[str] = field(default_factory=list)
    train_labels: list[str] = field(default_factory=list)
    split: str = "test"
    train_split: str | None = None
    files: list[str] = field(default_factory=list)
    report: ReadReport | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def sentences(self) -> list[str]:
        """The evaluated texts (for leakage checks).

        The classifier's training split is not held out: an encoder trained on those
        sentences does not see the evaluated ones, so they are not leakage.
        """
        return list(self.texts)


@dataclass
class LabelledPairSet:
    """Sentence pairs with a binary label: 1 = positive (entailment), 0 = negative."""

    name: str
    lang: str
    sentence1: list[str]
    sentence2: list[str]
    labels: list[int]
    files: list[str] = field(default_factory=list)
    report: ReadReport | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def sentences(self) -> list[str]:
        """Every text of the set (for leakage checks)."""
        return [*self.sentence1, *self.sentence2]


@dataclass
class RetrievalSet:
    """Queries, a corpus and graded relevance judgements (BEIR/MTEB retrieval layout).

    ``corpus`` and ``queries`` map ids to texts; ``titles`` holds document titles where the
    corpus has them; ``qrels[query_id][doc_id]`` is a relevance grade (> 0 = relevant);
    ``top_ranked[query_id]`` lists the candidate documents to rerank (reranking only).
    """

    name: str
    lang: str
    corpus: dict[str, str]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    titles: dict[str, str] = field(default_factory=dict)
    top_ranked: dict[str, list[str]] | None = None
    split: str = "test"
    files: list[str] = field(default_factory=list)
    report: ReadReport | None = None

    def __len__(self) -> int:
        return len(self.queries)

    def sentences(self) -> list[str]:
        """Every query and document text (for leakage checks)."""
        return [*self.queries.values(), *self.corpus.values()]


#: Every evaluation data set contract.
EvalSet = PairSet | BitextSet | LabelledSet | LabelledPairSet | RetrievalSet


@dataclass(frozen=True)
class SeedSentence:
    """An anchor sentence to generate a triplet for."""

    text: str
    lang: str
    seed_id: str


@dataclass(frozen=True)
class Triplet:
    """(anchor, entailment, contradiction) with optional provenance."""

    anchor: str
    positive: str
    negative: str
    lang: str = ""
    positive_lang: str = ""


#: Byte-order marks of encodings other than UTF-8 (longest first: UTF-32 LE starts like UTF-16 LE).
_OTHER_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def refuse_other_encodings(data: bytes, path: str | Path) -> None:
    """Raise when ``data`` (a file's first bytes) starts with a UTF-16/32 byte-order mark.

    Every reader reads UTF-8 (a UTF-8 byte-order mark is allowed and dropped). A UTF-16 file
    (what Excel's "Unicode text" and PowerShell write) would otherwise fail on every line.

    Raises:
        ValueError: naming the encoding and how to convert the file.
    """
    for bom, name in _OTHER_BOMS:
        if data.startswith(bom):
            raise ValueError(
                f"{path}: the file is {name} (it starts with a {name} byte-order mark); save it "
                f"as UTF-8, e.g. `iconv -f {name} -t UTF-8 {Path(path).name} > utf8.csv`"
            )


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes (used for data-set and model provenance)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def seed_id_for(text: str, lang: str) -> str:
    """Stable id of a seed: the first 16 hex digits of sha256(lang + text)."""
    return hashlib.sha256(f"{lang}\x00{text}".encode()).hexdigest()[:16]
