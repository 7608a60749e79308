"""``nli``: (anchor, entailment, contradiction) triplets, the paper's task (arXiv 2603.01732).

Prompts are :mod:`tripletforge.generate.prompts` (``nli-<pass>-<format>-v3``: a system message
defining entailment and contradiction, each shot as two exchanges, the pass's instruction
last; completion blocks ``Premise`` / ``Entailment`` / ``Contradiction``); ``--joint`` asks for
both sentences in one prompt. Rejections: the shared ones, and ``positive_equals_negative``
and ``joint_missing_part``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from tripletforge.generate.parsing import Parsed, Rejection, check_pair, parse_joint
from tripletforge.generate.pool import BUILTIN_POOL, Example
from tripletforge.generate.prompts import PROMPT_VERSION, chat_messages, completion_text
from tripletforge.generate.requests import Pass
from tripletforge.generate.tasks import register_task
from tripletforge.generate.tasks.base import GenerationTask


@register_task("nli")
class NLITask(GenerationTask):
    """Entailment (positive) and contradiction (negative) of a premise."""

    name = "nli"
    description = "anchor, entailment, contradiction"
    passes = ("positive", "negative")
    supports_joint = True
    default_pool = BUILTIN_POOL
    rejections = (Rejection.POSITIVE_EQUALS_NEGATIVE, Rejection.JOINT_MISSING_PART)
    prompt_version = PROMPT_VERSION

    def chat_messages(
        self, pass_: Pass, anchor: str, anchor_lang: str, out_lang: str, shots: Sequence[Example]
    ) -> tuple[dict[str, str], ...]:
        return chat_messages(pass_, anchor, anchor_lang, out_lang, shots)

    def completion_text(
        self, pass_: Pass, anchor: str, anchor_lang: str, out_lang: str, shots: Sequence[Example]
    ) -> tuple[str, tuple[str, ...]]:
        return completion_text(pass_, anchor, anchor_lang, out_lang, shots)

    def parse(
        self, pass_: Pass, raw: str, anchor: str, echo_texts: Iterable[str] = ()
    ) -> dict[str, Parsed]:
        if pass_ == "joint":
            return dict(zip(self.passes, parse_joint(raw, anchor, echo_texts), strict=True))
        return super().parse(pass_, raw, anchor, echo_texts)

    def check(self, anchor: str, parts: Mapping[str, Parsed]) -> dict[str, Parsed]:
        if "positive" not in parts or "negative" not in parts:
            return {}
        _, negative = check_pair(parts["positive"], parts["negative"])
        return {} if negative.ok else {"negative": negative}
