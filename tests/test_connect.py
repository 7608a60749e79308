"""LUSIFER connect: connector shapes, frozen parts, save/load, the English-only guard, the CLI.

Everything runs on tiny models built here (a 2-layer BERT encoder, a BERT target of another
width, a 2-layer Llama decoder target); one slow test uses the real e5-small and MiniLM.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from conftest import TINY_CORPUS, build_tiny_encoder
from tripletforge.cli.main import app
from tripletforge.connect import (
    ConnectedEncoder,
    Connector,
    ConnectSettings,
    EnglishGuard,
    SettingsError,
    build_connected_model,
    english_problem,
    parse_settings,
    train_connected,
)
from tripletforge.connect.align import align_connector
from tripletforge.connect.targets import LoadedTransformer

ENGLISH = [
    "A man is riding a bicycle down the street.",
    "Two children are playing with a ball in the park.",
    "A woman is cooking dinner in the kitchen.",
    "A dog sleeps on the sofa.",
    "An old man reads a newspaper on a bench.",
    "Three people are climbing a mountain.",
    "The cat sits on the mat.",
    "A dog runs in the park.",
]
ENGLISH_TRIPLETS = [
    {"anchor": a, "positive": p, "negative": n}
    for a, p, n in [
        ("A man is riding a bicycle.", "A person rides a bike.", "A man is sleeping at home."),
        (
            "Two children are playing football.",
            "Kids are playing a game.",
            "Nobody is playing outside.",
        ),
        ("A woman is cooking dinner.", "Someone prepares food.", "The kitchen is empty."),
        ("A dog sleeps on the sofa.", "An animal is resting.", "The dog is running outside."),
        ("An old man reads a newspaper.", "A man is reading.", "The man is swimming."),
        ("Three people climb a mountain.", "People are hiking.", "Everyone is sitting indoors."),
    ]
]
#: Not English: Hausa, Kinyarwanda, French, Amharic, Marathi (from the tiny corpus) + Swahili.
FOREIGN = [*TINY_CORPUS[4:], "Watoto wanacheza mpira uwanjani."]


def build_tiny_decoder(path: Path) -> Path:
    """A 2-layer Llama base model (width 40, tied embeddings) with the tiny tokenizer."""
    from transformers import LlamaConfig, LlamaModel

    from conftest import tiny_tokenizer

    tokenizer = tiny_tokenizer()
    torch.manual_seed(1)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=40,
        intermediate_size=80,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=256,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
        architectures=["LlamaForCausalLM"],
    )
    LlamaModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny encoder (width 32), an encoder target (width 48) and a decoder target (40)."""
    root = tmp_path_factory.mktemp("connect-models")
    encoder = build_tiny_encoder(root / "encoder", hidden=32)
    target = build_tiny_encoder(root / "target", hidden=48)
    return {"encoder": encoder, "target": target, "decoder": build_tiny_decoder(root / "decoder")}


def tiny_settings(models: dict[str, Path], **overrides) -> ConnectSettings:
    fields = {
        "encoder": str(models["encoder"]),
        "target": str(models["target"]),
        "max_seq_length": 32,
        "connector": {"num_learned_tokens": 3, "hidden_dim": 24},
        "align": {"max_steps": 3, "batch_size": 4, "max_seq_length": 32, "log_every": 1},
        "finetune": {"max_steps": 2, "batch_size": 4, "max_seq_length": 32},
        "device": "cpu",
    }
    for key, value in overrides.items():
        if isinstance(value, dict):
            fields[key] = {**fields.get(key, {}), **value}
        else:
            fields[key] = value
    return parse_settings(fields)


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_connector_shapes_layout_and_zero_padding():
    torch.manual_seed(0)
    connector = Connector(16, 24, hidden_dim=20, num_learned_tokens=3)
    hidden = torch.randn(2, 5, 16)  # (batch, n, d_in)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    embeds, new_mask = connector(hidden, mask)
    assert embeds.shape == (2, 8, 24)  # (batch, n + k, d_out)
    assert new_mask.tolist() == [[1] * 6 + [0] * 2, [1] * 8]
    learned = connector.learned_tokens.detach()
    torch.testing.assert_close(embeds[0, 3:6], learned)  # right after the 3 real tokens
    torch.testing.assert_close(embeds[1, 5:8], learned)
    assert torch.count_nonzero(embeds[0, 6:]) == 0
    # the projection is token-wise: a row does not depend on the other rows or on padding
    alone, _ = connector(hidden[:1, :3], mask[:1, :3])
    torch.testing.assert_close(alone[0], embeds[0, :6])


def test_connected_model_shapes_and_padding_invariance(tiny_models):
    built = build_connected_model(tiny_settings(tiny_models))
    module = built.module
    assert isinstance(module, ConnectedEncoder)
    features = module.preprocess(["The cat sits on the mat.", "A dog."])
    n = features["input_ids"].shape[1]
    out = module(dict(features))
    assert out["token_embeddings"].shape == (2, n + 3, 48)  # (batch, n + k, d_target)
    assert out["attention_mask"].shape == (2, n + 3)
    pair = built.model.encode(["The cat sits on the mat.", "A dog."], convert_to_numpy=True)
    single = built.model.encode(["A dog."], convert_to_numpy=True)
    assert pair.shape == (2, 48)
    np.testing.assert_allclose(pair[1], single[0], atol=1e-5)


def test_alignment_trains_only_the_connector(tiny_models):
    built = build_connected_model(tiny_settings(tiny_models))
    encoder_before = snapshot(built.module.encoder)
    target_before = snapshot(built.module.target)
    connector_before = snapshot(built.module.connector)
    settings = tiny_settings(tiny_models)
    report = align_connector(built, ENGLISH, settings.align, progress=False)
    assert report.steps == 3 and np.isfinite(report.last_loss)
    assert report.trainable_parameters == sum(
        p.numel() for p in built.module.connector.parameters()
    )
    for name, value in snapshot(built.module.encoder).items():
        assert torch.equal(value, encoder_before[name]), name
    for name, value in snapshot(built.module.target).items():
        assert torch.equal(value, target_before[name]), name
    changed = [k for k, v in snapshot(built.module.connector).items()
               if not torch.equal(v, connector_before[k])]  # fmt: skip
    assert changed, "the connector did not train"


def test_alignment_is_deterministic(tiny_models):
    settings = tiny_settings(tiny_models)
    runs = []
    for _ in range(2):
        built = build_connected_model(settings)
        align_connector(built, ENGLISH, settings.align, seed=3, progress=False)
        runs.append(snapshot(built.module.connector))
    for name, value in runs[0].items():
        assert torch.equal(value, runs[1][name]), name


def test_save_load_gives_identical_embeddings(tiny_models, tmp_path):
    from sentence_transformers import SentenceTransformer

    from tripletforge.models import load_encoder

    built = build_connected_model(tiny_settings(tiny_models))
    align_connector(built, ENGLISH, tiny_settings(tiny_models).align, progress=False)
    texts = [*ENGLISH[:3], *FOREIGN]
    expected = built.model.encode(texts, convert_to_numpy=True)
    built.model.save(str(tmp_path / "m"))
    files = {p.name for p in (tmp_path / "m").rglob("*") if p.is_file()}
    assert "connector.safetensors" in files and "model.safetensors" in files
    assert not {f for f in files if f.endswith((".bin", ".pt", ".pth", ".pkl"))}
    with pytest.raises(ValueError, match="trust_remote_code"):
        SentenceTransformer(str(tmp_path / "m"), device="cpu")  # a custom module needs the flag
    loaded = SentenceTransformer(str(tmp_path / "m"), device="cpu", trust_remote_code=True)
    np.testing.assert_array_equal(loaded.encode(texts, convert_to_numpy=True), expected)
    ours = load_encoder(str(tmp_path / "m"))  # tripletforge's loader needs no flag
    np.testing.assert_array_equal(ours.encode(texts, convert_to_numpy=True), expected)


def test_lora_save_load_and_merge(tiny_models, tmp_path):
    from sentence_transformers import SentenceTransformer

    built = build_connected_model(tiny_settings(tiny_models))
    module = built.module
    module.add_lora(r=4, alpha=8, dropout=0.0, target_modules="all-linear")
    with torch.no_grad():  # LoRA B starts at zero: make the adapters do something
        for name, param in module.target.named_parameters():
            if "lora_B" in name:
                param.normal_(std=0.05)
    texts = ENGLISH[:4]
    expected = built.model.encode(texts, convert_to_numpy=True)
    built.model.save(str(tmp_path / "lora"))
    assert (tmp_path / "lora" / "target_lora" / "adapter_model.safetensors").is_file()
    loaded = SentenceTransformer(str(tmp_path / "lora"), device="cpu", trust_remote_code=True)
    assert loaded[0].has_lora
    np.testing.assert_allclose(loaded.encode(texts, convert_to_numpy=True), expected, atol=1e-6)
    loaded[0].merge_lora()
    assert not loaded[0].has_lora
    np.testing.assert_allclose(loaded.encode(texts, convert_to_numpy=True), expected, atol=1e-5)


def test_english_guard_refuses_other_languages_and_scripts():
    for text in ENGLISH:
        assert english_problem(text) is None, text
    for text in FOREIGN:
        assert english_problem(text) is not None, text
    assert english_problem("ድመቷ በምንጣፉ ላይ ተቀምጣለች።").startswith("non-Latin script")
    assert english_problem("Ina son karanta littafi.").startswith("language ")
    assert english_problem("   ") == "empty"
    guard = EnglishGuard()
    kept = guard.texts([*ENGLISH, *FOREIGN])
    assert kept == ENGLISH
    assert guard.refused == len(FOREIGN) and sum(guard.reasons.values()) == len(FOREIGN)


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


def test_no_non_english_text_reaches_training(tiny_models, tmp_path, monkeypatch):
    """Mixed-language input files: every text either stage sees is English; the rest counted."""
    seen: list[str] = []
    original_preprocess = ConnectedEncoder.preprocess
    original_embed = LoadedTransformer.embed

    def spy_preprocess(self, inputs, prompt=None, **kwargs):
        seen.extend(str(t) for t in inputs)
        return original_preprocess(self, inputs, prompt, **kwargs)

    def spy_embed(self, texts, max_length):
        seen.extend(texts)
        return original_embed(self, texts, max_length)

    monkeypatch.setattr(ConnectedEncoder, "preprocess", spy_preprocess)
    monkeypatch.setattr(LoadedTransformer, "embed", spy_embed)
    align_file = tmp_path / "align.txt"
    align_file.write_text("\n".join([*ENGLISH, *FOREIGN]) + "\n", encoding="utf-8")
    mixed = [
        *ENGLISH_TRIPLETS,
        {"anchor": FOREIGN[0], "positive": ENGLISH[0], "negative": ENGLISH[1]},
        {"anchor": ENGLISH[2], "positive": FOREIGN[1], "negative": ENGLISH[3]},
        {"anchor": ENGLISH[4], "positive": ENGLISH[5], "negative": FOREIGN[-1]},
    ]
    triplets = _write_jsonl(tmp_path / "triplets.jsonl", mixed)
    settings = tiny_settings(
        tiny_models, align={"data": [str(align_file)]}, finetune={"data": [str(triplets)]}
    )
    result = train_connected(settings, tmp_path / "out", progress=False)
    assert seen, "the spies saw nothing"
    assert not set(seen) & set(FOREIGN)
    problems = {t: english_problem(t) for t in set(seen)}
    assert not {t: p for t, p in problems.items() if p}, "non-English text reached training"
    data = result.provenance["data"]
    assert data["align"]["english_guard"]["refused"] == len(FOREIGN)
    assert data["finetune"]["english_guard"]["refused"] == 3
    assert data["finetune"]["kept"] == len(ENGLISH_TRIPLETS)
    assert result.provenance["finetune"]["global_step"] == 2


def test_train_connected_reuses_resumes_and_refuses_other_settings(tiny_models, tmp_path):
    out = tmp_path / "out"
    settings = tiny_settings(tiny_models, keep_stages=True)
    first = train_connected(settings, out, progress=False)
    assert not first.reused and (out / "modules.json").is_file()
    assert (out / "stages" / "align" / "align_log.csv").is_file()
    again = train_connected(settings, out, progress=False)
    assert again.reused
    assert train_connected(settings.model_copy(update={"keep_stages": False}), out).reused
    other = tiny_settings(tiny_models, keep_stages=True, finetune={"learning_rate": 3e-4})
    with pytest.raises(FileExistsError, match="other settings"):
        train_connected(other, out, progress=False)
    # a run that died after stage (a): the aligned model is reused, stage (b) runs
    (out / "tripletforge_connect.json").unlink()
    resumed = train_connected(other, out, progress=False)
    assert resumed.provenance["align"]["reused"] is True
    assert not resumed.reused
    forced = train_connected(other, out, progress=False, force=True)
    assert "reused" not in forced.provenance["align"]


def test_decoder_target_reconstruction_and_last_token_pooling(tiny_models, tmp_path):
    settings = tiny_settings(
        tiny_models,
        target=str(tiny_models["decoder"]),
        target_pooling="lasttoken",
        align={"objective": "distill+reconstruct"},
        finetune={"lora_r": 4, "train_connector": False},
    )
    built = build_connected_model(settings)
    assert built.module.target_kind == "decoder"
    target_before = snapshot(built.module.target)
    report = align_connector(built, ENGLISH, settings.align, progress=False)
    assert np.isfinite(report.last_loss)
    for name, value in snapshot(built.module.target).items():
        assert torch.equal(value, target_before[name]), name
    assert built.model.encode(["A dog runs."], convert_to_numpy=True).shape == (1, 40)
    result = train_connected(settings, tmp_path / "llm", progress=False)
    assert result.provenance["finetune"]["lora_merged"] is True
    from tripletforge.models import load_encoder

    loaded = load_encoder(str(tmp_path / "llm"))
    assert not loaded[0].has_lora
    assert loaded.encode(ENGLISH[:2], convert_to_numpy=True).shape == (2, 40)


def test_reconstruction_needs_a_decoder_target(tiny_models):
    settings = tiny_settings(tiny_models, align={"objective": "reconstruct"})
    built = build_connected_model(settings)
    with pytest.raises(ValueError, match="decoder"):
        align_connector(built, ENGLISH, settings.align, progress=False)


def test_settings_errors_name_the_field():
    with pytest.raises(SettingsError, match=r"align\.epochz: unknown field"):
        parse_settings({"align": {"epochz": 3}})
    with pytest.raises(SettingsError, match="nothing would train"):
        parse_settings({"finetune": {"train_connector": False, "lora_r": 0}})
    assert ConnectSettings().hash() == ConnectSettings().hash()


def test_cli_user_errors_are_one_line_exit_2(tmp_path):
    runner = CliRunner()
    bad = runner.invoke(
        app, ["connect", "train", "-o", str(tmp_path / "m"), "--align-epochs", "-1"]
    )
    assert bad.exit_code == 2
    assert "--align-epochs" in bad.output and len(bad.output.strip().splitlines()) == 1
    missing = runner.invoke(
        app, ["connect", "train", "-o", str(tmp_path / "m"), "--align-data", "nope.txt"]
    )
    assert missing.exit_code == 2 and "nope.txt" in missing.output
    # a nested field is named by its flag, an unknown key of the -c file by its key there,
    # and a check of a whole section by the section (not by the --finetune flag)
    config = tmp_path / "bad.yaml"
    config.write_text("align: {epochz: 2}\n")
    out = runner.invoke(app, ["connect", "train", "-o", str(tmp_path / "m"), "-c", str(config),
                              "--finetune-lora-r", "-1"]).output  # fmt: skip
    assert "--config: align.epochz: unknown setting" in out
    assert "--finetune-lora-r: Input should be" in out and "--finetune.lora_r" not in out
    nothing = runner.invoke(
        app, ["connect", "train", "-o", str(tmp_path / "m"), "--no-finetune-train-connector"]
    )
    assert nothing.exit_code == 2
    assert "error: finetune settings: nothing would train" in nothing.output
    assert "--finetune-train-connector" in nothing.output


def test_cli_trains_and_mteb_encodes(tiny_models, tmp_path):
    """``tripletforge connect train`` end to end; the folder encodes through mteb's wrapper."""
    import warnings

    mteb = pytest.importorskip("mteb")
    from datasets import Dataset
    from mteb._evaluators import AnySTSEvaluator
    from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper
    from mteb.timing import TimingStack
    from sentence_transformers import SentenceTransformer

    config = tmp_path / "connect.yaml"
    config.write_text(
        "connector: {num_learned_tokens: 2}\n"
        "align: {max_steps: 2, batch_size: 4, max_seq_length: 32}\n"
        "finetune: {max_steps: 1, batch_size: 4, max_seq_length: 32}\n"
    )
    out = tmp_path / "m"
    args = ["connect", "train", "-o", str(out), "-c", str(config), "--quiet",
            "--encoder", str(tiny_models["encoder"]), "--target", str(tiny_models["target"]),
            "--connector-num-learned-tokens", "3", "--align-max-steps", "3",
            "--device", "cpu"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "model saved to" in result.output
    saved = json.loads((out / "connect_config.json").read_text())
    assert saved["connector_config"]["num_learned_tokens"] == 3  # the flag beats the file
    provenance = json.loads((out / "tripletforge_connect.json").read_text())
    assert provenance["align"]["steps"] == 3  # --align-max-steps beats the file's align: …
    assert provenance["settings"]["align"]["batch_size"] == 4  # … and keeps its other keys
    assert provenance["settings"]["finetune"]["max_steps"] == 1
    assert not (out / "stages").exists()

    from tripletforge.cards import read_model_card

    info, _ = read_model_card(out)
    assert info is not None and info.origin == "connected"
    assert info.details["encoder (frozen)"] == str(tiny_models["encoder"])
    assert "trust_remote_code=True" in (out / "README.md").read_text()

    model = SentenceTransformer(str(out), device="cpu", trust_remote_code=True)
    s1, s2 = ENGLISH[:4], [*ENGLISH[4:7], FOREIGN[0]]
    task = mteb.get_task("STSBenchmark")
    evaluator = AnySTSEvaluator(
        Dataset.from_dict({"sentence1": s1, "sentence2": s2, "score": [5.0, 1.0, 3.0, 0.0]}),
        ("sentence1", "sentence2"),
        task_metadata=task.metadata,
        hf_split="test",
        hf_subset="default",
        input1_prompt_type=None,
        input2_prompt_type=None,
        timer=TimingStack(),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = evaluator(SentenceTransformerEncoderWrapper(model), encode_kwargs={"batch_size": 2})
    assert np.isfinite(np.asarray(raw["cosine_scores"], dtype=float)).all()


@pytest.mark.slow
def test_real_e5_small_to_minilm_aligns_on_the_shipped_pool(tmp_path):
    """The default pair on real weights: a few alignment steps lower the distillation loss."""
    from tripletforge.connect.data import alignment_texts

    settings = parse_settings(
        {"align": {"max_steps": 4, "batch_size": 8, "log_every": 1}, "device": "cpu"}
    )
    built = build_connected_model(settings)
    assert built.module.connector_config["in_dim"] == 384
    assert built.module.connector_config["out_dim"] == 384
    data = alignment_texts([])
    assert len(data.items) > 800 and data.guard["refused"] <= 5
    report = align_connector(built, data.items[:64], settings.align, progress=False)
    assert report.last_loss < report.first_loss
    emb = built.model.encode(["Ina son karanta littafi.", "I like reading books."])
    assert emb.shape == (2, 384)


def test_finetune_resumes_from_its_checkpoint_with_lora(tiny_models, tmp_path):
    """A run killed after a checkpoint resumes from it; LoRA checkpoints reload unmerged."""
    from transformers import TrainerCallback

    from tripletforge.connect.finetune import finetune_connected

    class Crash(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            raise KeyboardInterrupt("killed after the first checkpoint")

    settings = tiny_settings(
        tiny_models, finetune={"max_steps": 2, "save_steps": 1, "lora_r": 4}, seed=5
    )
    rows = ENGLISH_TRIPLETS
    work = tmp_path / "finetune"
    built = build_connected_model(settings)
    with pytest.raises(KeyboardInterrupt):
        finetune_connected(built.model, rows, settings, work, callbacks=[Crash()])
    assert (work / "model" / "checkpoints" / "checkpoint-1").is_dir()
    fresh = build_connected_model(settings)
    out = finetune_connected(fresh.model, rows, settings, work)
    provenance = json.loads((out / "tripletforge_training.json").read_text())
    assert provenance["resumed_from"].endswith("checkpoint-1")
    assert provenance["global_step"] == 2
