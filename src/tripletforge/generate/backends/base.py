"""The one interface every generator backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from tripletforge.generate.requests import GenerationRequest, SamplingParams

if TYPE_CHECKING:
    from tripletforge.generate.strategies.base import AdapterNeeds


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """Truncate ``text`` at the first stop string (backends that return it)."""
    cut = len(text)
    for s in stop:
        if s and (i := text.find(s)) != -1:
            cut = min(cut, i)
    return text[:cut]


def thinking_kwargs(thinking: bool) -> dict[str, Any]:
    """Chat-template variables that switch a model's reasoning on or off.

    ``enable_thinking`` is the variable of the Qwen3-style templates (and of vLLM's and
    llama.cpp's ``chat_template_kwargs``); templates without it ignore it. tripletforge wants the
    bare sentence, so backends send ``enable_thinking=False`` unless built with ``thinking=True``.
    """
    return {"enable_thinking": bool(thinking)}


def answer_text(message: Mapping[str, Any]) -> str:
    """The answer of an OpenAI-style chat message, never its reasoning.

    Servers that parse reasoning (vLLM ``--reasoning-parser``, llama.cpp ``--reasoning-format``)
    return it in ``reasoning_content`` (or ``reasoning``) and the answer in ``content``. A reply
    that is all reasoning and no answer (cut off by the token limit) comes back as an unclosed
    ``<think>`` block, which the parser counts as ``reasoning_unfinished``.
    """
    content = message.get("content") or ""
    reasoning = message.get("reasoning_content") or message.get("reasoning") or ""
    if not content.strip() and str(reasoning).strip():
        return f"<think>{reasoning}"
    return content


def prefix_groups(requests: Sequence[GenerationRequest]) -> list[list[int]]:
    """Request indices grouped by shared prompt prefix, in first-seen order.

    The passes of one anchor attempt (same ``seed_id``, shots and adapter) differ only in their
    last few prompt tokens. A backend that runs a group back to back on one KV-cache slot
    processes the shared prefix once; groups are independent and can run concurrently.
    """
    groups: dict[tuple[object, ...], list[int]] = {}
    for i, r in enumerate(requests):
        groups.setdefault((r.seed_id, r.shot_ids, r.adapter), []).append(i)
    return list(groups.values())


class Backend(ABC):
    """Generates one completion per request; the runner never sees model internals.

    Subclasses set :attr:`name`, :attr:`model_id`, :attr:`model_sha256` and
    :attr:`supports_chat` (whether the model has a chat template), and count the tokens they
    generate in :attr:`tokens_generated`. A backend that can apply the LoRA adapter each
    request names sets :attr:`applies_adapters` and turns a strategy's
    :class:`~tripletforge.generate.strategies.base.AdapterNeeds` into the options it must be
    built with (:meth:`engine_options`).
    """

    name: ClassVar[str] = ""
    applies_adapters: ClassVar[bool] = False

    @classmethod
    def engine_options(cls, needs: AdapterNeeds) -> dict[str, Any]:
        """Constructor options that let this backend serve adapters with ``needs`` ({})."""
        return {}

    def __init__(self) -> None:
        self.model_id: str = ""
        self.model_sha256: str | None = None
        self.supports_chat: bool = False
        self.tokens_generated: int = 0

    @abstractmethod
    def generate(
        self, requests: Sequence[GenerationRequest], sampling: SamplingParams
    ) -> list[str]:
        """Return the raw completion (new text only) of each request, in request order."""

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Release the model (threads, servers, GPU memory)."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _no_adapters(self, requests: Sequence[GenerationRequest]) -> None:
        named = sorted({r.adapter for r in requests if r.adapter})
        if named:
            raise NotImplementedError(f"backend {self.name!r} cannot apply adapters {named}")
