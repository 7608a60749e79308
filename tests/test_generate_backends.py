"""Backends: lazy registry, transformers on a tiny random LM, OpenAI client on real servers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from conftest import tiny_chat_llama
from tripletforge.generate.backends import BACKENDS, backend_class, get_backend, prefix_groups
from tripletforge.generate.requests import GenerationRequest, SamplingParams


def _request(text: str, seed: int = 1, stop: tuple[str, ...] = ()) -> GenerationRequest:
    return GenerationRequest(
        seed_id=text, pass_="positive", prompt_id="t", seed=seed, text=text, stop=stop
    )


def test_registry_imports_no_backend() -> None:
    code = (
        "import sys, tripletforge.generate.backends as b, tripletforge.generate, "
        "tripletforge.cli.main\n"
        "bad = [m for m in ('vllm', 'torch', 'transformers', 'xllamacpp') if m in sys.modules]\n"
        "assert not bad, bad\nassert set(b.BACKENDS) >= {'llamacpp','transformers','openai','vllm'}"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_vllm_backend_needs_vllm_only_when_built() -> None:
    if _has("vllm"):
        pytest.skip("vllm installed")
    cls = backend_class("vllm")
    with pytest.raises(ImportError, match=r"tripletforge\[vllm\]"):
        cls("smollm2-135m")
    with pytest.raises(ValueError, match="unknown backend"):
        backend_class("nope")


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


@pytest.fixture(scope="module")
def tiny_lm():
    return tiny_chat_llama(hidden=64, heads=4, max_positions=512)


def test_transformers_backend_batches_sorted_left_padded(tiny_lm) -> None:
    model, tokenizer = tiny_lm
    backend = get_backend(
        "transformers", "tiny", model_obj=model, tokenizer=tokenizer, batch_size=3
    )
    assert backend.supports_chat and tokenizer.padding_side == "left"
    texts = [
        "The cat",
        "A dog runs in the park and the cat sits on the mat",
        "Yara",
        "Le chat dort sur",
    ]
    requests = [_request(t) for t in texts]
    greedy = SamplingParams(temperature=0, max_tokens=6)
    batched = backend.generate(requests, greedy)
    alone = [backend.generate([r], greedy)[0] for r in requests]
    assert batched == alone  # sorting, padding and regrouping keep each output with its prompt
    assert backend.tokens_generated > 0
    chat = GenerationRequest(
        seed_id="c",
        pass_="negative",
        prompt_id="t",
        seed=3,
        messages=({"role": "user", "content": "The cat"},),
    )
    sampled = SamplingParams(temperature=1.0, max_tokens=5)
    first = backend.generate([chat, requests[0]], sampled)
    assert first == backend.generate([chat, requests[0]], sampled)  # seeded
    stopped = backend.generate(
        [_request("The cat", stop=("a",))], SamplingParams(temperature=1.0, max_tokens=8)
    )
    assert "a" not in stopped[0]


def test_transformers_prefix_cache_matches_plain_batches(tiny_lm) -> None:
    """The shared prefix run once (KV cache copied per pass) gives the same greedy outputs."""
    from tripletforge.data.schemas import SeedSentence
    from tripletforge.generate.strategies import StrategyContext, make_strategy

    model, tokenizer = tiny_lm
    requests = []
    for chat in (True, False):
        strategy = make_strategy("icl", StrategyContext(chat=chat, k=1))
        for i, text in enumerate(["Yara suna wasa.", "The cat sits on the mat today."]):
            seed = SeedSentence(text=text, lang="hau", seed_id=f"{chat}{i}")
            requests += strategy.plan(seed, ["positive", "negative"], anchor_seed=i, attempt=0)
    requests.append(_request("The cat"))  # a group of one
    greedy = SamplingParams(temperature=0, max_tokens=5)
    shared, plain = (
        get_backend("transformers", "t", model_obj=model, tokenizer=tokenizer, prefix_cache=flag)
        for flag in (True, False)
    )
    outputs = shared.generate(requests, greedy)
    assert outputs == plain.generate(requests, greedy) and sum(map(len, outputs)) > 20
    assert shared.prompt_tokens < 0.7 * plain.prompt_tokens


# --- openai backend against real local servers --------------------------------------------


@pytest.fixture(scope="module")
def llamacpp_server() -> Iterator[str]:
    pytest.importorskip("xllamacpp")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tripletforge.generate.serve",
            "--port",
            "0",
            "--parallel",
            "2",
            "--threads",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert match, f"server did not start: {line!r}"
        yield match.group(0) + "/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_openai_backend_on_llamacpp_server(llamacpp_server: str) -> None:
    backend = get_backend("openai", "smollm2", base_url=llamacpp_server, concurrency=2)
    chat = GenerationRequest(
        seed_id="c",
        pass_="positive",
        prompt_id="t",
        seed=5,
        messages=({"role": "user", "content": "Name one colour."},),
    )
    requests = [chat, _request("Premise: A dog runs.\nEntailment:", seed=5, stop=("\n",))]
    sampling = SamplingParams(temperature=0.8, max_tokens=12)
    first = backend.generate(requests, sampling)
    assert first == backend.generate(requests, sampling)  # per-request seeds
    assert all(isinstance(t, str) and t for t in first) and "\n" not in first[1]
    assert backend.tokens_generated > 0 and backend.retries == 0
    backend.close()


class _Flaky(BaseHTTPRequestHandler):
    failures = 2
    calls = 0

    def do_POST(self) -> None:
        type(self).calls += 1
        self.rfile.read(int(self.headers["Content-Length"]))
        if type(self).calls <= type(self).failures:
            self.send_response(503)
            self.end_headers()
            return
        body = json.dumps(
            {"choices": [{"text": " ok"}], "usage": {"completion_tokens": 1}}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_openai_backend_retries_with_backoff() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        backend = get_backend("openai", "m", base_url=url, chat=False, backoff=0.01, max_retries=3)
        assert backend.generate([_request("x")], SamplingParams()) == [" ok"]
        assert backend.retries == 2 and _Flaky.calls == 3
        _Flaky.calls, _Flaky.failures = 0, 10
        with pytest.raises(RuntimeError, match="after 4 attempts"):
            backend.generate([_request("x")], SamplingParams())
    finally:
        server.shutdown()
    assert "vllm" in BACKENDS


# --- prefix groups: the passes of an anchor run back to back ----------------------------------


def _pass(seed_id: str, pass_: str, shots: tuple[str, ...] = ("a", "b")) -> GenerationRequest:
    return GenerationRequest(
        seed_id=seed_id,
        pass_=pass_,
        prompt_id="t",
        seed=1,
        text=f"{seed_id} {pass_}",
        shot_ids=shots,
    )


def test_prefix_groups_keep_first_seen_order() -> None:
    requests = [
        _pass("x", "positive"),
        _pass("y", "positive"),
        _pass("x", "negative"),
        _pass("y", "negative", shots=("c",)),  # other shots: no shared prefix
    ]
    assert prefix_groups(requests) == [[0, 2], [1], [3]]


def test_openai_backend_sends_a_group_back_to_back(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = get_backend("openai", "m", base_url="http://127.0.0.1:9/v1", chat=False)
    events: list[tuple[str, str, int]] = []
    lock = threading.Lock()

    def one(request: GenerationRequest, sampling: SamplingParams) -> str:
        with lock:
            events.append(("start", request.text or "", threading.get_ident()))
        time.sleep(0.02)
        with lock:
            events.append(("end", request.text or "", threading.get_ident()))
        return request.text or ""

    monkeypatch.setattr(backend, "_one", one)
    requests = [_pass(s, p) for p in ("positive", "negative") for s in "abcd"]
    assert backend.generate(requests, SamplingParams()) == [r.text for r in requests]
    for s in "abcd":
        order = [e for e in events if e[1].startswith(s)]
        assert [(e[0], e[1].split()[1]) for e in order] == [
            ("start", "positive"),
            ("end", "positive"),
            ("start", "negative"),
            ("end", "negative"),
        ]
        assert len({e[2] for e in order}) == 1  # one worker
    backend.close()


def _fake_llamacpp(parallel: int, bodies: list[dict]):
    """A LlamaCppBackend around a fake server that records each request body."""
    from concurrent.futures import ThreadPoolExecutor

    from tripletforge.generate.backends.llamacpp import LlamaCppBackend

    lock = threading.Lock()

    class FakeServer:
        def handle_completions(self, body: dict) -> dict:
            with lock:
                bodies.append(body)
            return {"choices": [{"text": body["prompt"]}], "usage": {"completion_tokens": 1}}

    backend = object.__new__(LlamaCppBackend)
    backend.__dict__.update(
        _server=FakeServer(), template_kwargs={}, tokens_generated=0, prompt_tokens=0,
        cached_tokens=0, _loras={}, _lora_files=[], parallel=parallel, pin_slots=True,
        _pool=ThreadPoolExecutor(max_workers=parallel),
    )  # fmt: skip
    return backend


@pytest.mark.parametrize("parallel", [1, 2])
def test_llamacpp_reuses_prompts_across_groups_only_with_several_slots(parallel: int) -> None:
    """One slot: a group's first request computes its whole prompt (deterministic); several
    slots (not deterministic anyway): it reuses what the slot's previous group left."""
    pytest.importorskip("xllamacpp")
    bodies: list[dict] = []
    backend = _fake_llamacpp(parallel, bodies)
    requests = [_pass(s, p) for s in "abcd" for p in ("positive", "negative")]
    assert backend.generate(requests, SamplingParams()) == [r.text for r in requests]
    backend.close()
    by_text = {b["prompt"]: b for b in bodies}
    for s in "abcd":
        first, second = by_text[f"{s} positive"], by_text[f"{s} negative"]
        assert first["id_slot"] == second["id_slot"] and 0 <= first["id_slot"] < parallel
        assert second["cache_prompt"] is True  # the group's own prefix, always
        assert first["cache_prompt"] is (parallel > 1)


# --- reasoning: switched off where a backend can, never taken as the answer (issue 13.4) ------

#: the part of Qwen3's chat template that reads ``enable_thinking``
QWEN3_LIKE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n"
    "{% endif %}{% endif %}"
)


def _chat_request(content: str = "Premise: Two children play.") -> GenerationRequest:
    return GenerationRequest(
        seed_id=content,
        pass_="positive",
        prompt_id="t",
        seed=1,
        messages=({"role": "user", "content": content},),
    )


def test_chat_templates_get_enable_thinking_false(tiny_lm) -> None:
    from conftest import tiny_tokenizer
    from tripletforge.generate.backends.transformers_backend import TransformersBackend
    from tripletforge.generate.prompts import render_prompt

    tokenizer = tiny_tokenizer(QWEN3_LIKE)
    model, _ = tiny_lm
    off = TransformersBackend("tiny", model_obj=model, tokenizer=tokenizer)
    on = TransformersBackend("tiny", model_obj=model, tokenizer=tokenizer, thinking=True)
    request = _chat_request()
    assert render_prompt(request, tokenizer, off.template_kwargs).endswith(
        "<think>\n\n</think>\n\n"
    )
    assert render_prompt(request, tokenizer).endswith("<think>\n\n</think>\n\n")  # the default
    assert render_prompt(request, tokenizer, on.template_kwargs).endswith("assistant\n")
    # a template without the variable renders as before
    plain = tiny_tokenizer(QWEN3_LIKE.replace("enable_thinking is defined and ", "false and "))
    assert render_prompt(request, plain).endswith("assistant\n")


def test_vllm_backend_renders_with_thinking_off(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    from conftest import tiny_tokenizer

    tokenizer = tiny_tokenizer(QWEN3_LIKE)
    seen: list[str] = []

    class FakeLLM:
        def get_tokenizer(self):
            return tokenizer

        def generate(self, prompts, params, lora_request=None, use_tqdm=True):
            seen.extend(prompts)
            out = types.SimpleNamespace(text="Kids play.", token_ids=[1])
            return [types.SimpleNamespace(outputs=[out]) for _ in prompts]

    vllm = types.ModuleType("vllm")
    vllm.SamplingParams = lambda **kwargs: kwargs  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vllm", vllm)
    monkeypatch.setattr(
        "tripletforge.generate.backends.vllm_backend.model_sha256", lambda path: None
    )
    backend = get_backend("vllm", "smollm2-135m", llm=FakeLLM())
    assert backend.generate([_chat_request()], SamplingParams()) == ["Kids play."]
    assert seen[0].endswith("<think>\n\n</think>\n\n")


class _Reasoner(BaseHTTPRequestHandler):
    """An OpenAI-compatible stand-in that splits reasoning off, as vLLM and llama.cpp do."""

    bodies: ClassVar[list[dict]] = []
    refuse_kwargs = False

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append(body)
        if type(self).refuse_kwargs and "chat_template_kwargs" in body:
            self._send(400, {"error": "unknown field: chat_template_kwargs"})
            return
        content = body["messages"][-1]["content"]
        message = {"role": "assistant", "reasoning_content": "The premise mentions children."}
        message["content"] = None if "cut" in content else "Kids are outside."
        self._send(200, {"choices": [{"message": message}], "usage": {"completion_tokens": 3}})

    def _send(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_openai_backend_sends_thinking_off_and_ignores_reasoning_content() -> None:
    from tripletforge.generate.parsing import Rejection, parse_sentence

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Reasoner)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        backend = get_backend("openai", "m", base_url=url, concurrency=1)
        answers = backend.generate([_chat_request(), _chat_request("cut off")], SamplingParams())
        assert answers[0] == "Kids are outside."
        assert parse_sentence(answers[1], "x").reason == Rejection.REASONING_UNFINISHED
        assert _Reasoner.bodies[0]["chat_template_kwargs"] == {"enable_thinking": False}
        # a server that refuses the field gets the request without it, and no more after that
        _Reasoner.bodies.clear()
        _Reasoner.refuse_kwargs = True
        backend = get_backend("openai", "m", base_url=url, concurrency=1)
        assert (
            backend.generate([_chat_request()] * 2, SamplingParams()) == ["Kids are outside."] * 2
        )
        assert ["chat_template_kwargs" in b for b in _Reasoner.bodies] == [True, False, False]
        assert backend.retries == 0
    finally:
        server.shutdown()


def test_llamacpp_starts_with_reasoning_off_and_reads_content_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    xllamacpp = pytest.importorskip("xllamacpp")
    from tripletforge.generate.backends.llamacpp import LlamaCppBackend, start_server

    monkeypatch.setattr(xllamacpp, "Server", lambda params: params)
    options = {"parallel": 1, "ctx_per_slot": 64, "threads": 1, "gpu_layers": 0}
    assert start_server("m.gguf", **options).enable_reasoning == 0
    assert start_server("m.gguf", **options, thinking=True).enable_reasoning == 1
    # with LoRAs the host-RAM prompt cache (not keyed by adapter) is off
    assert start_server("m.gguf", **options).cache_ram_mib != 0
    with_loras = start_server("m.gguf", **options, lora_files=["a.gguf", "b.gguf"])
    assert with_loras.cache_ram_mib == 0 and with_loras.lora_init_without_apply
    assert [info.scale for info in with_loras.lora_adapters] == [0.0, 0.0]

    bodies: ClassVar[list[dict]] = []

    class FakeServer:
        def handle_chat_completions(self, body: dict) -> dict:
            bodies.append(body)
            message = {"content": "", "reasoning_content": "Let me think"}
            return {"choices": [{"message": message}], "usage": {"completion_tokens": 2}}

    backend = object.__new__(LlamaCppBackend)
    backend.__dict__.update(
        _server=FakeServer(), template_kwargs={"enable_thinking": False}, tokens_generated=0,
        prompt_tokens=0, cached_tokens=0, _loras={}, _lora_files=[],
    )  # fmt: skip
    assert backend._one(_chat_request(), SamplingParams()) == "<think>Let me think"
    assert bodies[0]["chat_template_kwargs"] == {"enable_thinking": False}


def test_backends_say_when_another_run_may_differ() -> None:
    """llama.cpp is deterministic with one slot (the default) and says why not with several;
    vLLM and remote servers always say so; the transformers backend is deterministic."""
    import inspect

    from tripletforge.generate.backends.llamacpp import LlamaCppBackend
    from tripletforge.generate.backends.openai_backend import OpenAIBackend
    from tripletforge.generate.backends.transformers_backend import TransformersBackend
    from tripletforge.generate.backends.vllm_backend import VllmBackend

    assert inspect.signature(LlamaCppBackend).parameters["parallel"].default == 1
    backend = object.__new__(LlamaCppBackend)
    backend.parallel = 1
    assert backend.nondeterminism() is None
    backend.parallel = 8
    assert "8 parallel slots" in (backend.nondeterminism() or "")
    assert object.__new__(VllmBackend).nondeterminism()
    assert object.__new__(OpenAIBackend).nondeterminism()
    assert object.__new__(TransformersBackend).nondeterminism() is None
