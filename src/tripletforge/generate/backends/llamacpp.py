"""GGUF generators in-process through ``xllamacpp`` (llama.cpp server core, no HTTP client).

Requests go to the server's slots concurrently (continuous batching), each with its own seed.
With ``parallel=1`` (the default) an output depends on its request only; with several slots,
what a prompt is batched with can change float rounding on CPU and so, rarely, a sampled
token: such a run is faster but not deterministic, and says so (:meth:`nondeterminism`).
Requests that share a prompt prefix (the passes of one anchor, see :func:`prefix_groups`) run
back to back on one pinned slot, whose KV cache still holds the prefix: only the last few
tokens are processed. With several slots (not deterministic anyway) a group's first request
also reuses the prefix it shares with the slot's previous group (system prompt, instructions).

Requests may name a PEFT LoRA adapter (``request.adapter``, a folder), as the ``xlora`` and
``compose`` strategies do. Each adapter is exported once to a GGUF LoRA
(:func:`tripletforge.adapters.gguf_lora.export_gguf_lora`, cached under
``$TRIPLETFORGE_HOME/adapters/`` by the adapter's weights and the base GGUF) and loaded into the
one server (``lora_adapters`` with ``lora_init_without_apply``: loaded, not applied); every
request then selects its adapter with llama-server's per-request ``"lora": [{"id", "scale"}]``
(scale 1 for its adapter, 0 for the others; base-model requests set every scale to 0). The
server is restarted when a request names an adapter it has not loaded yet. llama.cpp batches
only slots whose adapters are the same, so requests run one adapter group after another, each
over all slots (continuous batching); prefix groups stay within an adapter group.

Reasoning is off unless the backend is built with ``thinking=True``: the server starts with
``enable_reasoning=0`` (llama-server's ``--reasoning-budget 0``, which sets the template's
``enable_thinking`` to false) and chat requests carry ``chat_template_kwargs`` too. Reasoning
the server splits off (``reasoning_content``) is never taken as the answer.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tripletforge.generate.backends.base import (
    Backend,
    answer_text,
    cut_at_stop,
    prefix_groups,
    thinking_kwargs,
)
from tripletforge.generate.generators import model_sha256, resolve_gguf
from tripletforge.generate.requests import GenerationRequest, SamplingParams
from tripletforge.paths import cache_dir


def gguf_chat_template(path: str | Path) -> str | None:
    """The chat template stored in a GGUF file's metadata, if any."""
    from gguf import GGUFReader

    field = GGUFReader(str(path)).fields.get("tokenizer.chat_template")
    if field is None:
        return None
    return bytes(field.parts[field.data[0]]).decode("utf-8")


def default_threads() -> int:
    """CPU threads for llama.cpp: ``OMP_NUM_THREADS`` if set, else up to 4 cores."""
    env = os.environ.get("OMP_NUM_THREADS", "")
    return int(env) if env.isdigit() and int(env) > 0 else min(4, os.cpu_count() or 1)


def gguf_lora(adapter: str | Path, base_gguf: str | Path, base_sha256: str | None = None) -> Path:
    """The GGUF LoRA of the PEFT adapter folder ``adapter`` for the model ``base_gguf``.

    Exported once (:func:`~tripletforge.adapters.gguf_lora.export_gguf_lora`) into
    ``$TRIPLETFORGE_HOME/adapters/gguf-lora-<key>.gguf``, keyed by the adapter's weights and
    config and the base GGUF's SHA-256; written to a temporary file and renamed, so a crash or a
    concurrent export never leaves a partial file. Raises ``FileNotFoundError`` when
    ``adapter`` is not a PEFT folder, ``ValueError`` for modules llama.cpp has no tensor for.
    """
    from tripletforge.adapters.gguf_lora import export_gguf_lora
    from tripletforge.data.schemas import sha256_file

    folder = Path(adapter)
    config = folder / "adapter_config.json"
    weights = next(
        (
            folder / n
            for n in ("adapter_model.safetensors", "adapter_model.bin")
            if (folder / n).is_file()
        ),
        None,
    )
    if not config.is_file() or weights is None:
        raise FileNotFoundError(
            f"{folder}: not a PEFT adapter folder (adapter_config.json + weights)"
        )
    base_sha = base_sha256 or model_sha256(str(base_gguf))
    key = hashlib.sha256(
        json.dumps([sha256_file(weights), config.read_text(encoding="utf-8"), base_sha]).encode()
    ).hexdigest()[:20]
    out = cache_dir() / "adapters" / f"gguf-lora-{key}.gguf"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            export_gguf_lora(folder, base_gguf, tmp)
            tmp.replace(out)
        finally:
            tmp.unlink(missing_ok=True)
    return out


def start_server(
    path: str,
    *,
    parallel: int,
    ctx_per_slot: int,
    threads: int,
    gpu_layers: int,
    port: int = 0,
    thinking: bool = False,
    lora_files: Sequence[str | Path] = (),
) -> Any:
    """Start an ``xllamacpp.Server`` on 127.0.0.1 (``port=0``: a free port).

    ``thinking=False`` starts it with reasoning disabled (``enable_reasoning=0``).
    ``lora_files`` (GGUF LoRAs) are loaded but not applied: a request applies one with its
    ``"lora"`` field (adapter ids in this order); the host-RAM prompt cache is then off, as it
    would hand a request KV states computed under another adapter.
    """
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = path
    params.n_parallel = parallel
    params.n_ctx = parallel * ctx_per_slot
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.n_gpu_layers = gpu_layers
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.verbosity = 0
    params.enable_reasoning = 1 if thinking else 0
    if lora_files:
        infos = []
        for file in lora_files:
            info = xllamacpp.CommonAdapterLoraInfo()
            info.path, info.scale = str(file), 0.0
            infos.append(info)
        params.lora_adapters = infos
        params.lora_init_without_apply = True
        # llama.cpp's host-RAM prompt cache does not key its states by adapter: with it, a
        # request can restore a prefix's KV cache computed under another adapter (seen with
        # xllamacpp 2026.10: a prompt sent with adapter 0 took 34 of its 35 tokens from the
        # state of the same prompt under adapter 1). A slot's own cache is cleared when its
        # adapter changes.
        params.cache_ram_mib = 0
    return xllamacpp.Server(params)


class LlamaCppBackend(Backend):
    """Runs a GGUF file (built-in name such as ``smollm2-135m`` or a path) with llama.cpp.

    ``parallel`` slots decode concurrently; ``pin_slots`` (default) runs each prefix group on
    one slot so that its shared prefix is reused from the KV cache. :attr:`prompt_tokens` and
    :attr:`cached_tokens` count the prompt tokens processed and those reused from the cache.
    A request's PEFT adapter (``request.adapter``) is applied as a GGUF LoRA (module docstring);
    ``adapters`` lists adapter folders to load at start (others are loaded when first named).
    """

    name = "llamacpp"
    applies_adapters = True

    def __init__(
        self,
        model: str,
        *,
        parallel: int = 1,
        ctx_per_slot: int = 2048,
        threads: int | None = None,
        gpu_layers: int = 0,
        chat: bool | None = None,
        pin_slots: bool = True,
        thinking: bool = False,
        adapters: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.template_kwargs = thinking_kwargs(thinking)
        path = resolve_gguf(model)
        if not Path(path).is_file():
            raise FileNotFoundError(f"llamacpp backend needs a GGUF file; not found: {path}")
        self.model_id = model
        self.path = path
        self.model_sha256 = model_sha256(path)
        self.supports_chat = bool(gguf_chat_template(path)) if chat is None else chat
        self.parallel = parallel
        self.pin_slots = pin_slots
        self.prompt_tokens = 0
        self.cached_tokens = 0
        self._server_options = {
            "parallel": parallel,
            "ctx_per_slot": ctx_per_slot,
            "threads": threads or default_threads(),
            "gpu_layers": gpu_layers,
            "thinking": thinking,
        }
        self._loras: dict[str, int] = {}  # resolved adapter folder → llama.cpp adapter id
        self._lora_files: list[Path] = []
        self._server: Any = None
        self._load_adapters(adapters)
        if self._server is None:
            self._server = start_server(path, **self._server_options)
        self._pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="llamacpp")

    def _load_adapters(self, adapters: Sequence[str]) -> None:
        """Export and load adapters not loaded yet (restarts the server when there are any)."""
        new = [str(Path(a).resolve()) for a in dict.fromkeys(adapters) if a]
        new = [a for a in new if a not in self._loras]
        if not new:
            return
        for adapter in new:
            self._loras[adapter] = len(self._lora_files)
            self._lora_files.append(gguf_lora(adapter, self.path, self.model_sha256))
        self._server = None  # frees the old server (model, KV cache) before the new one loads
        self._server = start_server(self.path, lora_files=self._lora_files, **self._server_options)

    def _lora_field(self, adapter: str | None) -> list[dict[str, Any]] | None:
        """The request's ``"lora"`` list: scale 1 for its adapter, 0 for every other."""
        if not self._lora_files:
            return None
        chosen = self._loras[str(Path(adapter).resolve())] if adapter else -1
        return [
            {"id": i, "scale": 1.0 if i == chosen else 0.0} for i in range(len(self._lora_files))
        ]

    def _one(
        self,
        request: GenerationRequest,
        sampling: SamplingParams,
        slot: int = -1,
        reuse: bool = True,
    ) -> str:
        body: dict[str, Any] = {
            "id_slot": slot,
            "cache_prompt": reuse,
            "max_tokens": sampling.max_tokens,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "seed": request.seed,
            "stop": list(request.stop),
        }
        lora = self._lora_field(request.adapter)
        if lora is not None:
            body["lora"] = lora
        if request.messages is not None:
            result = self._server.handle_chat_completions(
                {
                    **body,
                    "messages": list(request.messages),
                    "chat_template_kwargs": self.template_kwargs,
                }
            )
        else:
            result = self._server.handle_completions({**body, "prompt": request.text})
        if "error" in result or not result.get("choices"):
            raise RuntimeError(f"llama.cpp failed: {result.get('error', result)}")
        self.tokens_generated += int(result.get("usage", {}).get("completion_tokens", 0))
        timings = result.get("timings") or {}
        self.prompt_tokens += int(timings.get("prompt_n", 0))
        self.cached_tokens += int(timings.get("cache_n", 0))
        choice = result["choices"][0]
        text = answer_text(choice["message"]) if request.messages is not None else choice["text"]
        return cut_at_stop(text or "", request.stop)

    def generate(
        self, requests: Sequence[GenerationRequest], sampling: SamplingParams
    ) -> list[str]:
        """Completions in request order; adapter groups run one after another (see class)."""
        self._load_adapters([r.adapter for r in requests if r.adapter])
        by_adapter: dict[str | None, list[int]] = {}
        for i, request in enumerate(requests):
            by_adapter.setdefault(request.adapter, []).append(i)
        results = [""] * len(requests)
        for indices in by_adapter.values():
            texts = self._generate([requests[i] for i in indices], sampling)
            for i, text in zip(indices, texts, strict=True):
                results[i] = text
        return results

    def _generate(
        self, requests: Sequence[GenerationRequest], sampling: SamplingParams
    ) -> list[str]:
        """Requests that all use one adapter (or none) over every slot."""
        if not self.pin_slots:
            order = sorted(range(len(requests)), key=lambda i: requests[i].approx_length())
            futures = {i: self._pool.submit(self._one, requests[i], sampling) for i in order}
            return [futures[i].result() for i in range(len(requests))]
        # longest groups first (balances the slots); a group runs in order on its worker's slot
        groups = deque(
            sorted(
                prefix_groups(requests),
                key=lambda g: -sum(requests[i].approx_length() for i in g),
            )
        )
        results = [""] * len(requests)
        # with one slot the first request of a group computes its whole prompt (reusing
        # whatever an earlier group left in the slot would make outputs depend on chunking);
        # with several, outputs already depend on how requests are batched (nondeterminism()),
        # so it also reuses what it shares with the slot's previous group (system prompt,
        # instructions): fewer prompt tokens, no determinism lost
        across_groups = self.parallel > 1

        def worker(slot: int) -> None:
            while True:
                try:
                    group = groups.popleft()  # atomic: workers share the queue
                except IndexError:
                    return
                # the others reuse the group's prefix, always from the same state
                for n, i in enumerate(group):
                    reuse = across_groups or n > 0
                    results[i] = self._one(requests[i], sampling, slot, reuse=reuse)

        workers = [self._pool.submit(worker, s) for s in range(min(self.parallel, len(groups)))]
        for future in workers:
            future.result()
        return results

    def nondeterminism(self) -> str | None:
        if self.parallel > 1:
            return (
                f"llama.cpp with {self.parallel} parallel slots batches requests differently "
                "run to run (set backend_options parallel: 1 for identical outputs)"
            )
        return None

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._server = None
