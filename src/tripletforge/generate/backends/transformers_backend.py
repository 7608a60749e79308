"""Hugging Face causal LMs: batched ``generate`` with left padding, requests sorted by length.

The model is a local folder, a hub id, a built-in generator name or a ``.gguf`` file
(dequantised on load with ``GgufConfig(dequantize=True)``). Sampling is seeded per batch with
the seed of the batch's first request, so a run is reproducible from its seed; for outputs
that do not depend on batch composition use greedy decoding (``temperature=0``) or the
``llamacpp``/``vllm`` backends, which seed each request.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tripletforge.generate.backends.base import Backend, cut_at_stop
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
    """Batched generation with a transformers causal LM."""

    name = "transformers"

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
    ) -> None:
        super().__init__()
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
        self.supports_chat = has_chat_template(self.tokenizer) if chat is None else chat

    def _batch(
        self, prompts: list[str], stop: tuple[str, ...], seed: int, sampling: SamplingParams
    ) -> list[str]:
        import torch

        enc = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        enc = {k: v.to(self.model.device) for k, v in enc.items()}
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
        torch.manual_seed(seed)
        with torch.inference_mode():
            out = self.model.generate(**enc, **kwargs)
        new = out[:, enc["input_ids"].shape[1] :]
        ends = {self.tokenizer.eos_token_id, self.tokenizer.pad_token_id}
        texts = []
        for row in new.tolist():
            n = next((i for i, t in enumerate(row) if t in ends), len(row))
            self.tokens_generated += n
            texts.append(
                cut_at_stop(self.tokenizer.decode(row[:n], skip_special_tokens=True), stop)
            )
        return texts

    def generate(
        self, requests: Sequence[GenerationRequest], sampling: SamplingParams
    ) -> list[str]:
        self._no_adapters(requests)
        prompts = [render_prompt(r, self.tokenizer) for r in requests]
        lengths = [
            len(ids) for ids in self.tokenizer(prompts, add_special_tokens=False)["input_ids"]
        ]
        # group by stop strings, then sort by length so that padding is minimal
        order = sorted(range(len(requests)), key=lambda i: (requests[i].stop, lengths[i]))
        results: list[str] = [""] * len(requests)
        start = 0
        while start < len(order):
            stop = requests[order[start]].stop
            batch = [order[start]]
            while (
                len(batch) < self.batch_size
                and start + len(batch) < len(order)
                and requests[order[start + len(batch)]].stop == stop
            ):
                batch.append(order[start + len(batch)])
            texts = self._batch(
                [prompts[i] for i in batch], stop, requests[batch[0]].seed, sampling
            )
            for i, text in zip(batch, texts, strict=True):
                results[i] = text
            start += len(batch)
        return results
