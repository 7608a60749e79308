"""Teacher margin: cos(anchor, positive) must exceed cos(anchor, negative) by a margin.

Texts are encoded as the row's task encodes them (:mod:`tripletforge.filter.encoding`): with
the prompt policy's symmetric prompt (mteb's STS prompt, none for the built-in e5) for NLI
and paraphrase rows, with the query and document prompts for retrieval rows — the protocol
of the similarity the filter approximates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tripletforge.filter.base import Row, register_filter
from tripletforge.filter.config import FilterConfig

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


@register_filter("teacher_margin")
class TeacherMarginFilter:
    name = "teacher_margin"

    def __init__(self, config: FilterConfig, model: SentenceTransformer | None = None) -> None:
        if model is None and not config.teacher:
            raise ValueError("teacher_margin needs a teacher encoder (config.teacher)")
        self.teacher = config.teacher
        self.margin = config.teacher_margin
        self.batch_size = config.teacher_batch_size
        self._model = model

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            from tripletforge.models import load_encoder

            self._model = load_encoder(str(self.teacher))
        return self._model

    def margins(self, rows: Sequence[Row]) -> list[float]:
        """cos(a, p) - cos(a, n) per row under the teacher (the row's task prompts)."""
        from tripletforge.filter.encoding import encode_columns

        if not rows:
            return []
        emb = encode_columns(self.model, rows, ("anchor", "positive", "negative"), self.batch_size)
        anchor, positive, negative = emb["anchor"], emb["positive"], emb["negative"]
        diff = (anchor * positive).sum(-1) - (anchor * negative).sum(-1)
        return diff.tolist()

    def __call__(self, rows: Sequence[Row]) -> list[str | None]:
        out: list[str | None] = []
        for m in self.margins(rows):
            keep = m > self.margin
            out.append(None if keep else f"teacher margin <= {self.margin} ({m:.3f})")
        return out
