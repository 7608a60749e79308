"""Offline batched generation with vLLM (GPU); install with ``pip install tripletforge[vllm]``.

vLLM is imported when the backend is built, never when the registry is imported. Every request
gets its own ``SamplingParams`` seed; adapters named by a strategy are passed as LoRA requests
from the ``adapters`` mapping (name → folder).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tripletforge.generate.backends.base import Backend, cut_at_stop
from tripletforge.generate.generators import model_sha256
from tripletforge.generate.prompts import has_chat_template, render_prompt
from tripletforge.generate.requests import GenerationRequest, SamplingParams
from tripletforge.models.generators import resolve_generator


class VllmBackend(Backend):
    """``vllm.LLM.generate`` over all requests at once (vLLM schedules the batches)."""

    name = "vllm"

    def __init__(
        self,
        model: str,
        *,
        chat: bool | None = None,
        adapters: dict[str, str] | None = None,
        **llm_kwargs: Any,
    ) -> None:
        super().__init__()
        try:
            import vllm
        except ImportError as exc:
            raise ImportError(
                "the vllm backend needs vLLM: pip install 'tripletforge[vllm]' (GPU machines)"
            ) from exc
        path = resolve_generator(model)
        self.model_id = model
        self.model_sha256 = model_sha256(path)
        self._vllm = vllm
        self.adapters = dict(adapters or {})
        if self.adapters:
            llm_kwargs.setdefault("enable_lora", True)
        self.llm = vllm.LLM(model=path, **llm_kwargs)
        self.tokenizer = self.llm.get_tokenizer()
        self.supports_chat = has_chat_template(self.tokenizer) if chat is None else chat

    def _lora(self, name: str | None) -> Any:
        if not name:
            return None
        if name not in self.adapters:
            raise KeyError(
                f"adapter {name!r} not given to the vllm backend ({sorted(self.adapters)})"
            )
        from vllm.lora.request import LoRARequest

        return LoRARequest(name, sorted(self.adapters).index(name) + 1, self.adapters[name])

    def generate(
        self, requests: Sequence[GenerationRequest], sampling: SamplingParams
    ) -> list[str]:
        params = [
            self._vllm.SamplingParams(
                temperature=sampling.temperature,
                top_p=sampling.top_p,
                max_tokens=sampling.max_tokens,
                seed=r.seed,
                stop=list(r.stop) or None,
            )
            for r in requests
        ]
        prompts = [render_prompt(r, self.tokenizer) for r in requests]
        loras = [self._lora(r.adapter) for r in requests]
        outputs = self.llm.generate(
            prompts, params, lora_request=loras if any(loras) else None, use_tqdm=False
        )
        texts = []
        for request, out in zip(requests, outputs, strict=True):
            self.tokens_generated += len(out.outputs[0].token_ids)
            texts.append(cut_at_stop(out.outputs[0].text, request.stop))
        return texts
