"""Relevance: a positive must be related to its anchor in absolute terms, not only closer than
the negative.

The teacher-margin filter only asks whether the positive is *closer* to the anchor than the
negative; a pair such as a Hausa sentence about eyesight and the positive "The dog is a
lion." passes it whenever the negative is even further away. This filter rejects a row when
the teacher's cosine of (anchor, positive) is not above a threshold that says "related".

Calibration
-----------
Raw cosines of one encoder are not comparable across encoders, prompts or language pairs
(multilingual-e5 puts unrelated sentences near 0.7–0.8), so the threshold is calibrated on the
teacher's own score distribution, per group of rows with the same task, anchor language and
positive language, encoded exactly as the rows are (:mod:`tripletforge.filter.encoding`):

- **unrelated pairs** are random pairs (text *i* with the partner of text *j ≠ i*, a seeded
  sample of at most ``relevance_pairs``); the threshold is their ``relevance_quantile``
  quantile (default 0.95: a kept positive is closer to its anchor than 95% of random
  sentences are) — the false-accept rate of the test is ``1 − relevance_quantile``;
- **known related pairs**, where the package ships them, give the share of true pairs the
  threshold keeps (``related_kept``; reported, not used to set the threshold).

Where the pairs come from (``relevance_calibration``):

``reference``
    shipped data of the group's shape: English–English symmetric rows use the SNLI few-shot
    pool (premise, entailment) as related pairs and shuffled premise/entailment pairs as
    unrelated; cross-lingual symmetric rows between English and a language of the shipped
    SIB-200 sample (Amharic, Hausa) use its *train* split's translations and shuffled
    sentence pairs;
``data``
    the rows themselves: anchor *i* with the positive of row *j ≠ i* — the same languages,
    domain, prompts and teacher as the rows tested. Some shuffled pairs may share a topic,
    which raises the threshold slightly (conservative);
``auto`` (default)
    ``reference`` where shipped pairs exist for the group, else ``data`` (monolingual
    non-English rows, retrieval rows, other language pairs).

``relevance_threshold`` sets a fixed cosine instead. Each calibration (source, pairs, means,
threshold, related pairs kept) is stored in the funnel step's ``details``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tripletforge.data.tasks import task_of, task_shape
from tripletforge.filter.base import Row, register_filter
from tripletforge.filter.config import FilterConfig

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

#: The SNLI few-shot pool shipped with the package (CC BY-SA 4.0).
SNLI_POOL = ("nli_pool", "snli_en.jsonl")
#: The SIB-200 sample shipped with the package (FLORES-200, CC BY-SA 4.0).
SIB200_SAMPLE = ("samples", "sib200")


@dataclass
class Calibration:
    """How one group's threshold was set (cosines raw, in [-1, 1])."""

    group: str  # "<task> <lang>→<positive_lang>"
    source: str  # "snli-en", "sib200-sample hau-eng train", "data" or "fixed"
    quantile: float | None
    threshold: float
    unrelated_pairs: int = 0
    unrelated_mean: float | None = None
    related_pairs: int = 0
    related_mean: float | None = None
    related_kept: float | None = None  # share of known related pairs above the threshold

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _resource(*parts: str) -> Path:
    return Path(str(resources.files("tripletforge").joinpath("resources", *parts)))


def random_pairs(n: int, limit: int, seed: int = 0) -> list[tuple[int, int]]:
    """Up to ``limit`` distinct index pairs ``(i, j)`` with ``i != j`` among ``n`` items
    (all of them when there are no more than ``limit``), seeded."""
    if n < 2:
        return []
    total = n * (n - 1)
    rng = random.Random(seed)
    if total <= limit:
        return [(i, j) for i in range(n) for j in range(n) if i != j]
    chosen: set[tuple[int, int]] = set()
    while len(chosen) < limit:
        i, j = rng.randrange(n), rng.randrange(n)
        if i != j:
            chosen.add((i, j))
    return sorted(chosen)


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (linear interpolation, as numpy's default)."""
    import numpy as np

    return float(np.quantile(np.asarray(values, dtype=float), q))


def reference_pairs(task: str, lang: str, positive_lang: str) -> tuple[str, list[str], list[str]]:
    """``(source, anchors, positives)`` of known related pairs shipped for a group's shape;
    ``("", [], [])`` when the package ships none."""
    from tripletforge.data.jsonl import iter_jsonl
    from tripletforge.data.languages import canonical_code

    if not task_shape(task).symmetric:
        return "", [], []
    try:
        a, p = canonical_code(lang), canonical_code(positive_lang)
    except ValueError:
        return "", [], []
    if a == p == "eng":
        rows = list(iter_jsonl(_resource(*SNLI_POOL)))
        return "snli-en", [r["anchor"] for r in rows], [r["positive"] for r in rows]
    if "eng" not in (a, p) or a == p:
        return "", [], []
    from tripletforge.data.readers import read_flores_parallel

    other = p if a == "eng" else a
    try:
        data = read_flores_parallel(_resource(*SIB200_SAMPLE), other, "eng", split="train")
    except (FileNotFoundError, ValueError):
        return "", [], []
    source = f"sib200-sample {a}-{p} train"
    if a == "eng":
        return source, list(data.target), list(data.source)
    return source, list(data.source), list(data.target)


@register_filter("relevance")
class RelevanceFilter:
    """Rejects ``positive unrelated to anchor (cos C ≤ T)`` (see the module docstring)."""

    name = "relevance"

    def __init__(self, config: FilterConfig, model: Any = None) -> None:
        if model is None and not config.teacher:
            raise ValueError("relevance needs a teacher encoder (config.teacher)")
        self.teacher = config.teacher
        self.quantile = config.relevance_quantile
        self.fixed = config.relevance_threshold
        self.source = config.relevance_calibration
        self.max_pairs = config.relevance_pairs
        self.batch_size = config.teacher_batch_size
        self._model = model
        self._reference: dict[str, Calibration] = {}
        self.details: dict[str, Any] = {}

    @property
    def model(self) -> Any:
        if self._model is None:
            from tripletforge.models import load_encoder

            self._model = load_encoder(str(self.teacher))
        return self._model

    def _calibrate_reference(self, task: str, lang: str, positive_lang: str) -> Calibration | None:
        from tripletforge.filter.encoding import encode_columns

        key = f"{task} {lang}→{positive_lang}"
        if key in self._reference:
            return self._reference[key]
        source, anchors, positives = reference_pairs(task, lang, positive_lang)
        if not anchors:
            return None
        anchors, positives = anchors[: self.max_pairs], positives[: self.max_pairs]
        rows = [
            {"anchor": a, "positive": p, "task": task}
            for a, p in zip(anchors, positives, strict=True)
        ]
        emb = encode_columns(self.model, rows, ("anchor", "positive"), self.batch_size)
        related = (emb["anchor"] * emb["positive"]).sum(-1).tolist()
        calibration = self._from_scores(key, source, emb["anchor"], emb["positive"], related)
        self._reference[key] = calibration
        return calibration

    def _from_scores(
        self,
        group: str,
        source: str,
        anchors: torch.Tensor,
        positives: torch.Tensor,
        related: list[float] | None,
    ) -> Calibration:
        """Threshold from random (i, j ≠ i) pairs of ``anchors`` × ``positives``."""
        pairs = random_pairs(len(anchors), self.max_pairs)
        if not pairs:
            raise ValueError(
                f"relevance: cannot calibrate {group} on fewer than 2 rows; set "
                "relevance_threshold or relevance_calibration: reference"
            )
        i = [a for a, _ in pairs]
        j = [b for _, b in pairs]
        unrelated = (anchors[i] * positives[j]).sum(-1).tolist()
        threshold = quantile(unrelated, self.quantile)
        calibration = Calibration(
            group, source, self.quantile, threshold, len(unrelated),
            sum(unrelated) / len(unrelated),
        )  # fmt: skip
        if related:
            calibration.related_pairs = len(related)
            calibration.related_mean = sum(related) / len(related)
            calibration.related_kept = sum(s > threshold for s in related) / len(related)
        return calibration

    def __call__(self, rows: Sequence[Row]) -> list[str | None]:
        from tripletforge.filter.encoding import encode_columns

        if not rows:
            return []
        emb = encode_columns(self.model, rows, ("anchor", "positive"), self.batch_size)
        scores = (emb["anchor"] * emb["positive"]).sum(-1).tolist()
        groups: dict[tuple[str, str, str], list[int]] = {}
        for index, row in enumerate(rows):
            key = (task_of(row), str(row.get("lang") or ""), str(row.get("positive_lang") or ""))
            groups.setdefault(key, []).append(index)
        out: list[str | None] = [None] * len(rows)
        calibrations = []
        for (task, lang, positive_lang), members in groups.items():
            positive_lang = positive_lang or lang
            group = f"{task} {lang or '?'}→{positive_lang or '?'}"
            if self.fixed is not None:
                calibration = Calibration(group, "fixed", None, self.fixed)
            else:
                calibration = None
                if self.source in ("auto", "reference"):
                    calibration = self._calibrate_reference(task, lang, positive_lang)
                if calibration is None and self.source == "reference":
                    raise ValueError(
                        f"relevance: no shipped reference pairs for {group}; use "
                        "relevance_calibration: data (or auto), or set relevance_threshold"
                    )
                if calibration is None:
                    calibration = self._from_scores(
                        group, "data", emb["anchor"][members], emb["positive"][members], None
                    )
            calibrations.append(calibration.to_dict() | {"rows": len(members)})
            for index in members:
                if scores[index] <= calibration.threshold:
                    out[index] = (
                        f"positive unrelated to anchor (cos {scores[index]:.3f} <= "
                        f"{calibration.threshold:.3f}, {calibration.source})"
                    )
        self.details = {"calibrations": calibrations}
        for item in calibrations:
            log.info("relevance calibration: %s", item)
        return out
