"""The strategy interface: per anchor and pass, which prompt and which model/adapter to use."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from tripletforge.data.schemas import Seed
from tripletforge.generate.requests import GenerationRequest, Pass

Mode = Literal["monolingual", "crosslingual"]


def derive_seed(*parts: object) -> int:
    """A 31-bit seed derived from any parts (stable across runs and platforms)."""
    digest = hashlib.sha256("\x00".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


@dataclass(frozen=True)
class StrategyContext:
    """What a strategy is built from (a view of the run's configuration)."""

    chat: bool  # chat messages (model has a chat template) or plain completion text
    mode: Mode = "monolingual"
    k: int = 3
    pool: str | None = None  # few-shot pool: "snli-en" or a JSONL path
    options: dict[str, Any] = field(default_factory=dict)  # strategy-specific settings

    def out_lang(self, anchor_lang: str) -> str:
        """Language of positive and negative: the anchor's, or English if cross-lingual."""
        return "eng" if self.mode == "crosslingual" else anchor_lang


@runtime_checkable
class Strategy(Protocol):
    """Plans the backend requests of one anchor.

    ``plan`` returns one request per pass (``positive``/``negative``, or ``joint``); the
    request carries the prompt, its template id and shots, its seed and the adapter to use.
    ``attempt`` counts retries (0 first) so that a retry can vary seed and shots.
    """

    name: str

    def plan(
        self, seed: Seed, passes: Sequence[Pass], *, anchor_seed: int, attempt: int
    ) -> list[GenerationRequest]: ...
