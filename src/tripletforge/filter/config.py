"""Configuration of the filter stage (one pydantic model, YAML-friendly)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_FILTERS = ["length", "copy", "langid", "dedup", "teacher_margin", "consistency"]
#: Filters that encode with the teacher (left out when ``teacher`` is None).
TEACHER_FILTERS = ("teacher_margin", "relevance", "consistency")


class FilterConfig(BaseModel):
    """Which filters run, in order, and their thresholds."""

    model_config = ConfigDict(extra="forbid")

    filters: list[str] = Field(
        default_factory=lambda: list(DEFAULT_FILTERS),
        description="the filters to run, in order: length, copy, langid, dedup, teacher_margin, "
        "relevance, consistency (the teacher's are skipped without a teacher)",
    )
    # length
    min_chars: int = Field(3, ge=0, description="shortest allowed field (characters)")
    max_chars: int = Field(1000, ge=1, description="longest allowed field (characters)")
    max_length_ratio: float = Field(
        5.0,
        ge=1.0,
        description="max ratio of positive/negative length to anchor length, either way",
    )
    # copy
    copy_max_edits: int = Field(
        0,
        ge=0,
        description="a positive/negative within this many word-token edits of the anchor is a "
        "copy; 0: only exact and normalised copies (see tripletforge.filter.copies)",
    )
    # langid
    langid_min_confidence: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="a language mismatch rejects only at this confidence or more",
    )
    # dedup
    dedup_key: Literal["triplet", "anchor"] = Field(
        "triplet", description="what makes two rows duplicates: the whole triplet or the anchor"
    )
    # teacher margin
    teacher: str | None = Field(
        "e5-small", description="teacher encoder; null (--no-teacher) skips the filter"
    )
    teacher_margin: float = Field(0.0, description="cos(a,p) - cos(a,n) must exceed this")
    teacher_batch_size: int = Field(64, ge=1)
    # relevance (tripletforge.filter.relevance)
    relevance_quantile: float = Field(
        0.95,
        ge=0.5,
        lt=1.0,
        description="relevance: cos(a,p) must exceed this quantile of the teacher's cosines of "
        "random (unrelated) pairs of the same shape",
    )
    relevance_threshold: float | None = Field(
        None, ge=-1.0, le=1.0, description="relevance: a fixed cosine threshold (no calibration)"
    )
    relevance_calibration: Literal["auto", "reference", "data"] = Field(
        "auto",
        description="relevance: random pairs from shipped reference data (SNLI pool, SIB-200 "
        "sample), from the rows themselves, or auto (reference where shipped, else data)",
    )
    relevance_pairs: int = Field(
        1000, ge=10, description="relevance: most random pairs (and reference pairs) used"
    )
    # consistency (tripletforge.filter.consistency)
    consistency_k: int = Field(
        3,
        ge=1,
        description="consistency: a retrieval query is kept when the teacher ranks its passage "
        "in the top k of the passage pool",
    )

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        if isinstance(data, dict) and "copy_similarity" in data:
            raise ValueError(
                "copy_similarity (a character-level ratio) was replaced by copy_max_edits: the "
                "number of word-token edits at or below which a text copies the anchor "
                "(0, the default, rejects only exact and normalised copies)"
            )
        return data

    def active_filters(self) -> list[str]:
        """The filters that will run (the teacher filters drop out when no teacher is set)."""
        return [f for f in self.filters if not (f in TEACHER_FILTERS and not self.teacher)]
