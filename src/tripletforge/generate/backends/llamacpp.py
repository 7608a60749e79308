"""GGUF generators in-process through ``xllamacpp`` (llama.cpp server core, no HTTP client).

Requests go to the server's slots concurrently (continuous batching), each with its own seed.
With ``parallel=1`` an output depends on its request only; with several slots, what a prompt
is batched with can change float rounding on CPU and so, rarely, a sampled token.
Requests that share a prompt prefix (the passes of one anchor, see :func:`prefix_groups`) run
back to back on one pinned slot, whose KV cache still holds the prefix: only the last few
tokens are processed.

Reasoning is off unless the backend is built with ``thinking=True``: the server starts with
``enable_reasoning=0`` (llama-server's ``--reasoning-budget 0``, which sets the template's
``enable_thinking`` to false) and chat requests carry ``chat_template_kwargs`` too. Reasoning
the server splits off (``reasoning_content``) is never taken as the answer.
"""

from __future__ import annotations

import os
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


def start_server(
    path: str,
    *,
    parallel: int,
    ctx_per_slot: int,
    threads: int,
    gpu_layers: int,
    port: int = 0,
    thinking: bool = False,
) -> Any:
    """Start an ``xllamacpp.Server`` on 127.0.0.1 (``port=0``: a free port).

    ``thinking=False`` starts it with reasoning disabled (``enable_reasoning=0``).
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
    return xllamacpp.Server(params)


class LlamaCppBackend(Backend):
    """Runs a GGUF file (built-in name such as ``smollm2-135m`` or a path) with llama.cpp.

    ``parallel`` slots decode concurrently; ``pin_slots`` (default) runs each prefix group on
    one slot so that its shared prefix is reused from the KV cache. :attr:`prompt_tokens` and
    :attr:`cached_tokens` count the prompt tokens processed and those reused from the cache.
    """

    name = "llamacpp"

    def __init__(
        self,
        model: str,
        *,
        parallel: int = 8,
        ctx_per_slot: int = 2048,
        threads: int | None = None,
        gpu_layers: int = 0,
        chat: bool | None = None,
        pin_slots: bool = True,
        thinking: bool = False,
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
        self._server = start_server(
            path,
            parallel=parallel,
            ctx_per_slot=ctx_per_slot,
            threads=threads or default_threads(),
            gpu_layers=gpu_layers,
            thinking=thinking,
        )
        self._pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="llamacpp")

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
        self._no_adapters(requests)
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

        def worker(slot: int) -> None:
            while True:
                try:
                    group = groups.popleft()  # atomic: workers share the queue
                except IndexError:
                    return
                # the first request of a group computes its whole prompt (reusing whatever an
                # earlier group left in the slot would make outputs depend on chunking); the
                # others reuse its prefix, always from the same state
                for n, i in enumerate(group):
                    results[i] = self._one(requests[i], sampling, slot, reuse=n > 0)

        workers = [self._pool.submit(worker, s) for s in range(min(self.parallel, len(groups)))]
        for future in workers:
            future.result()
        return results

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._server = None
