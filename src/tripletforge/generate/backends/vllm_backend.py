"""Offline batched generation with vLLM (GPU); install with ``pip install tripletforge[vllm]``.

vLLM is imported when the backend is built, never when the registry is imported. Every request
gets its own ``SamplingParams`` seed. A request's ``adapter`` (what the ``compose`` and
``xlora`` strategies set: the PEFT folder of the pass's adapter, or a name from the
``adapters`` mapping) becomes a ``LoRARequest(name, id, path)``: one id per adapter folder,
numbered from 1 in order of first use and kept for the backend's lifetime, so the positive and
negative adapters are two LoRA requests served side by side in one ``LLM.generate`` call.

The engine must be built with LoRA on (``enable_lora``, ``max_loras``, ``max_lora_rank``):
:func:`lora_engine_options` derives them from a strategy's options.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tripletforge.generate.backends.base import Backend, cut_at_stop, thinking_kwargs
from tripletforge.generate.generators import model_sha256
from tripletforge.generate.prompts import has_chat_template, render_prompt
from tripletforge.generate.requests import GenerationRequest, SamplingParams
from tripletforge.models.generators import resolve_generator

#: LoRA ranks vLLM accepts for ``max_lora_rank``.
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


def _adapter_rank(path: str | Path) -> int:
    config = json.loads((Path(path) / "adapter_config.json").read_text(encoding="utf-8"))
    ranks = [int(config.get("r") or 8), *map(int, (config.get("rank_pattern") or {}).values())]
    return max(ranks)


def lora_engine_options(strategy: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """``vllm.LLM`` LoRA settings for the adapters a ``compose``/``xlora`` run will request.

    ``max_lora_rank`` is the largest adapter rank (a composed adapter has the summed ranks of
    its parts), rounded up to a rank vLLM accepts; ``max_loras`` is the number of adapters one
    batch can name. Other strategies need no LoRA: ``{}``.
    """
    if strategy not in ("compose", "xlora"):
        return {}
    fixed = [options.get(f"{p}_adapter") for p in ("positive", "negative")]
    if all(fixed):
        rank, count = max(_adapter_rank(p) for p in fixed), 2  # type: ignore[arg-type]
    else:
        targets = options.get("lang_target") or {}
        targets = targets if isinstance(targets, Mapping) else {"*": targets}
        tasks = [options[k] for k in ("task_positive", "task_negative") if options.get(k)]
        if not tasks or not targets or not options.get("lang_english"):
            return {"enable_lora": True, "max_loras": 2}
        rank = max(_adapter_rank(t) for t in tasks) + max(map(_adapter_rank, targets.values()))
        rank += _adapter_rank(options["lang_english"])
        count = 2 * len(targets)
    rank = next((r for r in VLLM_LORA_RANKS if r >= rank), rank)
    return {"enable_lora": True, "max_loras": count, "max_lora_rank": rank}


class VllmBackend(Backend):
    """``vllm.LLM.generate`` over all requests at once (vLLM schedules the batches).

    ``adapters`` maps names to PEFT folders (requests may name either); ``llm`` injects an
    engine object with vLLM's ``LLM`` interface instead of building one (tests, shared
    engines). ``thinking`` (default off) sets the chat template's ``enable_thinking``. Other
    keyword arguments go to ``vllm.LLM``.
    """

    name = "vllm"

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
            ranks = [_adapter_rank(p) for p in self.adapters.values()]
            if ranks:
                rank = max(ranks)
                llm_kwargs["max_lora_rank"] = next((r for r in VLLM_LORA_RANKS if r >= rank), rank)
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
                    "the vllm engine was built without LoRA: pass -B enable_lora=true "
                    "-B max_lora_rank=R -B max_loras=N (lora_engine_options gives them)"
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
