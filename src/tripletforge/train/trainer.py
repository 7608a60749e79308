"""``train_encoder``: supervised SimCSE with the sentence-transformers trainer."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tripletforge.provenance import library_versions
from tripletforge.train.config import TrainConfig
from tripletforge.train.data import data_hash, load_dev_pairs, load_triplet_rows, to_dataset
from tripletforge.train.encoder import load_model
from tripletforge.train.pooling import freeze_word_embeddings, set_pooling

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from torch import nn

log = logging.getLogger(__name__)

PROVENANCE_FILE = "tripletforge_training.json"


def world_size() -> int:
    """Processes of this run (``torchrun``/``accelerate launch`` set ``WORLD_SIZE``; else 1)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def gather_across_devices(config: TrainConfig) -> bool:
    """Whether the loss gathers in-batch negatives from all processes (auto: world size > 1)."""
    if config.gather_across_devices is not None:
        return config.gather_across_devices
    return world_size() > 1


def use_cpu(config: TrainConfig) -> bool:
    """Train on the CPU: ``device="cpu"``, or ``"auto"`` without CUDA."""
    if config.device != "auto":
        return config.device == "cpu"
    import torch

    return not torch.cuda.is_available()


def build_loss(config: TrainConfig, model: SentenceTransformer) -> nn.Module:
    """MNRL with the hard negative (scale 20 ≙ temperature 0.05), cached or GIST variants.

    Under DDP the negatives of all processes are gathered (:func:`gather_across_devices`), so
    the loss sees ``batch_size × world size`` candidates, as one process with the global batch.
    """
    from sentence_transformers.sentence_transformer import losses

    gather = gather_across_devices(config)
    if config.loss == "mnrl":
        return losses.MultipleNegativesRankingLoss(
            model, scale=config.scale, gather_across_devices=gather
        )
    if config.loss == "cached_mnrl":
        return losses.CachedMultipleNegativesRankingLoss(
            model,
            scale=config.scale,
            mini_batch_size=config.mini_batch_size,
            gather_across_devices=gather,
        )
    guide = load_model(config.guide or config.model)
    guide.max_seq_length = config.max_seq_length
    guide.requires_grad_(False)
    if config.loss == "gist":
        return losses.GISTEmbedLoss(
            model, guide, temperature=1.0 / config.scale, gather_across_devices=gather
        )
    return losses.CachedGISTEmbedLoss(
        model,
        guide,
        temperature=1.0 / config.scale,
        mini_batch_size=config.mini_batch_size,
        gather_across_devices=gather,
    )


def prepare_model(
    config: TrainConfig, model: SentenceTransformer | None = None
) -> SentenceTransformer:
    """Load the model (or take ``model``) with the configured pooling, length and frozen parts."""
    model = set_pooling(model if model is not None else load_model(config.model), config.pooling)
    # ``max_seq_length`` caps training only; the saved model keeps the base model's limit
    model.inference_max_seq_length = config.save_max_seq_length or model.max_seq_length
    model.max_seq_length = config.max_seq_length
    if config.freeze_embeddings:
        freeze_word_embeddings(model)
    return model


def training_prompt(config: TrainConfig, model: SentenceTransformer) -> str | None:
    """The prefix the trained texts get: the configured one, else the model's default prompt."""
    if config.prompt is not None:
        return config.prompt or None
    if model.default_prompt_name:
        return model.prompts.get(model.default_prompt_name) or None
    return None


DEV_METRIC = "dev_spearman_cosine"


def dev_specs(config: TrainConfig) -> dict[str, str | Path]:
    """Every dev set of a run by evaluator name: ``dev`` and ``dev_<name>`` for named sets."""
    specs: dict[str, str | Path] = {"dev": config.dev_set} if config.dev_set else {}
    return specs | {f"dev_{name}": spec for name, spec in config.dev_sets.items()}


def build_dev_evaluator(config: TrainConfig) -> Any:
    """Dev STS evaluator(s); the selection metric ``dev_spearman_cosine`` is their mean.

    Named sets log ``dev_<name>_spearman_cosine`` at every evaluation, so the checkpoints a run
    keeps carry a per-language dev score (see :mod:`tripletforge.merge.checkpoints`).
    """
    from sentence_transformers.sentence_transformer.evaluation import (
        EmbeddingSimilarityEvaluator,
    )

    evaluators = []
    for name, spec in dev_specs(config).items():
        s1, s2, scores = load_dev_pairs(spec, config.dev_max_pairs)
        evaluators.append(
            EmbeddingSimilarityEvaluator(
                s1,
                s2,
                scores,
                batch_size=config.batch_size,
                name=name,
                similarity_fn_names=["cosine"],
            )
        )
    if not evaluators:
        return None
    if len(evaluators) == 1 and config.dev_set:
        return evaluators[0]
    return _mean_dev_evaluator_class()(evaluators, main_score_function=_mean)


def _mean(scores: list[float]) -> float:
    return sum(scores) / len(scores)


def _mean_dev_evaluator_class() -> type:
    from sentence_transformers.sentence_transformer.evaluation import SequentialEvaluator

    class MeanDevEvaluator(SequentialEvaluator):
        """Several dev evaluators; their mean primary score is ``dev_spearman_cosine``."""

        def __call__(self, model: Any, output_path: str | None = None, epoch: int = -1,
                     steps: int = -1) -> dict[str, float]:  # fmt: skip
            results = super().__call__(model, output_path, epoch, steps)
            results[DEV_METRIC] = results.pop("sequential_score")
            self.primary_metric = DEV_METRIC
            return results

    return MeanDevEvaluator


def latest_checkpoint(config: TrainConfig) -> str | None:
    """The newest ``checkpoint-N`` folder of a previous (killed) run, if any."""
    from transformers.trainer_utils import get_last_checkpoint

    if not config.checkpoint_dir.is_dir():
        return None
    return get_last_checkpoint(str(config.checkpoint_dir))


def training_args(config: TrainConfig, prompt: str | None, has_dev: bool) -> Any:
    """The ``SentenceTransformerTrainingArguments`` of a run."""
    from sentence_transformers.base.sampler import BatchSamplers
    from sentence_transformers.sentence_transformer.training_args import (
        SentenceTransformerTrainingArguments,
    )

    eval_kwargs: dict[str, Any] = {}
    if has_dev:
        eval_kwargs = {
            "eval_strategy": "steps",
            "eval_steps": config.eval_steps,
            "load_best_model_at_end": True,
            "metric_for_best_model": f"eval_{DEV_METRIC}",
            "greater_is_better": True,
        }
    cpu = use_cpu(config)
    return SentenceTransformerTrainingArguments(
        output_dir=str(config.checkpoint_dir),
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        learning_rate=config.learning_rate,
        warmup_steps=config.warmup_ratio,  # a float is a ratio in transformers 5
        weight_decay=config.weight_decay,
        batch_sampler=BatchSamplers.NO_DUPLICATES
        if config.no_duplicates
        else BatchSamplers.BATCH_SAMPLER,
        prompts=prompt,
        seed=config.seed,
        data_seed=config.seed,
        logging_steps=config.logging_steps,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit or (None if config.keep_checkpoints else 2),
        report_to="none",
        use_cpu=cpu,
        ddp_backend=("gloo" if cpu else "nccl") if world_size() > 1 else None,
        dataloader_num_workers=0,
        **eval_kwargs,
    )


def train_encoder(
    config: TrainConfig,
    callbacks: list[Any] | None = None,
    model: SentenceTransformer | None = None,
) -> Path:
    """Train, save a sentence-transformers folder with ``tripletforge_training.json``; return it.

    ``callbacks`` are ``transformers.TrainerCallback`` objects passed to the trainer. ``model``
    is an already built model to train instead of loading ``config.model`` (which then only
    names it in the provenance); parameters without ``requires_grad`` stay frozen.
    """
    from sentence_transformers import SentenceTransformerTrainer

    started = time.time()
    rows, reports = load_triplet_rows(config.train_files)
    for report in reports:
        log.info(report.summary())
    leak_summary = None
    eval_files = [*config.leak_check, *dev_specs(config).values()]
    if eval_files:
        from tripletforge.filter.leakage import check_leakage, eval_sentences

        leak = check_leakage(
            rows, {str(p): eval_sentences(p) for p in eval_files}, remove=not config.keep_leaks
        )
        leak_summary = leak.summary()
        log.info("leakage: %s", leak_summary)
        rows = leak.kept
    if len(rows) < config.batch_size:
        raise ValueError(f"{len(rows)} training rows, fewer than one batch of {config.batch_size}")

    model = prepare_model(config, model)
    prompt = training_prompt(config, model)
    evaluator = build_dev_evaluator(config)
    trainer = SentenceTransformerTrainer(
        model=model,
        args=training_args(config, prompt, has_dev=evaluator is not None),
        train_dataset=to_dataset(rows),
        loss=build_loss(config, model),
        evaluator=evaluator,
        callbacks=callbacks,
    )
    resume = latest_checkpoint(config) if config.resume else None
    if resume:
        log.info("resuming from %s", resume)
    result = trainer.train(resume_from_checkpoint=resume)

    out = config.output_dir
    if not trainer.is_world_process_zero():  # under DDP, rank 0 alone writes the model
        return out
    trainer.model.max_seq_length = model.inference_max_seq_length
    trainer.model.save(str(out))
    final_eval = evaluator(trainer.model) if evaluator is not None else None
    provenance = {
        "config": config.model_dump(mode="json"),
        "training_prompt": prompt,
        "saved_max_seq_length": model.inference_max_seq_length,
        "data_sha256": data_hash(rows),
        "rows": len(rows),
        "read_reports": [r.summary() for r in reports],
        "leakage": leak_summary,
        "seed": config.seed,
        "versions": library_versions(),
        "resumed_from": resume,
        "global_step": result.global_step,
        "train_loss": result.training_loss,
        "train_metrics": result.metrics,
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "best_metric": trainer.state.best_metric,
        "final_dev": final_eval,
        "log_history": trainer.state.log_history,
        "wall_seconds": round(time.time() - started, 1),
        "distributed": {
            "world_size": trainer.args.world_size,
            "ddp_backend": trainer.args.ddp_backend,
            "gather_across_devices": gather_across_devices(config),
            "per_device_batch_size": config.batch_size,
            "global_batch_size": config.batch_size * trainer.args.world_size,
        },
    }
    (out / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=2, default=str) + "\n")
    if not config.keep_checkpoints:
        shutil.rmtree(config.checkpoint_dir, ignore_errors=True)
    return out
