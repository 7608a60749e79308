"""A ``transformers`` backend that applies the LoRA adapter each request names.

Requests are grouped by ``request.adapter`` (a PEFT folder; ``None`` = the base model). Each
adapter is loaded once into a single ``PeftModel`` under its own name and activated with
``set_adapter`` for its group, so the positive and negative passes of a ``compose`` or
``xlora`` run share one copy of the base weights.

Plain-text prompts are tokenised here as in adapter training (``tokenizer(prompt)``, i.e. with
the tokenizer's BOS when it adds one), since the parent backend tokenises rendered prompts
without special tokens.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Sequence
from pathlib import Path

from tripletforge.generate.backends.transformers_backend import TransformersBackend
from tripletforge.generate.requests import GenerationRequest, SamplingParams


class AdapterTransformersBackend(TransformersBackend):
    """:class:`TransformersBackend` plus per-request PEFT LoRA adapters."""

    name = "transformers"

    def __init__(self, model: str, **options: object) -> None:
        super().__init__(model, **options)  # type: ignore[arg-type]
        self._peft = None
        self._names: dict[str, str] = {}  # resolved adapter path → peft adapter name
        ids = self.tokenizer("a")["input_ids"]
        bos = self.tokenizer.bos_token_id
        self._bos_text = self.tokenizer.bos_token if bos is not None and ids[:1] == [bos] else ""

    def _no_adapters(self, requests: Sequence[GenerationRequest]) -> None:
        """Adapters are supported: nothing to refuse."""

    def _activate(self, adapter: str) -> None:
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

    def generate(
        self, requests: Sequence[GenerationRequest], sampling: SamplingParams
    ) -> list[str]:
        results: list[str] = [""] * len(requests)
        groups: dict[str | None, list[int]] = {}
        for i, request in enumerate(requests):
            groups.setdefault(request.adapter, []).append(i)
        for adapter, indices in groups.items():
            batch = [self._with_bos(requests[i]) for i in indices]
            if adapter is not None:
                self._activate(adapter)
            off = (
                self._peft.disable_adapter()
                if adapter is None and self._peft is not None
                else contextlib.nullcontext()
            )
            with off:
                texts = super().generate(batch, sampling)
            for i, text in zip(indices, texts, strict=True):
                results[i] = text
        return results

    def _with_bos(self, request: GenerationRequest) -> GenerationRequest:
        if request.text is None or not self._bos_text or request.text.startswith(self._bos_text):
            return request
        return dataclasses.replace(request, text=self._bos_text + request.text)
