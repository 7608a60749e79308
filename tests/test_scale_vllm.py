"""The vllm backend's LoRA requests, against a stand-in ``vllm`` module (no vLLM needed)."""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tripletforge.data.schemas import SeedSentence
from tripletforge.generate.backends import get_backend
from tripletforge.generate.config import engine_options
from tripletforge.generate.requests import GenerationRequest, SamplingParams
from tripletforge.generate.strategies import StrategyContext, make_strategy

SEEDS = [
    SeedSentence("Yara suna wasa a waje.", "hau", "s1"),
    SeedSentence("Ina son karatu.", "hau", "s2"),
]


@dataclass(frozen=True)
class FakeLoRARequest:
    lora_name: str
    lora_int_id: int
    lora_path: str


@dataclass
class FakeLLM:
    """Records what vLLM's ``LLM`` would receive; answers ``<adapter name or base>``."""

    kwargs: dict[str, Any]
    calls: list[dict[str, Any]] = field(default_factory=list)

    def get_tokenizer(self) -> Any:
        return types.SimpleNamespace(chat_template=None)

    def generate(self, prompts, params, lora_request=None, use_tqdm=True):
        self.calls.append({"prompts": prompts, "params": params, "lora": lora_request})
        loras = lora_request if isinstance(lora_request, list) else [lora_request] * len(prompts)
        return [
            types.SimpleNamespace(
                outputs=[
                    types.SimpleNamespace(
                        text=f"out of {lora.lora_name if lora else 'base'}\nmore",
                        token_ids=[1, 2, 3],
                    )
                ]
            )
            for lora in loras
        ]


@pytest.fixture
def fake_vllm(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    vllm = types.ModuleType("vllm")
    vllm.LLM = lambda model, **kwargs: FakeLLM({"model": model, **kwargs})  # type: ignore[attr-defined]
    vllm.SamplingParams = lambda **kwargs: kwargs  # type: ignore[attr-defined]
    lora = types.ModuleType("vllm.lora")
    request = types.ModuleType("vllm.lora.request")
    request.LoRARequest = FakeLoRARequest  # type: ignore[attr-defined]
    for name, module in (("vllm", vllm), ("vllm.lora", lora), ("vllm.lora.request", request)):
        monkeypatch.setitem(sys.modules, name, module)
    return vllm


def _adapter(path: Path, r: int) -> Path:
    path.mkdir(parents=True)
    (path / "adapter_config.json").write_text(json.dumps({"r": r, "peft_type": "LORA"}))
    return path


def test_xlora_passes_become_two_lora_requests(tmp_path: Path, fake_vllm: Any) -> None:
    positive = _adapter(tmp_path / "entail", 8)
    negative = _adapter(tmp_path / "contra", 16)
    options = {"positive_adapter": str(positive), "negative_adapter": str(negative)}
    engine = engine_options("xlora", "vllm", options)
    assert engine == {"enable_lora": True, "max_loras": 2, "max_lora_rank": 16}
    backend = get_backend("vllm", str(tmp_path / "base"), chat=False, **engine)
    assert backend.llm.kwargs["enable_lora"] and backend.llm.kwargs["max_lora_rank"] == 16
    strategy = make_strategy(
        "xlora", StrategyContext(chat=False, mode="crosslingual", options=options)
    )
    requests = [
        r
        for i, seed in enumerate(SEEDS)
        for r in strategy.plan(seed, ["positive", "negative"], anchor_seed=i, attempt=0)
    ]
    texts = backend.generate(requests, SamplingParams(max_tokens=12))
    call = backend.llm.calls[0]
    loras = call["lora"]
    assert [lora.lora_int_id for lora in loras] == [1, 2, 1, 2]  # positive 1, negative 2
    assert [lora.lora_path for lora in loras] == [
        str(positive.resolve()),
        str(negative.resolve()),
    ] * 2
    assert loras[0].lora_name.startswith("entail-") and loras[1].lora_name.startswith("contra-")
    assert texts[0] == f"out of {loras[0].lora_name}"  # cut at the strategy's stop "\n"
    assert [p["seed"] for p in call["params"]] == [r.seed for r in requests]
    assert call["params"][0]["stop"] == ["\n"] and call["params"][0]["max_tokens"] == 12
    assert call["prompts"] == [r.text for r in requests] and backend.tokens_generated == 12
    # ids are stable across calls; a base-model request gets no LoRA
    base = GenerationRequest(seed_id="s3", pass_="positive", prompt_id="p", seed=3, text="x")
    backend.generate([requests[1], base], SamplingParams())
    second = backend.llm.calls[1]["lora"]
    assert second[0].lora_int_id == 2 and second[1] is None
    backend.generate([base], SamplingParams())
    assert backend.llm.calls[2]["lora"] is None


def test_compose_named_adapters_and_engine_options(tmp_path: Path, fake_vllm: Any) -> None:
    parts = {name: _adapter(tmp_path / name, 8) for name in ("tp", "tn", "en", "hau", "yor")}
    options = {
        "task_positive": str(parts["tp"]),
        "task_negative": str(parts["tn"]),
        "lang_english": str(parts["en"]),
        "lang_target": {"hau": str(parts["hau"]), "yor": str(parts["yor"])},
    }
    # a composed adapter has the summed rank (8 + 8 + 8 → 32 for vLLM); 2 passes × 2 languages
    assert engine_options("compose", "vllm", options) == {
        "enable_lora": True,
        "max_loras": 4,
        "max_lora_rank": 32,
    }
    assert engine_options("icl", "vllm", options) == {}
    assert engine_options("compose", "transformers", options) == {}  # PEFT: nothing to set
    fixed = {"positive_adapter": str(parts["tp"]), "negative_adapter": str(parts["tn"])}
    strategy = make_strategy("compose", StrategyContext(chat=False, options=fixed))
    backend = get_backend(
        "vllm", "m", chat=False, adapters={"pos": str(parts["tp"])}, llm=FakeLLM({})
    )
    requests = strategy.plan(SEEDS[0], ["positive", "negative"], anchor_seed=1, attempt=0)
    named = GenerationRequest(
        seed_id="s", pass_="positive", prompt_id="p", seed=1, text="x", adapter="pos"
    )
    backend.generate([*requests, named], SamplingParams())
    loras = backend.llm.calls[0]["lora"]
    # the named adapter and its folder share one id; the negative adapter gets the next one
    assert [lora.lora_int_id for lora in loras] == [1, 2, 1]
    assert loras[2] is loras[0] and loras[1].lora_path == str(parts["tn"].resolve())
    assert backend.lora_request("pos") is loras[0]
    with pytest.raises(KeyError, match="neither a PEFT folder"):
        backend.lora_request("missing")


def test_adapters_need_a_lora_engine(tmp_path: Path, fake_vllm: Any) -> None:
    backend = get_backend("vllm", "m", chat=False)
    assert "enable_lora" not in backend.llm.kwargs
    request = GenerationRequest(
        seed_id="s",
        pass_="positive",
        prompt_id="p",
        seed=1,
        text="x",
        adapter=str(_adapter(tmp_path / "a", 8)),
    )
    with pytest.raises(ValueError, match="enable_lora=true"):
        backend.generate([request], SamplingParams())
    assert backend.generate([], SamplingParams()) == []


def test_pipeline_xlora_arm_on_vllm_builds_a_lora_engine(tmp_path: Path, fake_vllm: Any) -> None:
    """`tripletforge run` with an xlora arm on `backend: vllm` turns LoRA on (was: off)."""
    from tripletforge.pipeline import Runner, parse_config
    from tripletforge.pipeline.manifest import read_manifest

    positive = _adapter(tmp_path / "entail", 8)
    negative = _adapter(tmp_path / "contra", 16)
    config = parse_config(
        {
            "name": "vllm-xlora",
            "runs_dir": str(tmp_path / "runs"),
            "languages": ["hau"],
            "anchors": 4,
            "sizes": [4],
            "train": {"batch_size": 2},
            "merge": {"enabled": False},
            "arms": [
                {
                    "name": "xl",
                    "strategy": "xlora",
                    "generate": {"mode": "crosslingual"},
                    "strategy_options": {
                        "positive_adapter": str(positive),
                        "negative_adapter": str(negative),
                    },
                }
            ],
            "generate": {"backend": "vllm", "model": "m", "max_attempts": 1},
        }
    )
    engines: list[FakeLLM] = []
    fake_vllm.LLM = lambda model, **kwargs: engines.append(FakeLLM(kwargs)) or engines[-1]
    summary = Runner(config, progress=False, only=["generate"]).run()
    stage = next(s for s in summary.stages if s.name == "generate")
    assert stage.status == "done", stage.error
    (engine,) = engines
    assert engine.kwargs == {"enable_lora": True, "max_loras": 2, "max_lora_rank": 16}
    loras = engine.calls[0]["lora"]
    assert {lora.lora_path for lora in loras} == {str(positive.resolve()), str(negative.resolve())}
    manifest = read_manifest(tmp_path / "runs" / "vllm-xlora" / "hau" / "xl" / "generate")
    assert manifest["metrics"]["requests"] == 8
