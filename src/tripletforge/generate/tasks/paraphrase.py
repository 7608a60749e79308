"""``paraphrase``: a paraphrase of the anchor and a related sentence that is not one (STS-shaped).

Two passes per seed: the ``positive`` says the same thing in other words; the ``negative`` is
on the same topic and may share words with the anchor but says something different — the
hard negative of semantic-similarity data, as in STS and paraphrase-identification sets.

Prompts (``paraphrase-<pass>-<format>-v1``): a system message defining both, each shot as two
exchanges (paraphrase, then related non-paraphrase) whatever the pass, so the two passes of a
seed share their prompt prefix; completion blocks ``Sentence`` / ``Paraphrase`` / ``Related,
not a paraphrase``. Rejections: the shared ones and ``positive_equals_negative``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tripletforge.generate.parsing import Parsed, Rejection, check_pair
from tripletforge.generate.pool import Example
from tripletforge.generate.requests import Pass
from tripletforge.generate.tasks import register_task
from tripletforge.generate.tasks.base import GenerationTask, named

_SYSTEM = (
    "You write paraphrase data. A paraphrase says exactly the same thing as the sentence in other "
    "words. A related sentence is on the same topic and may share words with the sentence, but "
    "says something different: it is not a paraphrase. Reply with the sentence only."
)
_ASK = {
    "positive": "that is a paraphrase of it (the same meaning in other words)",
    "negative": "on the same topic that is not a paraphrase of it (a different meaning)",
}
_LABEL = {"positive": "Paraphrase", "negative": "Related, not a paraphrase"}


def _ask(pass_: str, out_lang: str) -> str:
    return f"Write one {named(out_lang)} sentence {_ASK[pass_]}."


@register_task("paraphrase")
class ParaphraseTask(GenerationTask):
    """Paraphrase (positive) and topically close non-paraphrase (negative) of a sentence."""

    name = "paraphrase"
    description = "anchor, paraphrase, related non-paraphrase"
    passes = ("positive", "negative")
    default_pool = "paraphrase-en"
    rejections = (Rejection.POSITIVE_EQUALS_NEGATIVE,)

    def chat_messages(
        self, pass_: Pass, anchor: str, anchor_lang: str, out_lang: str, shots: Sequence[Example]
    ) -> tuple[dict[str, str], ...]:
        messages: list[dict[str, str]] = [{"role": "system", "content": _SYSTEM}]
        for shot in shots:
            sentence = f"Sentence ({named(shot.lang)}): {shot.anchor}\n"
            messages.append({"role": "user", "content": sentence + _ask("positive", shot.out_lang)})
            messages.append({"role": "assistant", "content": shot.positive})
            messages.append({"role": "user", "content": _ask("negative", shot.out_lang)})
            messages.append({"role": "assistant", "content": shot.negative})
        question = f"Sentence ({named(anchor_lang)}): {anchor}\n{_ask(pass_, out_lang)}"
        messages.append({"role": "user", "content": question})
        return tuple(messages)

    def completion_text(
        self, pass_: Pass, anchor: str, anchor_lang: str, out_lang: str, shots: Sequence[Example]
    ) -> tuple[str, tuple[str, ...]]:
        header = (
            "Each sentence is followed by a paraphrase (the same meaning in other words) and a "
            "related sentence on the same topic that is not a paraphrase.\n\n"
        )
        blocks = "".join(
            f"Sentence ({named(s.lang)}): {s.anchor}\n"
            f"{_LABEL['positive']} ({named(s.out_lang)}): {s.positive}\n"
            f"{_LABEL['negative']} ({named(s.out_lang)}): {s.negative}\n\n"
            for s in shots
        )
        final = f"Sentence ({named(anchor_lang)}): {anchor}\n{_LABEL[pass_]} ({named(out_lang)}):"
        return header + blocks + final, ("\n",)

    def check(self, anchor: str, parts: Mapping[str, Parsed]) -> dict[str, Parsed]:
        if "positive" not in parts or "negative" not in parts:
            return {}
        _, negative = check_pair(parts["positive"], parts["negative"])
        return {} if negative.ok else {"negative": negative}
