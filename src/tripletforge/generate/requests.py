"""What a strategy asks a backend for: one :class:`GenerationRequest` per prompt."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

#: A generation pass: what one request asks for. NLI and paraphrase: the positive, the negative,
#: or both at once (``joint``, NLI only); retrieval: the ``query`` of a passage.
Pass = Literal["positive", "negative", "joint", "query"]


@dataclass(frozen=True)
class SamplingParams:
    """Sampling parameters shared by every backend (OpenAI names)."""

    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 64

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GenerationRequest:
    """One prompt for the backend, with everything needed to parse and trace its output.

    Exactly one of ``messages`` (chat format, rendered with the model's chat template) and
    ``text`` (plain completion format) is set. ``adapter`` names the LoRA adapter a strategy
    wants for this pass (``None``: the base model).
    """

    seed_id: str
    pass_: Pass
    prompt_id: str
    seed: int
    messages: tuple[dict[str, str], ...] | None = None
    text: str | None = None
    stop: tuple[str, ...] = ()
    shot_ids: tuple[str, ...] = ()
    echo_texts: frozenset[str] = field(default_factory=frozenset)
    adapter: str | None = None

    def __post_init__(self) -> None:
        if (self.messages is None) == (self.text is None):
            raise ValueError("a GenerationRequest needs exactly one of messages and text")

    @property
    def is_chat(self) -> bool:
        return self.messages is not None

    def approx_length(self) -> int:
        """Characters of the prompt (used to sort requests by length)."""
        if self.text is not None:
            return len(self.text)
        return sum(len(m["content"]) for m in self.messages or ())
