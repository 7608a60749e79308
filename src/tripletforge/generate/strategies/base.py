"""The strategy interface: per anchor and pass, which prompt and which model/adapter to use.

Besides planning requests, a strategy class declares the facts about itself that the rest of
the toolkit needs before anything is built (:class:`StrategyBase`): whether it requests LoRA
adapters (and which backend capacity they need), which output ``mode`` it requires, and which
options it needs. Config validation, the CLI and the pipeline ask the registry for them
(:func:`tripletforge.generate.strategies.strategy_class`) instead of repeating them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from tripletforge.data.schemas import SeedSentence
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
    pool: str | None = None  # few-shot pool: a shipped name or a JSONL path (None: the task's)
    options: dict[str, Any] = field(default_factory=dict)  # strategy-specific settings
    task: str = "nli"  # what is generated (tripletforge.generate.tasks)

    def out_lang(self, anchor_lang: str) -> str:
        """Language of positive and negative: the anchor's, or English if cross-lingual."""
        return "eng" if self.mode == "crosslingual" else anchor_lang


@dataclass(frozen=True)
class AdapterNeeds:
    """What the LoRA adapters of a run ask of an engine that serves them per request.

    ``max_loras``: adapters one batch can name; ``max_rank``: their largest LoRA rank (None:
    not known before the adapters exist, e.g. composed ones whose parts are not given yet).
    """

    max_loras: int
    max_rank: int | None = None


class StrategyBase:
    """Facts a strategy declares once (class attributes and class methods).

    ``uses_adapters``: requests name a LoRA adapter, so the backend must apply adapters per
    request; ``required_mode``: the only ``mode`` the strategy can write (``None``: any);
    ``tasks``: the generation tasks it can write (``None``: every task, prompting with the
    task's own prompts).
    """

    name: ClassVar[str] = ""
    uses_adapters: ClassVar[bool] = False
    required_mode: ClassVar[Mode | None] = None
    tasks: ClassVar[tuple[str, ...] | None] = None

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> None:
        """Raise ``ValueError`` naming what is missing from ``options`` (no file access)."""

    @classmethod
    def adapter_needs(cls, options: Mapping[str, Any]) -> AdapterNeeds | None:
        """The adapters a run with ``options`` will request (None: no adapters)."""
        return None


@runtime_checkable
class Strategy(Protocol):
    """Plans the backend requests of one anchor.

    ``plan`` returns one request per pass (the task's passes, or ``joint``); the request
    carries the prompt, its template id and shots, its seed and the adapter to use.
    ``attempt`` counts retries (0 first) so that a retry can vary seed and shots.
    """

    name: str

    def plan(
        self, sentence: SeedSentence, passes: Sequence[Pass], *, anchor_seed: int, attempt: int
    ) -> list[GenerationRequest]: ...
