"""Any OpenAI-compatible server (vLLM, llama.cpp, TGI, OpenAI): concurrent, retried requests.

Chat prompts go to ``/v1/chat/completions`` (the server applies the chat template); completion
prompts to ``/v1/completions``. A request's adapter is sent as the model name (how vLLM
serves LoRA adapters). Failed requests (connection errors, timeouts, HTTP 408/409/429 and 5xx)
are retried with exponential back-off and jitter; other HTTP errors fail at once.

Requests that share a prompt prefix (the passes of one anchor, see :func:`prefix_groups`) are
sent back to back by one worker, so a server with prompt caching (llama.cpp picks the idle slot
holding the longest common prefix; vLLM's prefix caching) processes the shared part once.

Reasoning: chat requests carry ``chat_template_kwargs: {"enable_thinking": false}`` (vLLM and
llama.cpp servers pass it to the model's chat template; ``thinking=True`` turns it on). A server
that refuses the field (HTTP 400 naming it) gets the request again without it, and no more
after that. The answer is the message's ``content``; reasoning a server returns apart
(``reasoning_content``) is never taken as the answer (:func:`answer_text`).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tripletforge.generate.backends.base import (
    Backend,
    answer_text,
    cut_at_stop,
    prefix_groups,
    thinking_kwargs,
)
from tripletforge.generate.requests import GenerationRequest, SamplingParams

RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


class OpenAIBackend(Backend):
    """Client of an OpenAI-compatible HTTP API; ``model`` is the server's model name."""

    name = "openai"
    applies_adapters = True  # a request's adapter is the served model name

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        concurrency: int = 8,
        timeout: float = 120.0,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        chat: bool = True,
        thinking: bool = False,
    ) -> None:
        super().__init__()
        self.template_kwargs: dict[str, Any] | None = thinking_kwargs(thinking)
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        api_key = api_key or os.environ.get("OPENAI_API_KEY") or "none"
        self.model_id = model
        self.base_url = base_url.rstrip("/")
        self.supports_chat = chat
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.retries = 0
        self._client = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_connections=concurrency),
        )
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="openai")

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        attempt = 0
        while True:
            try:
                response = self._client.post(path, json=body)
                if response.status_code not in RETRY_STATUS:
                    response.raise_for_status()
                    return response.json()
                error: Exception = httpx.HTTPStatusError(
                    f"HTTP {response.status_code}", request=response.request, response=response
                )
            except (httpx.TransportError, ValueError) as exc:  # connection, timeout, bad JSON
                error = exc
            if attempt >= self.max_retries:
                raise RuntimeError(
                    f"{self.base_url}{path} failed after {attempt + 1} attempts: {error}"
                ) from error
            delay = min(self.max_backoff, self.backoff * 2**attempt) * (0.5 + random.random() / 2)
            attempt += 1
            self.retries += 1
            time.sleep(delay)

    def _one(self, request: GenerationRequest, sampling: SamplingParams) -> str:
        body: dict[str, Any] = {
            "model": request.adapter or self.model_id,  # vLLM serves LoRA adapters by name
            "max_tokens": sampling.max_tokens,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "seed": request.seed,
        }
        if request.stop:
            body["stop"] = list(request.stop)
        if request.messages is not None:
            result = self._chat({**body, "messages": list(request.messages)})
            text = answer_text(result["choices"][0]["message"])
        else:
            result = self._post("/completions", {**body, "prompt": request.text})
            text = result["choices"][0].get("text") or ""
        self.tokens_generated += int((result.get("usage") or {}).get("completion_tokens") or 0)
        return cut_at_stop(text, request.stop)

    def _chat(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST a chat request, with the template kwargs while the server accepts them."""
        kwargs = self.template_kwargs
        if kwargs is None:
            return self._post("/chat/completions", body)
        try:
            return self._post("/chat/completions", {**body, "chat_template_kwargs": kwargs})
        except httpx.HTTPStatusError as error:
            if (
                error.response.status_code != 400
                or "chat_template_kwargs" not in error.response.text
            ):
                raise
            self.template_kwargs = None  # this server does not take them: stop sending
            return self._post("/chat/completions", body)

    def generate(
        self, requests: Sequence[GenerationRequest], sampling: SamplingParams
    ) -> list[str]:
        groups = prefix_groups(requests)
        results = [""] * len(requests)

        def run(group: list[int]) -> None:
            for i in group:
                results[i] = self._one(requests[i], sampling)

        for future in [self._pool.submit(run, g) for g in groups]:
            future.result()
        return results

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._client.close()
