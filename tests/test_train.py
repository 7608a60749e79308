"""Training on the tiny encoder: loss, saving, pooling, frozen embeddings, resume."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import pytest
import torch
from sentence_transformers import SentenceTransformer
from transformers import TrainerCallback

from conftest import TINY_CORPUS
from tripletforge.cards import read_model_card
from tripletforge.checkpointing import is_complete
from tripletforge.data.triplets import write_triplets
from tripletforge.train import PROVENANCE_FILE, TrainConfig, train_encoder
from tripletforge.train.pooling import set_pooling


@pytest.fixture(scope="module")
def triplets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(0)
    rows = []
    for i, anchor in enumerate(TINY_CORPUS * 3):
        positive = TINY_CORPUS[(TINY_CORPUS.index(anchor) + 1) % len(TINY_CORPUS)]
        negative = rng.choice(TINY_CORPUS)
        rows.append({"anchor": f"{anchor} {i}", "positive": positive, "negative": negative})
    return write_triplets(rows, tmp_path_factory.mktemp("data") / "train.jsonl")


def mnrl_loss(model: SentenceTransformer, path: Path) -> float:
    """Mean MNRL loss (hard negatives, scale 20) of the whole file as one batch."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    emb = {k: model.encode([r[k] for r in rows], convert_to_tensor=True, normalize_embeddings=True)
           for k in ("anchor", "positive", "negative")}  # fmt: skip
    candidates = torch.cat([emb["positive"], emb["negative"]])
    logits = 20 * emb["anchor"] @ candidates.T
    return torch.nn.functional.cross_entropy(logits, torch.arange(len(rows))).item()


def config(model: Path, data: Path, out: Path, **kw: object) -> TrainConfig:
    fields = {"batch_size": 8, "max_steps": 6, "learning_rate": 1e-3, "warmup_ratio": 0.0,
              "save_steps": 100, "logging_steps": 1} | kw  # fmt: skip
    return TrainConfig(model=str(model), train_files=[data], output_dir=out, **fields)


def test_training_lowers_loss_and_saves_loadable_model(
    tiny_encoder_dir: Path, triplets: Path, tmp_path: Path
) -> None:
    before_model = SentenceTransformer(str(tiny_encoder_dir), device="cpu")
    before = mnrl_loss(before_model, triplets)
    out = train_encoder(
        config(tiny_encoder_dir, triplets, tmp_path / "m", max_steps=12, max_seq_length=16)
    )
    trained = SentenceTransformer(str(out), device="cpu")  # plain load, no trust_remote_code
    assert mnrl_loss(trained, triplets) < before
    assert trained.prompts["query"] == "query: " and trained.prompts["document"] == "passage: "
    assert trained.default_prompt_name is None
    assert trained.encode(["Yara suna wasa."]).shape == (1, 32)
    # the training cap (16) is not saved: the model keeps its base's limit for inference
    assert trained.max_seq_length == before_model.max_seq_length != 16
    prov = json.loads((out / PROVENANCE_FILE).read_text())
    # one default seed for every stage (was 42 here, 0 in the pipeline, generation, adapters)
    assert prov["rows"] == 36 and prov["global_step"] == 12 and prov["seed"] == 0
    assert prov["training_prompt"] is None and len(prov["data_sha256"]) == 64  # symmetric: none
    assert {"torch", "transformers", "sentence-transformers"} <= set(prov["versions"])
    assert not (out / "checkpoints").exists()
    card, results = read_model_card(out)
    assert card is not None and card.origin == "trained" and results == []
    assert card.base_model == str(tiny_encoder_dir) and card.training_data["triplets"] == 36
    assert card.command and card.details["training_prompt"] == "(none)"


def test_frozen_word_embeddings_unchanged(
    tiny_encoder_dir: Path, triplets: Path, tmp_path: Path
) -> None:
    base = SentenceTransformer(str(tiny_encoder_dir), device="cpu")[0].auto_model
    out = train_encoder(config(tiny_encoder_dir, triplets, tmp_path / "m", max_steps=3))
    trained = SentenceTransformer(str(out), device="cpu")[0].auto_model
    assert torch.equal(base.get_input_embeddings().weight, trained.get_input_embeddings().weight)
    layer = "encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(base.state_dict()[layer], trained.state_dict()[layer])
    unfrozen = train_encoder(
        config(tiny_encoder_dir, triplets, tmp_path / "u", max_steps=3, freeze_embeddings=False)
    )
    free = SentenceTransformer(str(unfrozen), device="cpu")[0].auto_model
    assert not torch.equal(base.get_input_embeddings().weight, free.get_input_embeddings().weight)


def test_avg_first_last_pooling_saves_and_reloads(tiny_encoder_dir: Path, tmp_path: Path) -> None:
    model = set_pooling(SentenceTransformer(str(tiny_encoder_dir), device="cpu"), "avg_first_last")
    texts = ["The cat sits on the mat.", "Yara suna wasa a waje."]
    expected = model.encode(texts, convert_to_tensor=True)
    model.save(str(tmp_path / "afl"))
    reloaded = SentenceTransformer(str(tmp_path / "afl"), device="cpu")
    assert torch.allclose(reloaded.encode(texts, convert_to_tensor=True), expected, atol=1e-6)
    # matches SimCSE's avg_first_last: mean over tokens of (layer 1 + last layer) / 2
    features = model.tokenize(texts)  # no default prompt on the e5-style model
    with torch.no_grad():
        out = model[0].auto_model(**features, output_hidden_states=True)
    mask = features["attention_mask"].unsqueeze(-1).float()
    states = (out.hidden_states[1] + out.hidden_states[-1]) / 2
    manual = (states * mask).sum(1) / mask.sum(1)
    assert torch.allclose(manual, expected, atol=1e-5)


def test_cls_pooling_and_cached_loss_train(
    tiny_encoder_dir: Path, triplets: Path, tmp_path: Path
) -> None:
    cfg = config(tiny_encoder_dir, triplets, tmp_path / "c", max_steps=2, pooling="cls",
                 loss="cached_mnrl", mini_batch_size=4)  # fmt: skip
    model = SentenceTransformer(str(train_encoder(cfg)), device="cpu")
    assert model[1].pooling_mode == "cls"


class KillAt(TrainerCallback):
    """Simulates a kill: raises after the given step (checkpoints before it are on disk)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise KeyboardInterrupt("killed")


def test_dev_eval_best_checkpoint_and_resume_after_kill(
    tiny_encoder_dir: Path, triplets: Path, tmp_path: Path
) -> None:
    dev = tmp_path / "dev.csv"
    pairs = enumerate(itertools.pairwise(TINY_CORPUS))
    dev.write_text(
        "sentence1,sentence2,score\n" + "".join(f'"{a} x","{b} y",{i}\n' for i, (a, b) in pairs)
    )
    cfg = config(tiny_encoder_dir, triplets, tmp_path / "r", max_steps=4, save_steps=2,
                 eval_steps=2, dev_set=dev)  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        train_encoder(cfg, callbacks=[KillAt(3)])
    assert (cfg.checkpoint_dir / "checkpoint-2").is_dir()
    assert not (cfg.output_dir / PROVENANCE_FILE).exists()
    resumed = train_encoder(cfg)
    prov = json.loads((resumed / PROVENANCE_FILE).read_text())
    assert prov["resumed_from"].endswith("checkpoint-2") and prov["global_step"] == 4
    assert prov["best_checkpoint"] and "dev_spearman_cosine" in prov["final_dev"]
    straight = train_encoder(cfg.model_copy(update={"output_dir": tmp_path / "s"}))
    a = SentenceTransformer(str(resumed), device="cpu").encode(TINY_CORPUS)
    b = SentenceTransformer(str(straight), device="cpu").encode(TINY_CORPUS)
    assert abs(a - b).max() < 1e-4  # resuming reproduces the uninterrupted run


class SavedSteps(TrainerCallback):
    """Records the steps at which the trainer saved a checkpoint."""

    def __init__(self) -> None:
        self.steps: list[int] = []

    def on_save(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
        self.steps.append(state.global_step)


@pytest.mark.parametrize("keep", [False, True])
def test_last_step_checkpoint_only_when_checkpoints_are_kept(
    tiny_encoder_dir: Path, triplets: Path, tmp_path: Path, keep: bool
) -> None:
    # the trained model is saved after training; a last checkpoint that is deleted right
    # after (keep_checkpoints off, no dev set) is not written (issue 19.3: training speed)
    saved = SavedSteps()
    cfg = config(tiny_encoder_dir, triplets, tmp_path / "m", max_steps=3, save_steps=2,
                 keep_checkpoints=keep)  # fmt: skip
    out = train_encoder(cfg, callbacks=[saved])
    assert saved.steps == ([2, 3] if keep else [2])
    assert json.loads((out / PROVENANCE_FILE).read_text())["global_step"] == 3


def gist_objective(loss: torch.nn.Module, path: Path) -> float:
    """The GIST loss of the whole file as one batch (the guide stays the untrained model)."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    model = loss.model
    features = [model.tokenize([r[k] for r in rows]) for k in ("anchor", "positive", "negative")]
    with torch.no_grad():
        return loss(features, None).item()


@pytest.mark.parametrize("loss", ["gist", "cached_gist"])
def test_gist_losses_train_with_frozen_guide(
    tiny_encoder_dir: Path, triplets: Path, tmp_path: Path, loss: str
) -> None:
    from sentence_transformers.sentence_transformer.losses import GISTEmbedLoss

    from tripletforge.train.trainer import build_loss, prepare_model

    cfg = config(tiny_encoder_dir, triplets, tmp_path / loss, max_steps=8, loss=loss,
                 mini_batch_size=4)  # fmt: skip
    built = build_loss(cfg, prepare_model(cfg))
    assert built.temperature == pytest.approx(0.05)
    assert not any(p.requires_grad for p in built.guide.parameters())
    before = gist_objective(GISTEmbedLoss(built.model, built.guide, temperature=0.05), triplets)
    trained = SentenceTransformer(str(train_encoder(cfg)), device="cpu")
    after = gist_objective(GISTEmbedLoss(trained, built.guide, temperature=0.05), triplets)
    assert after < before
    assert json.loads((tmp_path / loss / PROVENANCE_FILE).read_text())["config"]["loss"] == loss


def test_dev_sets_with_undefined_spearman_are_left_out_of_checkpoint_selection(
    tmp_path: Path, triplets: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 13, item 6: a constant-gold dev set cannot drive (or block) checkpoint choice."""
    import math

    from tripletforge.train.trainer import _mean, build_dev_evaluator

    good, flat = tmp_path / "good.csv", tmp_path / "flat.csv"
    rows = [(TINY_CORPUS[i], TINY_CORPUS[(i + 3) % 12]) for i in range(8)]
    good.write_text("sentence1,sentence2,score\n" + "".join(f"{a},{b},{i % 4}\n"
                    for i, (a, b) in enumerate(rows)))  # fmt: skip
    flat.write_text("sentence1,sentence2,score\n" + "".join(f"{a},{b},2\n" for a, b in rows))
    cfg = TrainConfig(model="m", train_files=[triplets], output_dir=tmp_path / "o",
                      dev_sets={"hau": good, "kin": flat})  # fmt: skip
    with caplog.at_level("WARNING"):
        evaluator = build_dev_evaluator(cfg)
    assert [e.name for e in evaluator.evaluators] == ["dev_hau"]
    assert any(
        "dev_kin" in r.message and "gold scores are equal" in r.message for r in caplog.records
    )
    assert _mean([0.5, float("nan"), 0.7]) == pytest.approx(0.6)
    assert math.isnan(_mean([float("nan")]))


def test_resume_skips_checkpoints_a_kill_cut_off(
    tiny_encoder_dir: Path, triplets: Path, tmp_path: Path
) -> None:
    """A kill while a checkpoint is written (or while the rotation deletes an old one) leaves
    a folder transformers would resume from and fail; the run resumes from the last whole one."""
    cfg = config(tiny_encoder_dir, triplets, tmp_path / "r", max_steps=6, save_steps=2,
                 logging_steps=1)  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        train_encoder(cfg, callbacks=[KillAt(5)])
    root = cfg.checkpoint_dir
    assert sorted(p.name for p in root.iterdir()) == ["checkpoint-2", "checkpoint-4"]
    assert all(is_complete(p) for p in root.iterdir())
    (root / "checkpoint-4" / "trainer_state.json").unlink()  # cut off before its last file
    (root / "checkpoint-6").mkdir()  # cut off right after the folder was made
    (root / "checkpoint-6" / "config.json").write_text("{")
    resumed = train_encoder(cfg)
    prov = json.loads((resumed / PROVENANCE_FILE).read_text())
    assert prov["resumed_from"].endswith("checkpoint-2") and prov["global_step"] == 6
    straight = train_encoder(cfg.model_copy(update={"output_dir": tmp_path / "s"}))
    a = SentenceTransformer(str(resumed), device="cpu").encode(TINY_CORPUS)
    b = SentenceTransformer(str(straight), device="cpu").encode(TINY_CORPUS)
    assert abs(a - b).max() < 1e-4  # nothing lost: same weights as the uninterrupted run
    # the loss is the run's mean, not the resumed session's
    whole = json.loads((straight / PROVENANCE_FILE).read_text())["train_loss"]
    assert prov["train_loss"] == pytest.approx(whole, rel=1e-4)
