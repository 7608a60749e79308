"""Stage (b), representation fine-tuning: contrastive training of the connected model.

LUSIFER (Man et al., 2025, §3, "representation finetuning") trains the aligned model
contrastively with hard negatives, the connector and LoRA adapters on the target learning,
the multilingual encoder still frozen. Here that is the project's own supervised-SimCSE
trainer (:func:`tripletforge.train.train_encoder`: sentence-transformers' trainer, MNRL with
the hard negative, scale 20 ≙ temperature 0.05, no-duplicates batches, checkpoints and resume)
given the connected model in memory, on English triplets only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tripletforge.connect.settings import ConnectSettings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

#: Name of the English triplet file stage (b) writes and trains on (after the guard).
TRIPLETS_FILE = "english_triplets.jsonl"


def prepare_for_finetune(model: SentenceTransformer, settings: ConnectSettings) -> int:
    """Set what trains in stage (b): the connector (optional) and LoRA on the target.

    The encoder stays frozen; without LoRA the target does too. Returns the number of
    trainable parameters.
    """
    fs = settings.finetune
    module = model[0]
    model.requires_grad_(False)
    if fs.lora_r:
        module.add_lora(fs.lora_r, fs.lora_alpha, fs.lora_dropout, fs.lora_target_modules)
    module.connector.requires_grad_(fs.train_connector)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def finetune_connected(
    model: SentenceTransformer,
    rows: list[dict[str, Any]],
    settings: ConnectSettings,
    work_dir: Path,
    *,
    model_name: str = "connected",
    callbacks: list[Any] | None = None,
    progress: bool = True,
) -> Path:
    """Train ``model`` contrastively on English ``rows``; return the saved folder.

    Args:
        model: the aligned connected model (``[ConnectedEncoder, *pooling]``), in memory.
        rows: English ``anchor``/``positive``/``negative`` dicts (already through the guard).
        work_dir: stage folder: the triplet file, ``checkpoints/`` (resume) and ``model/``.
        model_name: what the provenance names as the starting model.
        callbacks: ``transformers.TrainerCallback`` objects for the trainer.
        progress: show the training progress display (:mod:`tripletforge.progress`).

    Returns:
        ``work_dir / "model"``, a sentence-transformers folder with LoRA still unmerged and
        ``tripletforge_training.json`` (the train stage's provenance).
    """
    from tripletforge.train import TrainConfig, train_encoder

    fs = settings.finetune
    work_dir.mkdir(parents=True, exist_ok=True)
    data_file = work_dir / TRIPLETS_FILE
    with open(data_file, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    prepare_for_finetune(model, settings)
    config = TrainConfig(
        model=model_name,
        train_files=[data_file],
        output_dir=work_dir / "model",
        loss="mnrl",
        scale=fs.scale,
        pooling="model",
        freeze_embeddings=False,
        max_seq_length=fs.max_seq_length,
        save_max_seq_length=settings.max_seq_length,
        prompt="",
        batch_size=fs.batch_size,
        epochs=fs.epochs,
        max_steps=fs.max_steps,
        learning_rate=fs.learning_rate,
        warmup_ratio=fs.warmup_ratio,
        seed=settings.seed,
        device=settings.device,
        save_steps=fs.save_steps,
        eval_steps=fs.save_steps,
        resume=True,
    )
    return train_encoder(config, callbacks=callbacks, progress=progress, model=model)
