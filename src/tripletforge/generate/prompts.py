"""NLI-framed prompts in two formats: chat messages and plain completion text.

A chat prompt is a list of messages that the backend renders with the model's own chat
template (tokenizer or GGUF metadata): a short system message defining entailment and
contradiction, then per shot two exchanges (its entailment, then its contradiction, answered
with the bare sentence), then the premise with, last, the instruction of the pass.
A completion prompt is plain text for base models (Gemma-3-270M base):
the same few-shot triplets as ``Premise (Hausa): …`` / ``Entailment (Hausa): …`` /
``Contradiction (Hausa): …`` blocks ending on the label to complete, with a newline stop.

Layout (``v3``): everything that depends on the pass comes last, so the positive and negative
passes of an anchor (same shots) share all of their prompt but the last few tokens; a backend
that keeps the KV cache of a prompt (llama.cpp slots, vLLM prefix caching) processes the shared
part once per anchor. The optional ``joint`` pass asks for both sentences at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tripletforge.data.languages import get_language
from tripletforge.generate.pool import Example
from tripletforge.generate.requests import GenerationRequest, Pass

PROMPT_VERSION = "v3"

_RELATION = {
    "positive": ("Entailment", "definitely true if the premise is true (an entailment)"),
    "negative": ("Contradiction", "definitely false if the premise is true (a contradiction)"),
}
_SYSTEM = (
    "You write natural language inference data. An entailment is a sentence that is definitely "
    "true if the premise is true; a contradiction is a sentence that is definitely false if the "
    "premise is true. Reply with the sentence only."
)


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


def _shot_block(shot: Example) -> str:
    """One few-shot triplet; the same text in every pass (the shared prompt prefix)."""
    name = language_name(shot.out_lang)
    return (
        f"Premise ({language_name(shot.lang)}): {shot.anchor}\n"
        f"Entailment ({name}): {shot.positive}\n"
        f"Contradiction ({name}): {shot.negative}\n"
    )


def _ask(pass_: Pass, out_lang: str) -> str:
    name = language_name(out_lang)
    return f"Write one {name} sentence that is {_RELATION[pass_][1]}."


def chat_messages(
    pass_: Pass, anchor: str, anchor_lang: str, out_lang: str, shots: Sequence[Example]
) -> tuple[dict[str, str], ...]:
    """System definition, few-shot exchanges, then the anchor's question (pass-specific last).

    Each shot is two exchanges (entailment, then contradiction) whatever the pass, so the
    passes of an anchor share every message but the last line of the last one. ``joint``
    shows each shot as one exchange answered with both lines.
    """
    messages: list[dict[str, str]] = [{"role": "system", "content": _SYSTEM}]
    for shot in shots:
        premise = f"Premise ({language_name(shot.lang)}): {shot.anchor}\n"
        if pass_ == "joint":
            messages.append(
                {"role": "user", "content": premise + _instruction("joint", shot.out_lang)}
            )
            messages.append({"role": "assistant", "content": _answer("joint", shot)})
            continue
        messages.append({"role": "user", "content": premise + _ask("positive", shot.out_lang)})
        messages.append({"role": "assistant", "content": shot.positive})
        messages.append({"role": "user", "content": _ask("negative", shot.out_lang)})
        messages.append({"role": "assistant", "content": shot.negative})
    question = _instruction(pass_, out_lang) if pass_ == "joint" else _ask(pass_, out_lang)
    messages.append(
        {"role": "user", "content": f"Premise ({language_name(anchor_lang)}): {anchor}\n{question}"}
    )
    return tuple(messages)


def _answer(pass_: Pass, shot: Example) -> str:
    if pass_ == "joint":
        return f"Entailment: {shot.positive}\nContradiction: {shot.negative}"
    return shot.positive if pass_ == "positive" else shot.negative


def completion_text(
    pass_: Pass, anchor: str, anchor_lang: str, out_lang: str, shots: Sequence[Example]
) -> tuple[str, tuple[str, ...]]:
    """Few-shot plain text ending on the label to complete, and its stop strings."""
    header = (
        "Each premise is followed by a sentence that is definitely true if the premise is true "
        "(entailment) and one that is definitely false if the premise is true (contradiction).\n\n"
    )
    blocks = "\n".join(_shot_block(s) for s in shots) + ("\n" if shots else "")
    label = "Contradiction" if pass_ == "negative" else "Entailment"
    final = (
        f"Premise ({language_name(anchor_lang)}): {anchor}\n{label} ({language_name(out_lang)}):"
    )
    stop = ("\n\n", "\nPremise") if pass_ == "joint" else ("\n",)
    return header + blocks + final, stop


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


def render_prompt(
    request: GenerationRequest, tokenizer: Any, template_kwargs: dict[str, Any] | None = None
) -> str:
    """The exact text given to the model: chat messages through the tokenizer's template.

    ``template_kwargs`` are extra template variables; the default switches reasoning off
    (``enable_thinking=False``, see :func:`~tripletforge.generate.backends.base.thinking_kwargs`)
    for templates that support it (Qwen3 and the like) and changes nothing for the others.
    """
    if request.text is not None:
        return request.text
    if not has_chat_template(tokenizer):
        raise ValueError(
            "this model has no chat template: use the completion prompt format "
            "(prompt_format='completion')"
        )
    if template_kwargs is None:
        template_kwargs = {"enable_thinking": False}
    return tokenizer.apply_chat_template(
        list(request.messages or ()), tokenize=False, add_generation_prompt=True, **template_kwargs
    )
