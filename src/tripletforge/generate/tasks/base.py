"""The generation task interface: what is generated from one seed, prompted, parsed and kept.

A task (``nli``, ``retrieval``, ``paraphrase``) decides

- its **passes** (the outputs written per seed: ``positive`` and ``negative``, or ``query``),
- its **prompts** in both formats (chat messages for models with a chat template, plain
  completion text for base models), built from the seed and the few-shot examples a strategy
  chose from the task's pool,
- its **parser rules** (the shared :func:`~tripletforge.generate.parsing.parse_sentence` plus
  the task's own checks) and their **rejection reasons**, counted like the shared ones,
- the **row** it writes (the triplet contract's ``anchor, positive[, negative]`` and the
  languages; :mod:`tripletforge.data.tasks` says how each column is encoded).

The runner (:mod:`tripletforge.generate.runner`), resume, provenance, backends and strategies
are the same for every task; a strategy that cannot write a task says so
(:attr:`~tripletforge.generate.strategies.base.StrategyBase.tasks`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from tripletforge.data.schemas import SeedSentence
from tripletforge.data.tasks import Role, TaskShape, task_shape
from tripletforge.generate.parsing import Parsed, parse_sentence
from tripletforge.generate.pool import TRIPLET_FIELDS, Example
from tripletforge.generate.prompts import language_name
from tripletforge.generate.requests import GenerationRequest, Pass


class GenerationTask:
    """A generation task; subclasses set the class attributes and write the prompts.

    ``passes``: the outputs of one seed, in order; ``supports_joint``: whether the passes can
    be asked for in one prompt (``--joint``); ``needs_negatives``: rows are written without a
    ``negative``, mined afterwards from the seed corpus; ``default_pool``: the shipped few-shot pool
    (:data:`tripletforge.generate.pool.BUILTIN_POOLS`); ``pool_columns``: example field →
    pool file column; ``rejections``: the task's own rejection reasons (besides
    :class:`~tripletforge.generate.parsing.Rejection`); ``roles``: how the row's columns are
    encoded (:class:`tripletforge.data.tasks.TaskShape`); ``prompt_version``: part of every
    prompt id.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    passes: ClassVar[tuple[Pass, ...]] = ()
    supports_joint: ClassVar[bool] = False
    needs_negatives: ClassVar[bool] = False
    default_pool: ClassVar[str] = ""
    pool_columns: ClassVar[Mapping[str, str]] = TRIPLET_FIELDS
    rejections: ClassVar[tuple[str, ...]] = ()
    roles: ClassVar[Mapping[str, Role | None]] = {}
    prompt_version: ClassVar[str] = "v1"

    def __init__(self, chat: bool) -> None:
        self.chat = chat

    @classmethod
    def shape(cls) -> TaskShape:
        """The row shape of this task (how each column is encoded)."""
        return task_shape(cls.name)

    def prompt_id(self, pass_: Pass) -> str:
        """Stable id of a prompt template, written with every row."""
        return f"{self.name}-{pass_}-{'chat' if self.chat else 'completion'}-{self.prompt_version}"

    # --- prompts ----------------------------------------------------------------------

    def chat_messages(
        self, pass_: Pass, anchor: str, anchor_lang: str, out_lang: str, shots: Sequence[Example]
    ) -> tuple[dict[str, str], ...]:  # pragma: no cover - abstract
        raise NotImplementedError

    def completion_text(
        self, pass_: Pass, anchor: str, anchor_lang: str, out_lang: str, shots: Sequence[Example]
    ) -> tuple[str, tuple[str, ...]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def request(
        self,
        *,
        seed_id: str,
        pass_: Pass,
        anchor: str,
        anchor_lang: str,
        out_lang: str,
        shots: Sequence[Example],
        seed: int,
        adapter: str | None = None,
    ) -> GenerationRequest:
        """The request of one pass in the task's chosen format (chat or completion)."""
        common: dict[str, Any] = {
            "seed_id": seed_id,
            "pass_": pass_,
            "prompt_id": self.prompt_id(pass_),
            "seed": seed,
            "shot_ids": tuple(shot.id for shot in shots),
            "echo_texts": frozenset(t for shot in shots for t in shot.texts() if t),
            "adapter": adapter,
        }
        if self.chat:
            messages = self.chat_messages(pass_, anchor, anchor_lang, out_lang, shots)
            return GenerationRequest(messages=messages, **common)
        text, stop = self.completion_text(pass_, anchor, anchor_lang, out_lang, shots)
        return GenerationRequest(text=text, stop=stop, **common)

    # --- parsing and checks -------------------------------------------------------------

    def parse(
        self, pass_: Pass, raw: str, anchor: str, echo_texts: Iterable[str] = ()
    ) -> dict[str, Parsed]:
        """Parse one request's raw output: pass → accepted text or counted rejection."""
        return {pass_: parse_sentence(raw, anchor, echo_texts)}

    def check(self, anchor: str, parts: Mapping[str, Parsed]) -> dict[str, Parsed]:
        """Checks across the accepted passes of a seed: the passes to reject (and why)."""
        return {}

    # --- rows ---------------------------------------------------------------------------

    def languages(self, seed_lang: str, out_lang: str) -> tuple[str, str]:
        """``(lang, positive_lang)`` of a row: the anchor column's and the others' language."""
        return seed_lang, out_lang

    def row(self, seed: SeedSentence, parts: Mapping[str, str]) -> dict[str, str]:
        """The contract columns of a finished seed (``anchor, positive[, negative]``)."""
        return {"anchor": seed.text, **{p: parts[p] for p in self.passes}}


def named(code: str) -> str:
    """``Hausa`` for ``hau`` (prompts name languages in English)."""
    return language_name(code)
