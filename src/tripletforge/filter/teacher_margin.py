"""Teacher margin: cos(anchor, positive) must exceed cos(anchor, negative) by a margin.

Texts are encoded with the prompt policy's symmetric prompt
(:func:`tripletforge.models.prompts.symmetric_prompt`: mteb's STS prompt, none for the
built-in e5), the protocol of the similarity the filter approximates.
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
        """cos(a, p) - cos(a, n) per row under the teacher (symmetric prompt of the policy)."""
        from tripletforge.models.prompts import encode_with_prompt, symmetric_prompt

        if not rows:
            return []
        texts = {str(r[k]) for r in rows for k in ("anchor", "positive", "negative")}
        order = sorted(texts)
        emb = encode_with_prompt(
            self.model,
            order,
            symmetric_prompt(self.model),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_tensor=True,
        )
        index = {t: i for i, t in enumerate(order)}

        def col(key: str):
            return emb[[index[str(r[key])] for r in rows]]

        anchor, positive, negative = col("anchor"), col("positive"), col("negative")
        diff = (anchor * positive).sum(-1) - (anchor * negative).sum(-1)
        return diff.tolist()

    def __call__(self, rows: Sequence[Row]) -> list[str | None]:
        out: list[str | None] = []
        for m in self.margins(rows):
            keep = m > self.margin
            out.append(None if keep else f"teacher margin <= {self.margin} ({m:.3f})")
        return out
