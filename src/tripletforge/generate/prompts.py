"""NLI-framed prompts in two formats: chat messages and plain completion text.

A chat prompt is a list of messages that the backend renders with the model's own chat
template (tokenizer or GGUF metadata). A completion prompt is plain text for base models
(Gemma-3-270M base): few-shot blocks ``Premise (Hausa): …`` / ``Entailment (Hausa): …`` ending
on the label to complete, with a newline stop. Both ask for one pass (entailment or
contradiction) or, optionally, both at once (``joint``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tripletforge.data.languages import get_language
from tripletforge.generate.pool import Example
from tripletforge.generate.requests import GenerationRequest, Pass

PROMPT_VERSION = "v1"

_RELATION = {
    "positive": ("Entailment", "definitely true if the premise is true (an entailment)"),
    "negative": ("Contradiction", "definitely false if the premise is true (a contradiction)"),
}


def language_name(code: str) -> str:
    """English name of an ISO 639-3 code (``hau`` → ``Hausa``)."""
    return get_language(code).name


def prompt_id(pass_: Pass, chat: bool) -> str:
    """Stable id of a prompt template, written with every triplet."""
    return f"nli-{pass_}-{'chat' if chat else 'completion'}-{PROMPT_VERSION}"


def _instruction(pass_: Pass, out_lang: str) -> str:
    name = language_name(out_lang)
    if pass_ == "joint":
        return (
            f"Write one {name} sentence that is definitely true if the premise is true "
            f"(entailment) and one {name} sentence that is definitely false if the premise is "
            "true (contradiction). Reply with two lines:\nEntailment: <sentence>\n"
            "Contradiction: <sentence>"
        )
    return f"Write one {name} sentence that is {_RELATION[pass_][1]}. Reply with the sentence only."


def _user(pass_: Pass, anchor: str, anchor_lang: str, out_lang: str) -> str:
    return f"Premise ({language_name(anchor_lang)}): {anchor}\n{_instruction(pass_, out_lang)}"


def _answer(pass_: Pass, shot: Example) -> str:
    if pass_ == "joint":
        return f"Entailment: {shot.positive}\nContradiction: {shot.negative}"
    return shot.positive if pass_ == "positive" else shot.negative


def chat_messages(
    pass_: Pass, anchor: str, anchor_lang: str, out_lang: str, shots: Sequence[Example]
) -> tuple[dict[str, str], ...]:
    """Few-shot chat: one user/assistant exchange per shot, then the anchor's question."""
    messages: list[dict[str, str]] = []
    for shot in shots:
        messages.append(
            {"role": "user", "content": _user(pass_, shot.anchor, shot.lang, shot.out_lang)}
        )
        messages.append({"role": "assistant", "content": _answer(pass_, shot)})
    messages.append({"role": "user", "content": _user(pass_, anchor, anchor_lang, out_lang)})
    return tuple(messages)


def completion_text(
    pass_: Pass, anchor: str, anchor_lang: str, out_lang: str, shots: Sequence[Example]
) -> tuple[str, tuple[str, ...]]:
    """Few-shot plain text ending on the label to complete, and its stop strings."""
    if pass_ == "joint":
        header = (
            "Each premise is followed by a sentence that is definitely true if the premise is "
            "true (entailment) and one that is definitely false (contradiction).\n\n"
        )
    else:
        header = f"Each premise is followed by a sentence that is {_RELATION[pass_][1]}.\n\n"
    blocks = []
    for shot in shots:
        name = language_name(shot.out_lang)
        block = f"Premise ({language_name(shot.lang)}): {shot.anchor}\n"
        if pass_ in ("positive", "joint"):
            block += f"Entailment ({name}): {shot.positive}\n"
        if pass_ in ("negative", "joint"):
            block += f"Contradiction ({name}): {shot.negative}\n"
        blocks.append(block)
    label = "Contradiction" if pass_ == "negative" else "Entailment"
    final = (
        f"Premise ({language_name(anchor_lang)}): {anchor}\n{label} ({language_name(out_lang)}):"
    )
    stop = ("\n\n", "\nPremise") if pass_ == "joint" else ("\n",)
    return header + "\n".join(blocks) + ("\n" if blocks else "") + final, stop


@dataclass(frozen=True)
class PromptBuilder:
    """Builds the request of one pass in the chosen format."""

    chat: bool

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
        echo = frozenset(t for shot in shots for t in shot.texts())
        common: dict[str, Any] = {
            "seed_id": seed_id,
            "pass_": pass_,
            "prompt_id": prompt_id(pass_, self.chat),
            "seed": seed,
            "shot_ids": tuple(shot.id for shot in shots),
            "echo_texts": echo,
            "adapter": adapter,
        }
        if self.chat:
            messages = chat_messages(pass_, anchor, anchor_lang, out_lang, shots)
            return GenerationRequest(messages=messages, **common)
        text, stop = completion_text(pass_, anchor, anchor_lang, out_lang, shots)
        return GenerationRequest(text=text, stop=stop, **common)


def has_chat_template(tokenizer: Any) -> bool:
    """Whether a Hugging Face tokenizer carries a chat template."""
    return bool(getattr(tokenizer, "chat_template", None))


def render_prompt(request: GenerationRequest, tokenizer: Any) -> str:
    """The exact text given to the model: chat messages through the tokenizer's template."""
    if request.text is not None:
        return request.text
    if not has_chat_template(tokenizer):
        raise ValueError(
            "this model has no chat template: use the completion prompt format "
            "(prompt_format='completion')"
        )
    return tokenizer.apply_chat_template(
        list(request.messages or ()), tokenize=False, add_generation_prompt=True
    )
