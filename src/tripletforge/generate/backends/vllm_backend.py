"""Offline batched generation with vLLM (GPU); install with ``pip install tripletforge[vllm]``.

vLLM is imported when the backend is built, never when the registry is imported. Every request
gets its own ``SamplingParams`` seed. A request's ``adapter`` (what the ``compose`` and
``xlora`` strategies set: the PEFT folder of the pass's adapter, or a name from the
``adapters`` mapping) becomes a ``LoRARequest(name, id, path)``: one id per adapter folder,
numbered from 1 in order of first use and kept for the backend's lifetime, so the positive and
negative adapters are two LoRA requests served side by side in one ``LLM.generate`` call.

The engine must be built with LoRA on (``enable_lora``, ``max_loras``, ``max_lora_rank``):
:meth:`VllmBackend.engine_options` derives them from what a strategy declares it will request
(:class:`~tripletforge.generate.strategies.base.AdapterNeeds`), and
:func:`tripletforge.generate.config.engine_options` applies them wherever a backend is built.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tripletforge.generate.backends.base import Backend, cut_at_stop, thinking_kwargs
from tripletforge.generate.generators import model_sha256
from tripletforge.generate.prompts import has_chat_template, render_prompt
from tripletforge.generate.requests import GenerationRequest, SamplingParams
from tripletforge.models.generators import resolve_generator

if TYPE_CHECKING:
    from tripletforge.generate.strategies.base import AdapterNeeds

#: LoRA ranks vLLM accepts for ``max_lora_rank``.
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


def vllm_lora_rank(rank: int) -> int:
    """The smallest rank vLLM accepts for ``max_lora_rank`` that holds ``rank``."""
    return next((r for r in VLLM_LORA_RANKS if r >= rank), rank)


class VllmBackend(Backend):
    """``vllm.LLM.generate`` over all requests at once (vLLM schedules the batches).

    ``adapters`` maps names to PEFT folders (requests may name either); ``llm`` injects an
    engine object with vLLM's ``LLM`` interface instead of building one (tests, shared
    engines). ``thinking`` (default off) sets the chat template's ``enable_thinking``. Other
    keyword arguments go to ``vllm.LLM``.
    """

    name = "vllm"
    applies_adapters = True

    @classmethod
    def engine_options(cls, needs: AdapterNeeds) -> dict[str, Any]:
        """``vllm.LLM`` LoRA settings: ``enable_lora``, ``max_loras`` and ``max_lora_rank``.

        ``max_lora_rank`` is the adapters' largest rank (a composed adapter has the summed
        ranks of its parts) rounded up to a rank vLLM accepts; left out when not known.
        """
        options: dict[str, Any] = {"enable_lora": True, "max_loras": needs.max_loras}
        if needs.max_rank is not None:
            options["max_lora_rank"] = vllm_lora_rank(needs.max_rank)
        return options

    def __init__(
        self,
        model: str,
        *,
        chat: bool | None = None,
        adapters: Mapping[str, str] | None = None,
        llm: Any = None,
        thinking: bool = False,
        **llm_kwargs: Any,
    ) -> None:
        super().__init__()
        self.template_kwargs = thinking_kwargs(thinking)  # reasoning off unless asked for
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
        self.adapters = {name: str(folder) for name, folder in (adapters or {}).items()}
        if self.adapters:
            llm_kwargs.setdefault("enable_lora", True)
            llm_kwargs.setdefault("max_loras", max(2, min(len(self.adapters), 8)))
        self.lora_enabled = bool(llm_kwargs.get("enable_lora"))
        if llm is None and llm_kwargs.get("enable_lora") and "max_lora_rank" not in llm_kwargs:
            from tripletforge.adapters.compose import lora_rank

            ranks = [lora_rank(p) for p in self.adapters.values()]
            if ranks:
                llm_kwargs["max_lora_rank"] = vllm_lora_rank(max(ranks))
        self.llm = llm if llm is not None else vllm.LLM(model=path, **llm_kwargs)
        self._loras: dict[str, Any] = {}  # resolved adapter folder → LoRARequest
        self.tokenizer = self.llm.get_tokenizer()
        self.supports_chat = has_chat_template(self.tokenizer) if chat is None else chat

    def lora_request(self, adapter: str | None) -> Any:
        """The ``LoRARequest`` of a request's adapter (a name or a folder); None: base model."""
        if not adapter:
            return None
        if adapter in self.adapters:
            name, folder = adapter, Path(self.adapters[adapter])
        else:
            folder = Path(adapter)
            if not (folder / "adapter_config.json").is_file():
                raise KeyError(
                    f"adapter {adapter!r} is neither a PEFT folder nor one of the adapters "
                    f"given to the vllm backend ({sorted(self.adapters)})"
                )
            digest = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:8]
            name = f"{folder.name}-{digest}"
        key = str(folder.resolve())
        if key not in self._loras:
            if not self.lora_enabled:
                raise ValueError(
                    "the vllm engine was built without LoRA but a request names an adapter: "
                    "build it with the backend options enable_lora=true, max_lora_rank and "
                    "max_loras (a strategy that declares uses_adapters gets them from "
                    "tripletforge.generate.config.engine_options)"
                )
            from vllm.lora.request import LoRARequest

            # positional: (lora_name, lora_int_id, lora_path), stable across vLLM releases
            self._loras[key] = LoRARequest(name, len(self._loras) + 1, key)
        return self._loras[key]

    def sampling_params(self, request: GenerationRequest, sampling: SamplingParams) -> Any:
        """vLLM ``SamplingParams`` of one request (its own seed and stop strings)."""
        return self._vllm.SamplingParams(
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_tokens,
            seed=request.seed,
            stop=list(request.stop) or None,
        )

    def generate(
        self, requests: Sequence[GenerationRequest], sampling: SamplingParams
    ) -> list[str]:
        if not requests:
            return []
        params = [self.sampling_params(r, sampling) for r in requests]
        prompts = [render_prompt(r, self.tokenizer, self.template_kwargs) for r in requests]
        loras = [self.lora_request(r.adapter) for r in requests]
        outputs = self.llm.generate(
            prompts,
            params,
            lora_request=loras if any(lora is not None for lora in loras) else None,
            use_tqdm=False,
        )
        texts = []
        for request, out in zip(requests, outputs, strict=True):
            self.tokens_generated += len(out.outputs[0].token_ids)
            texts.append(cut_at_stop(out.outputs[0].text, request.stop))
        return texts

    def close(self) -> None:
        self.llm = None
