"""Hugging Face causal LMs: batched ``generate`` with left padding, requests sorted by length.

Each request may name a PEFT LoRA adapter (``request.adapter``, a folder; ``None`` = the base
model), as the ``compose`` and ``xlora`` strategies do: requests are grouped by adapter, each
adapter is loaded once into a single ``PeftModel`` under its own name and activated with
``set_adapter`` for its group, so the positive and negative passes share one copy of the base
weights (the vLLM backend does the same with ``LoRARequest``). Plain-text prompts get the
tokenizer's BOS when it adds one, exactly as adapter training tokenises them
(``tokenizer(prompt)``); chat prompts are rendered by the chat template.

With ``prefix_cache`` (default) the requests that share a prompt prefix (the passes of one
anchor, see :func:`prefix_groups`) go to the same batch; the shared prefix is run once per
group, its KV cache copied to each member, and ``generate`` processes only the short
pass-specific suffixes (left-padded after the prefix; positions follow the attention mask).

The model is a local folder, a hub id, a built-in generator name or a ``.gguf`` file
(dequantised on load with ``GgufConfig(dequantize=True)``). Sampling is seeded per batch with
the seed of the batch's first request, so a run is reproducible from its seed; for outputs
that do not depend on batch composition use greedy decoding (``temperature=0``) or the
``llamacpp``/``vllm`` backends, which seed each request.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tripletforge.generate.backends.base import (
    Backend,
    cut_at_stop,
    prefix_groups,
    thinking_kwargs,
)
from tripletforge.generate.generators import model_sha256
from tripletforge.generate.prompts import has_chat_template, render_prompt
from tripletforge.generate.requests import GenerationRequest, SamplingParams
from tripletforge.models.generators import resolve_generator


def load_causal_lm(path: str, device: str | None = None, dtype: str = "auto") -> tuple[Any, Any]:
    """Load (model, tokenizer) from a folder, hub id or GGUF file, tokenizer left-padded."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    kwargs: dict[str, Any] = {}
    source = path
    if path.endswith(".gguf"):
        source, gguf = str(Path(path).parent), Path(path).name
        kwargs = {"gguf_file": gguf, "quantization_config": GgufConfig(dequantize=True)}
    tokenizer = AutoTokenizer.from_pretrained(
        source, **({"gguf_file": kwargs["gguf_file"]} if kwargs else {})
    )
    model = AutoModelForCausalLM.from_pretrained(
        source,
        dtype=torch.float32 if dtype == "auto" and not torch.cuda.is_available() else dtype,
        **kwargs,
    )
    model.to(device or ("cuda" if torch.cuda.is_available() else "cpu")).eval()
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


class TransformersBackend(Backend):
    """Batched generation with a transformers causal LM, with per-request PEFT adapters."""

    name = "transformers"
    applies_adapters = True

    def __init__(
        self,
        model: str,
        *,
        batch_size: int = 16,
        device: str | None = None,
        dtype: str = "auto",
        chat: bool | None = None,
        model_obj: Any = None,
        tokenizer: Any = None,
        prefix_cache: bool = True,
        thinking: bool = False,
    ) -> None:
        super().__init__()
        self.template_kwargs = thinking_kwargs(thinking)  # reasoning off unless asked for
        self.model_id = model
        if model_obj is None:
            path = resolve_generator(model)
            model_obj, tokenizer = load_causal_lm(path, device=device, dtype=dtype)
            self.model_sha256 = model_sha256(path)
        self.model, self.tokenizer = model_obj, tokenizer
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.batch_size = batch_size
        self.prefix_cache = prefix_cache
        self.prompt_tokens = 0  # prompt tokens run through the model (padding included)
        self.supports_chat = has_chat_template(self.tokenizer) if chat is None else chat
        self._peft: Any = None  # one PeftModel holding every adapter requested so far
        self._names: dict[str, str] = {}  # resolved adapter folder → peft adapter name
        ids = self.tokenizer("a")["input_ids"]
        bos = self.tokenizer.bos_token_id
        self._bos_text = self.tokenizer.bos_token if bos is not None and ids[:1] == [bos] else ""

    def _activate(self, adapter: str) -> None:
        """Load ``adapter`` (once) into the shared ``PeftModel`` and make it the active one."""
        from peft import PeftModel

        path = str(Path(adapter).resolve())
        if path not in self._names:
            name = f"a{len(self._names)}"
            if self._peft is None:
                self._peft = PeftModel.from_pretrained(self.model, path, adapter_name=name)
                self._peft.eval()
            else:
                self._peft.load_adapter(path, adapter_name=name)
            self._names[path] = name
        self._peft.set_adapter(self._names[path])

    def _with_bos(self, request: GenerationRequest) -> GenerationRequest:
        if request.text is None or not self._bos_text or request.text.startswith(self._bos_text):
            return request
        return dataclasses.replace(request, text=self._bos_text + request.text)

    def _run(
        self,
        input_ids: Any,
        attention_mask: Any,
        stop: tuple[str, ...],
        seed: int,
        sampling: SamplingParams,
        past_key_values: Any = None,
    ) -> list[str]:
        import torch

        sample = sampling.temperature > 0
        kwargs: dict[str, Any] = {
            "max_new_tokens": sampling.max_tokens,
            "do_sample": sample,
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        if sample:
            kwargs.update(temperature=sampling.temperature, top_p=sampling.top_p)
        if stop:
            kwargs.update(stop_strings=list(stop), tokenizer=self.tokenizer)
        if past_key_values is not None:
            kwargs["past_key_values"] = past_key_values
        device = self.model.device
        torch.manual_seed(seed)
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=input_ids.to(device), attention_mask=attention_mask.to(device), **kwargs
            )
        new = out[:, input_ids.shape[1] :]
        ends = {self.tokenizer.eos_token_id, self.tokenizer.pad_token_id}
        texts = []
        for row in new.tolist():
            n = next((i for i, t in enumerate(row) if t in ends), len(row))
            self.tokens_generated += n
            texts.append(
                cut_at_stop(self.tokenizer.decode(row[:n], skip_special_tokens=True), stop)
            )
        return texts

    def _batch(
        self, ids: list[list[int]], stop: tuple[str, ...], seed: int, sampling: SamplingParams
    ) -> list[str]:
        """Left-pad the prompts to the longest and generate."""
        import torch

        width = max(map(len, ids))
        input_ids = torch.full((len(ids), width), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros_like(input_ids)
        for row, seq in enumerate(ids):
            input_ids[row, width - len(seq) :] = torch.tensor(seq)
            mask[row, width - len(seq) :] = 1
        self.prompt_tokens += input_ids.numel()
        return self._run(input_ids, mask, stop, seed, sampling)

    def _batch_shared(
        self,
        groups: list[list[list[int]]],
        stop: tuple[str, ...],
        seed: int,
        sampling: SamplingParams,
    ) -> list[str]:
        """Run each group's common token prefix once, then generate from the suffixes."""
        import torch

        lcps = []
        for members in groups:
            first, limit, n = members[0], min(map(len, members)) - 1, 0  # >= 1 suffix token
            while n < limit and all(m[n] == first[n] for m in members[1:]):
                n += 1
            lcps.append(n)
        width = max(lcps)
        if width == 0:
            return self._batch([m for members in groups for m in members], stop, seed, sampling)
        pad = self.tokenizer.pad_token_id
        prefix = torch.full((len(groups), width), pad, dtype=torch.long)
        prefix_mask = torch.zeros_like(prefix)
        for g, (members, n) in enumerate(zip(groups, lcps, strict=True)):
            if n:
                prefix[g, width - n :] = torch.tensor(members[0][:n])
                prefix_mask[g, width - n :] = 1
        device = self.model.device
        with torch.inference_mode():
            cache = self.model(
                input_ids=prefix.to(device),
                attention_mask=prefix_mask.to(device),
                position_ids=(prefix_mask.cumsum(-1) - 1).clamp(min=0).to(device),
                use_cache=True,
                logits_to_keep=1,
            ).past_key_values
        rows = [g for g, members in enumerate(groups) for _ in members]
        cache.batch_select_indices(torch.tensor(rows, device=device))
        suffixes = [m[n:] for members, n in zip(groups, lcps, strict=True) for m in members]
        tail = max(map(len, suffixes))
        input_ids = torch.full((len(rows), width + tail), pad, dtype=torch.long)
        mask = torch.zeros_like(input_ids)
        input_ids[:, :width], mask[:, :width] = prefix[rows], prefix_mask[rows]
        for row, seq in enumerate(suffixes):
            input_ids[row, width + tail - len(seq) :] = torch.tensor(seq)
            mask[row, width + tail - len(seq) :] = 1
        self.prompt_tokens += prefix.numel() + len(rows) * tail
        return self._run(input_ids, mask, stop, seed, sampling, past_key_values=cache)

    def generate(
        self, requests: Sequence[GenerationRequest], sampling: SamplingParams
    ) -> list[str]:
        """Completions in request order; each adapter group runs with its adapter active."""
        results: list[str] = [""] * len(requests)
        groups: dict[str | None, list[int]] = {}
        for i, request in enumerate(requests):
            groups.setdefault(request.adapter, []).append(i)
        for adapter, indices in groups.items():
            if adapter is not None:
                self._activate(adapter)
            base_only = (
                self._peft.disable_adapter()
                if adapter is None and self._peft is not None
                else contextlib.nullcontext()
            )
            with base_only:
                texts = self._generate([self._with_bos(requests[i]) for i in indices], sampling)
            for i, text in zip(indices, texts, strict=True):
                results[i] = text
        return results

    def _generate(
        self, requests: Sequence[GenerationRequest], sampling: SamplingParams
    ) -> list[str]:
        """Generate for requests that all use the current model (one adapter or none)."""
        prompts = [render_prompt(r, self.tokenizer, self.template_kwargs) for r in requests]
        ids = self.tokenizer(prompts, add_special_tokens=False)["input_ids"]
        # units that share a prefix and stop strings (single requests without prefix_cache)
        units: list[list[int]] = []
        for group in (
            prefix_groups(requests) if self.prefix_cache else [[i] for i in range(len(requests))]
        ):
            by_stop: dict[tuple[str, ...], list[int]] = {}
            for i in group:
                by_stop.setdefault(requests[i].stop, []).append(i)
            units += by_stop.values()
        # group by stop strings, then sort by length so that padding is minimal
        units.sort(key=lambda u: (requests[u[0]].stop, max(len(ids[i]) for i in u)))
        batches: list[list[list[int]]] = []
        for unit in units:
            last = batches[-1] if batches else None
            if (
                last is not None
                and requests[last[0][0]].stop == requests[unit[0]].stop
                and sum(map(len, last)) + len(unit) <= self.batch_size
            ):
                last.append(unit)
            else:
                batches.append([unit])
        results: list[str] = [""] * len(requests)
        for batch in batches:
            order = [i for unit in batch for i in unit]
            stop, seed = requests[order[0]].stop, requests[order[0]].seed
            if self.prefix_cache:
                texts = self._batch_shared(
                    [[ids[i] for i in unit] for unit in batch], stop, seed, sampling
                )
            else:
                texts = self._batch([ids[i] for i in order], stop, seed, sampling)
            for i, text in zip(order, texts, strict=True):
                results[i] = text
        return results
