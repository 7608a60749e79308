"""Adapter training, masking, resume, composition and plain-peft loading on a tiny Llama."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from tripletforge.adapters import (  # noqa: E402
    AdapterTrainSettings,
    LoraSettings,
    PromptPair,
    compose_adapters,
    format_adapter_prompt,
    read_provenance,
    train_adapter,
)
from tripletforge.adapters.compose import load_lora  # noqa: E402
from tripletforge.adapters.train import (  # noqa: E402
    IGNORE_INDEX,
    TRAIN_LOG_FILE,
    adapter_trainer,
    encode_prompt_pair,
    encode_text,
)
from tripletforge.checkpointing import CHECKPOINT_MARK  # noqa: E402

PAIRS = [
    PromptPair("A man is playing a guitar on stage.", "A man is making music."),
    PromptPair("Two dogs run through the snow.", "Animals are outside."),
    PromptPair("A woman reads a book in the park.", "Someone is reading."),
    PromptPair("Children are playing football outside.", "Kids play a game."),
    PromptPair("The cat sits on the mat.", "An animal is resting."),
    PromptPair("A chef cooks pasta in a kitchen.", "Food is being made."),
]
TEXT = ["Ina son karanta littafi.", "Yara suna wasa a waje.", "Hukumar ta dauki matakin."] * 2


def build_tiny_causal_lm(path: Path, hidden: int = 64, layers: int = 2) -> Path:
    """A random 2-layer Llama with a byte-level BPE tokenizer trained on the fly."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    torch.manual_seed(0)
    corpus = [
        format_adapter_prompt(p.premise, pol) for p in PAIRS for pol in ("positive", "negative")
    ]
    corpus += [p.hypothesis for p in PAIRS] + TEXT
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<s>", "</s>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(corpus * 3, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    config = LlamaConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=2,
        initializer_range=0.1,  # logits far enough from uniform for LoRA to move them
    )
    LlamaForCausalLM(config).save_pretrained(path)
    fast.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-lm"))


def _settings(**kw) -> AdapterTrainSettings:
    base = dict(
        batch_size=2, learning_rate=1e-2, max_length=64, seed=0, device="cpu", scheduler="constant"
    )
    base.update(kw)
    return AdapterTrainSettings(**base)


def _first_batch(tiny_lm: Path, tmp_path: Path, encoded, supervised: bool) -> dict:
    """The first batch ``SFTTrainer`` trains on (its data preparation and collator)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_lm)
    trainer = adapter_trainer(
        AutoModelForCausalLM.from_pretrained(tiny_lm), tokenizer, encoded, tmp_path / "ck",
        supervised=supervised, lora=LoraSettings(), train=_settings(batch_size=len(encoded)),
        total_steps=1,
    )  # fmt: skip
    return next(iter(trainer.get_train_dataloader()))


def test_prompt_tokens_are_masked_exactly(tiny_lm: Path, tmp_path: Path) -> None:
    """What the trainer sees: prompt labels -100, completion + EOS learnt, padding ignored."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_lm)
    encoded = [encode_prompt_pair(tokenizer, p, "negative", 64) for p in PAIRS[:3]]
    batch = _first_batch(tiny_lm, tmp_path, encoded, supervised=True)
    assert batch["input_ids"].shape[0] == 3
    by_ids = {tuple(ex.input_ids): (ex, pair) for ex, pair in zip(encoded, PAIRS, strict=False)}
    for row in range(3):
        mask = batch["attention_mask"][row]
        n = int(mask.sum())
        ex, pair = by_ids[tuple(batch["input_ids"][row, :n].tolist())]  # the sampler shuffles
        prompt_ids = tokenizer(format_adapter_prompt(pair.premise, "negative"))["input_ids"]
        n_prompt = len(prompt_ids)
        assert ex.input_ids[:n_prompt] == prompt_ids and n == len(ex.input_ids)
        labels = batch["labels"][row]
        assert (labels[:n_prompt] == IGNORE_INDEX).all()
        assert (labels[n_prompt:n] == batch["input_ids"][row, n_prompt:n]).all()
        assert (labels[n_prompt:n] != IGNORE_INDEX).all()
        assert labels[n - 1].item() == tokenizer.eos_token_id
        assert (labels[n:] == IGNORE_INDEX).all() and (mask[n:] == 0).all()
        completion = tokenizer.decode(ex.input_ids[n_prompt:-1])
        assert completion.strip() == pair.hypothesis


def test_language_batches_learn_every_token(tiny_lm: Path, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_lm)
    encoded = [encode_text(tokenizer, text, 64) for text in TEXT[:3]]
    batch = _first_batch(tiny_lm, tmp_path, encoded, supervised=False)
    for row in range(3):
        n = int(batch["attention_mask"][row].sum())
        assert (batch["labels"][row, :n] == batch["input_ids"][row, :n]).all()
        assert (batch["labels"][row, n:] == IGNORE_INDEX).all()


def test_training_lowers_loss_and_loads_with_plain_peft(tiny_lm: Path, tmp_path: Path) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    out = tmp_path / "task-pos"
    result = train_adapter(
        str(tiny_lm),
        PAIRS,
        out,
        adapter_type="task",
        polarity="positive",
        train=_settings(max_steps=30),
        progress=False,
    )
    assert result.steps == 30 and len(result.losses) == 30
    first, last = sum(result.losses[:3]) / 3, sum(result.losses[-3:]) / 3
    assert last < 0.7 * first, (first, last)

    prov = read_provenance(out)
    assert prov["adapter_type"] == "task" and prov["polarity"] == "positive"
    assert prov["lora"] == {"r": 8, "alpha": 16, "dropout": 0.05, "target_modules": "all-linear"}
    assert len(prov["data"]["sha256"]) == 64 and prov["seed"] == 0
    assert {"torch", "transformers", "peft"} <= set(prov["versions"])

    config = json.loads((out / "adapter_config.json").read_text())
    assert config["r"] == 8 and config["lora_alpha"] == 16
    names = {name.rsplit(".", 1)[-1] for name in config["target_modules"]}
    assert names == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    base = AutoModelForCausalLM.from_pretrained(tiny_lm)
    model = PeftModel.from_pretrained(base, out).eval()
    _, saved = load_lora(out)
    layer = model.base_model.model.model.layers[0].self_attn.q_proj
    key = next(k for k in saved if k.endswith("layers.0.self_attn.q_proj"))
    assert torch.equal(layer.lora_B["default"].weight, saved[key][1])
    assert saved[key][1].abs().sum() > 0  # B moved away from its zero init


def test_language_adapter_trains_on_all_tokens(tiny_lm: Path, tmp_path: Path) -> None:
    result = train_adapter(
        str(tiny_lm),
        TEXT,
        tmp_path / "lang",
        adapter_type="language",
        lang="hau",
        lora=LoraSettings(r=4, alpha=8, target_modules=["q_proj", "v_proj"]),
        train=_settings(max_steps=20, eval_examples=2),
        progress=False,
    )
    assert sum(result.losses[-3:]) < 0.8 * sum(result.losses[:3])
    prov = read_provenance(tmp_path / "lang")
    assert prov["lang"] == "hau" and prov["data"]["held_out"] == 2 and prov["data"]["used"] == 4
    # the held-out loss: base model (LoRA B = 0) before, the adapter after (TEXT repeats)
    assert prov["eval"]["examples"] == 2
    assert result.eval_loss_after < result.eval_loss_before == prov["eval"]["loss_before"]
    with pytest.raises(TypeError):
        train_adapter(str(tiny_lm), PAIRS, tmp_path / "x", adapter_type="language", progress=False)


def test_interrupted_run_resumes_to_identical_weights(tiny_lm: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    settings = _settings(max_steps=6, save_steps=2)
    kwargs = dict(adapter_type="xlora", polarity="negative", progress=False)
    train_adapter(str(tiny_lm), PAIRS, tmp_path / "full", train=settings, **kwargs)

    def stop_at_5(step: int, loss: float) -> None:
        if step == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_adapter(
            str(tiny_lm), PAIRS, tmp_path / "cut", train=settings, on_step=stop_at_5, **kwargs
        )
    assert (tmp_path / "cut" / "checkpoints" / "checkpoint-4" / CHECKPOINT_MARK).exists()
    assert not (tmp_path / "cut" / "adapter_model.safetensors").exists()
    resumed = train_adapter(str(tiny_lm), PAIRS, tmp_path / "cut", train=settings, **kwargs)
    assert resumed.resumed_from == 4
    full = load_file(tmp_path / "full" / "adapter_model.safetensors")
    cut = load_file(tmp_path / "cut" / "adapter_model.safetensors")
    assert full.keys() == cut.keys()
    for key in full:
        torch.testing.assert_close(full[key], cut[key], rtol=0, atol=1e-6)
    # the step log survives the resume: one row per step, times for every step
    for folder in ("full", "cut"):
        rows = (tmp_path / folder / TRAIN_LOG_FILE).read_text().splitlines()
        assert rows[0] == "step,loss,lr,seconds" and len(rows) == 7
        assert all(float(row.split(",")[3]) > 0 for row in rows[1:])
    prov = read_provenance(tmp_path / "cut")
    assert len(prov["step_seconds"]) == 6 and prov["peak_rss_mb"] > 0
    assert resumed.mean_step_seconds is not None and resumed.peak_rss_mb > 0
    # a finished run is not trained again
    again = train_adapter(str(tiny_lm), PAIRS, tmp_path / "cut", train=settings, **kwargs)
    assert again.resumed_from == 6 and len(again.step_seconds) == 6
    assert not (tmp_path / "cut" / "checkpoints").exists()  # finished: checkpoints removed
    # a checkpoint from other data is refused
    with pytest.raises(KeyboardInterrupt):
        train_adapter(
            str(tiny_lm), PAIRS, tmp_path / "other", train=settings, on_step=stop_at_5, **kwargs
        )
    with pytest.raises(RuntimeError, match="other data"):
        train_adapter(str(tiny_lm), PAIRS[:4], tmp_path / "other", train=settings, **kwargs)


def _random_adapter(tiny_lm: Path, out: Path, r: int, alpha: int, seed: int, targets) -> Path:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(tiny_lm)
    config = LoraConfig(r=r, lora_alpha=alpha, target_modules=targets, init_lora_weights=False)
    get_peft_model(base, config).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def three_adapters(tiny_lm: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("adapters")
    return [
        _random_adapter(tiny_lm, root / "task", 4, 16, 1, "all-linear"),
        _random_adapter(tiny_lm, root / "tgt", 8, 8, 2, "all-linear"),
        _random_adapter(tiny_lm, root / "en", 2, 4, 3, ["q_proj", "v_proj", "down_proj"]),
    ]


def _expected_merged(tiny_lm: Path, adapters: list[Path], lam: float) -> dict[str, torch.Tensor]:
    """W + ΔW_task + λ(ΔW_tgt − ΔW_en), computed from the saved A, B and α/r directly."""
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    weights = dict(AutoModelForCausalLM.from_pretrained(tiny_lm).state_dict())
    for path, coeff in zip(adapters, (1.0, lam, -lam), strict=True):
        config = json.loads((path / "adapter_config.json").read_text())
        scale = config["lora_alpha"] / config["r"]
        tensors = load_file(path / "adapter_model.safetensors")
        for key, a in tensors.items():
            if ".lora_A." not in key:
                continue
            b = tensors[key.replace(".lora_A.", ".lora_B.")]
            name = key.split("base_model.model.", 1)[1].replace(".lora_A.weight", ".weight")
            weights[name] = weights[name] + coeff * scale * (b.double() @ a.double()).float()
    return weights


def _merged(tiny_lm: Path, adapter: Path) -> dict[str, torch.Tensor]:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_lm)
    return dict(PeftModel.from_pretrained(base, adapter).merge_and_unload().state_dict())


@pytest.mark.parametrize("method", ["explicit", "cat"])
def test_composition_equals_delta_w_arithmetic(
    tiny_lm: Path, three_adapters: list[Path], tmp_path: Path, method: str
) -> None:
    lam = 0.7
    adapters = three_adapters
    out = compose_adapters(
        *adapters, tmp_path / "composed", lam=lam, method=method, base_model=str(tiny_lm)
    )
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["r"] == 4 + 8 + 2
    expected = _expected_merged(tiny_lm, adapters, lam)
    merged = _merged(tiny_lm, out)
    assert merged.keys() == expected.keys()
    for name, value in merged.items():
        torch.testing.assert_close(value, expected[name], rtol=1e-5, atol=1e-5)
    key = "model.layers.1.mlp.down_proj.weight"  # touched by all three adapters
    base = _expected_merged(tiny_lm, adapters, 0.0)[key]
    assert (merged[key] - base).abs().max() > 1e-3  # the language difference is really there
    prov = read_provenance(out)
    assert prov["adapter_type"] == "composed" and prov["lambda"] == lam and prov["method"] == method


def test_linear_combination_is_not_the_delta_w_sum(
    tiny_lm: Path, three_adapters: list[Path], tmp_path: Path
) -> None:
    """peft's ``linear`` mixes A and B separately (cross terms): documented, not exact."""
    same_rank = [three_adapters[0], three_adapters[0], three_adapters[0]]
    tgt = _random_adapter(tiny_lm, tmp_path / "tgt4", 4, 16, 5, "all-linear")
    adapters = [same_rank[0], tgt, same_rank[0]]
    out = compose_adapters(
        *adapters, tmp_path / "lin", lam=0.5, method="linear", base_model=str(tiny_lm)
    )
    expected = _expected_merged(tiny_lm, adapters, 0.5)
    merged = _merged(tiny_lm, out)
    key = "model.layers.0.self_attn.q_proj.weight"
    assert not torch.allclose(merged[key], expected[key], atol=1e-4)


def test_merge_adapter_saves_a_plain_model_with_the_same_outputs(
    tiny_lm: Path, three_adapters: list[Path], tmp_path: Path
) -> None:
    from transformers import AutoModelForCausalLM

    from tripletforge.adapters import load_with_adapter, merge_adapter

    out = merge_adapter(three_adapters[0], tmp_path / "merged")
    merged = AutoModelForCausalLM.from_pretrained(out).eval()
    peft_model, tokenizer = load_with_adapter(three_adapters[0])
    ids = tokenizer(format_adapter_prompt("A dog runs.", "positive"), return_tensors="pt")
    with torch.inference_mode():
        torch.testing.assert_close(
            merged(**ids).logits, peft_model(**ids).logits, rtol=1e-4, atol=1e-4
        )
        base = AutoModelForCausalLM.from_pretrained(tiny_lm)(**ids).logits
    assert not torch.allclose(base, merged(**ids).logits)


def test_loss_curve_plot(tiny_lm: Path, tmp_path: Path) -> None:
    from tripletforge.adapters.report import plot_loss_curves, read_loss_curve

    for name in ("a", "b"):
        train_adapter(
            str(tiny_lm),
            TEXT,
            tmp_path / name,
            adapter_type="language",
            train=_settings(max_steps=4),
            progress=False,
        )
    curve = read_loss_curve(tmp_path / "a")
    assert len(curve.losses) == 4 and len(curve.seconds) == 4
    assert curve.smoothed(2)[1] == pytest.approx(sum(curve.losses[:2]) / 2)
    png = plot_loss_curves([tmp_path / "a", tmp_path / "b"], tmp_path / "plot" / "loss.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_4bit_needs_a_gpu_and_bitsandbytes(tiny_lm: Path, tmp_path: Path, monkeypatch) -> None:
    """QLoRA fails before loading anything, with the fix; CPU training never imports bnb."""
    import importlib.util
    import sys

    from tripletforge.adapters.train import QuantizationError, check_quantization

    check_quantization(_settings())  # no quantization: nothing to check
    assert "bitsandbytes" not in sys.modules
    with pytest.raises(QuantizationError, match=r"needs a CUDA GPU.*device is cpu"):
        train_adapter(
            str(tiny_lm), PAIRS, tmp_path / "q", adapter_type="task", polarity="positive",
            train=_settings(max_steps=1, quantization="4bit"), progress=False,
        )  # fmt: skip
    assert not (tmp_path / "q" / "adapter_model.safetensors").exists()
    # on a GPU machine without the package: an ImportError naming the extra
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "bitsandbytes" else real_find_spec(name, *a),
    )
    with pytest.raises(ImportError, match=r"tripletforge\[qlora\]"):
        check_quantization(_settings(quantization="4bit", device=None))
