"""The one prompt format shared by adapter training and adapter-based generation.

Adapters learn ``prompt → completion`` where the prompt is :func:`format_adapter_prompt` and the
completion is the hypothesis followed by the tokenizer's EOS. The ``compose`` and ``xlora``
generation strategies must build their prompts with the same function, or the adapters see a
format they were never trained on. The template is plain text (no chat template) so that base
and instruct generators alike can use it. The instruction is in English and does not name the
output language: the adapter decides it (English for XL-LoRA, the target language for a
composed adapter).
"""

from __future__ import annotations

from typing import Literal

Polarity = Literal["positive", "negative"]
POLARITIES: tuple[Polarity, ...] = ("positive", "negative")

#: Stored with adapters and triplets; bump it when the template below changes.
ADAPTER_PROMPT_ID = "adapter-nli-v1"

_RELATION = {
    "positive": "Write a sentence that is true given the premise.",
    "negative": "Write a sentence that contradicts the premise.",
}
_TEMPLATE = "Premise: {premise}\n{instruction}\nHypothesis:"


def check_polarity(polarity: str) -> Polarity:
    """Return ``polarity`` if it is ``positive`` or ``negative``, else raise ``ValueError``."""
    if polarity not in POLARITIES:
        raise ValueError(f"polarity must be one of {POLARITIES}, got {polarity!r}")
    return polarity  # type: ignore[return-value]


def format_adapter_prompt(premise: str, polarity: str) -> str:
    """The generation prompt for ``premise``: the model continues with the hypothesis.

    >>> print(format_adapter_prompt("A dog runs.", "negative"))
    Premise: A dog runs.
    Write a sentence that contradicts the premise.
    Hypothesis:
    """
    instruction = _RELATION[check_polarity(polarity)]
    return _TEMPLATE.format(premise=" ".join(premise.split()), instruction=instruction)


def format_adapter_completion(hypothesis: str) -> str:
    """The training target that follows the prompt (a leading space, no EOS: added as a token)."""
    return " " + " ".join(hypothesis.split())


def parse_adapter_output(text: str) -> str:
    """The hypothesis from a raw continuation: its first non-empty line, stripped."""
    for line in text.strip().splitlines():
        if line.strip():
            return line.strip()
    return ""
