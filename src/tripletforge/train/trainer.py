"""``train_encoder``: supervised SimCSE with the sentence-transformers trainer."""

from __future__ import annotations

import hashlib
import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tripletforge.checkpointing import (
    checkpoint_step,
    drop_unfinished_checkpoints,
    latest_complete_checkpoint,
    mark_callback,
)
from tripletforge.data.jsonl import strict_dumps
from tripletforge.models import load_encoder
from tripletforge.provenance import library_versions
from tripletforge.train.config import TrainConfig
from tripletforge.train.data import data_hash, load_dev_pairs
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


def build_loss(
    config: TrainConfig, model: SentenceTransformer, sets: Sequence[Any] | None = None
) -> nn.Module | dict[str, nn.Module]:
    """MNRL with the hard negative (scale 20 ≙ temperature 0.05), cached or GIST variants.

    Under DDP the negatives of all processes are gathered (:func:`gather_across_devices`), so
    the loss sees ``batch_size × world size`` candidates, as one process with the global batch.

    With scored sets among ``sets`` (:class:`~tripletforge.train.mixture.LoadedSet` whose spec
    has a ``score_column``) the result is ``{set name: loss}``, as sentence-transformers takes
    for a ``DatasetDict``: CoSENT (Su 2022, ``CoSENTLoss``, scale 20) for each scored set,
    the configured loss for the others; one scored set alone gets its CoSENT loss.
    """
    from sentence_transformers.sentence_transformer import losses

    scored = [item for item in sets or [] if item.spec.score_column is not None]
    if scored:
        plain = [item for item in sets or [] if item.spec.score_column is None]
        shared = build_loss(config, model) if plain else None
        by_set = {item.name: shared for item in plain}
        by_set |= {item.name: losses.CoSENTLoss(model) for item in scored}
        if len(by_set) == 1:
            return next(iter(by_set.values()))  # type: ignore[return-value]
        return by_set  # type: ignore[return-value]

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
    guide = load_encoder(config.guide or config.model)
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
    model = set_pooling(model if model is not None else load_encoder(config.model), config.pooling)
    # ``max_seq_length`` caps training only; the saved model keeps the base model's limit
    model.inference_max_seq_length = config.save_max_seq_length or model.max_seq_length
    model.max_seq_length = config.max_seq_length
    if config.freeze_embeddings:
        freeze_word_embeddings(model)
    return model


def _data_hash(sets: list[Any]) -> str:
    """SHA-256 of the training texts: of the triplets for one triplet set (as always), else
    over the sets' names and hashes in order."""
    from tripletforge.train.mixture import set_hash

    if len(sets) == 1 and tuple(sets[0].columns) == ("anchor", "positive", "negative"):
        return data_hash(sets[0].rows)
    joined = "\n".join(f"{item.name}\x00{set_hash(item)}" for item in sets)
    return hashlib.sha256(joined.encode()).hexdigest()


def _merge_leak_summaries(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """One leakage summary over the training sets (counts added up)."""
    merged: dict[str, Any] = {"by_eval_set": {}}
    for summary in summaries:
        for key, value in summary.items():
            if key == "by_eval_set":
                for name, count in value.items():
                    merged["by_eval_set"][name] = merged["by_eval_set"].get(name, 0) + count
            elif isinstance(value, bool):
                merged[key] = value
            elif isinstance(value, int):
                merged[key] = merged.get(key, 0) + value
    return merged


def training_prompt(config: TrainConfig, model: SentenceTransformer) -> str | None:
    """The prefix the trained texts get: the configured one, else the prompt policy's symmetric
    prompt (:func:`tripletforge.models.prompts.symmetric_prompt`: mteb's STS prompt — the
    model's default prompt if any; none for the built-in e5), so training matches how
    symmetric tasks are evaluated."""
    from tripletforge.models.prompts import symmetric_prompt
    from tripletforge.train.prompt_policy import symmetric_override

    override = symmetric_override(config, model)
    if override is not None:
        return override or None
    return symmetric_prompt(model).text or None


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
        if len(scores) < 3 or len(set(scores)) < 2:
            why = "fewer than 3 pairs" if len(scores) < 3 else "all gold scores are equal"
            log.warning("dev set %s (%s): Spearman is undefined (%s); checkpoint selection "
                        "ignores it", name, spec, why)  # fmt: skip
            continue
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
    if len(evaluators) == 1 and evaluators[0].name == "dev":
        return evaluators[0]
    return _mean_dev_evaluator_class()(evaluators, main_score_function=_mean)


def _mean(scores: list[float]) -> float:
    """Mean of the defined (finite) dev scores; NaN only when none is defined."""
    defined = [x for x in scores if isinstance(x, int | float) and math.isfinite(x)]
    return sum(defined) / len(defined) if defined else float("nan")


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


def dev_set_scorer(config: TrainConfig) -> Callable[[SentenceTransformer], Any] | None:
    """A model → dev score (×100, as the merge's dev scorers) function from the config's dev
    STS sets (their mean Spearman), or None."""
    evaluator = build_dev_evaluator(config)
    if evaluator is None:
        return None

    def score(model: SentenceTransformer) -> Any:
        results = evaluator(model)
        value = results.get(evaluator.primary_metric, results.get(DEV_METRIC))
        return None if value is None else 100.0 * float(value)

    return score


def run_mean_loss(
    history: Sequence[dict[str, Any]], session_loss: float, start_step: int, global_step: int
) -> float:
    """The mean training loss over all the run's steps, resumed or not.

    transformers' ``TrainOutput.training_loss`` is the mean over the steps of the last session
    (``start_step`` + 1 … ``global_step``), so a resumed run would report another number than
    an uninterrupted one. The steps before the resume are taken from the restored log history
    (each logged ``loss`` is the mean since the previous log, so it is weighted by the steps
    it covers).
    """
    if start_step <= 0 or global_step <= start_step:
        return session_loss
    total, covered = 0.0, 0
    for entry in sorted(history, key=lambda e: e.get("step", 0)):
        if "loss" in entry and "step" in entry and covered < int(entry["step"]) <= start_step:
            total += float(entry["loss"]) * (int(entry["step"]) - covered)
            covered = int(entry["step"])
    if not covered:
        return session_loss
    before = total / covered  # the logged mean stands for every step before the resume
    return (before * start_step + session_loss * (global_step - start_step)) / global_step


def _step_of(checkpoint: str | None) -> int:
    return checkpoint_step(checkpoint) if checkpoint else 0


def latest_checkpoint(config: TrainConfig) -> str | None:
    """The newest complete ``checkpoint-N`` folder of a previous (killed) run, if any.

    Checkpoints the kill left half-written (or half-deleted by the rotation) are removed first
    (:mod:`tripletforge.checkpointing`), so the run resumes from the last whole one.
    """
    dropped = drop_unfinished_checkpoints(config.checkpoint_dir)
    for path in dropped:
        log.warning("removed %s: its save was interrupted; resuming from an earlier one", path)
    latest = latest_complete_checkpoint(config.checkpoint_dir)
    return None if latest is None else str(latest)


def training_args(
    config: TrainConfig,
    prompt: str | dict[str, Any] | None,
    has_dev: bool,
    multi_dataset_batch_sampler: Any = None,
) -> Any:
    """The ``SentenceTransformerTrainingArguments`` of a run.

    ``prompt`` is a prompt for every text, ``{column: prompt}`` or ``{set: {column: prompt}}``
    (mixtures, :mod:`tripletforge.train.mixture`); ``multi_dataset_batch_sampler`` is how a
    mixture's batches are drawn (each from one set).
    """
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
        **(
            {"multi_dataset_batch_sampler": multi_dataset_batch_sampler}
            if multi_dataset_batch_sampler is not None
            else {}
        ),
        seed=config.seed,
        data_seed=config.seed,
        logging_steps=config.logging_steps,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit or (None if config.keep_checkpoints else 2),
        report_to="none",
        disable_tqdm=True,  # progress goes to tripletforge.progress (one display per stage)
        use_cpu=cpu,
        ddp_backend=("gloo" if cpu else "nccl") if world_size() > 1 else None,
        dataloader_num_workers=0,
        **eval_kwargs,
    )


def final_checkpoint_needed(config: TrainConfig, has_dev: bool) -> bool:
    """Whether the last step is saved as a checkpoint too (transformers' default).

    The trained model is saved right after training, and without ``keep_checkpoints`` the
    checkpoints are deleted then, so a last checkpoint (a full fp32 copy of the model plus the
    optimizer state) is written only to be removed. It is needed only when checkpoints are kept
    (merge soups) or a dev set picks the best checkpoint (the last one may be the best).
    """
    return config.keep_checkpoints or has_dev


def _skip_final_checkpoint_callback() -> Any:
    """A callback that cancels the checkpoint transformers saves at the last step."""
    from transformers import TrainerCallback

    class SkipFinalCheckpoint(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.max_steps > 0 and state.global_step >= state.max_steps:
                control.should_save = False

    return SkipFinalCheckpoint()


def _callbacks(task: Any) -> list[Any]:
    """Trainer callbacks: its log dicts to this module's logger, steps and loss to ``task``."""
    from transformers import TrainerCallback

    class LogAndProgress(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            task.update(total=state.max_steps, completed=state.global_step)

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            task.update(completed=state.global_step)

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            if logs:
                log.info("step %s: %s", state.global_step, logs)
                if "loss" in logs:
                    task.update(note=f"loss {float(logs['loss']):.4f}")

    return [LogAndProgress()]


def train_encoder(
    config: TrainConfig,
    callbacks: list[Any] | None = None,
    progress: bool = True,
    model: SentenceTransformer | None = None,
    dev_scorer: Callable[[SentenceTransformer], Any] | None = None,
) -> Path:
    """Train, save a sentence-transformers folder with ``tripletforge_training.json``; return it.

    ``callbacks`` are ``transformers.TrainerCallback`` objects passed to the trainer;
    ``progress`` shows a progress bar (steps, loss) through :mod:`tripletforge.progress`; the
    trainer's own logs go to the ``tripletforge.train`` logger, not to stdout. ``model`` is an
    already built model to train instead of loading ``config.model`` (which then only names it
    in the provenance); parameters without ``requires_grad`` stay frozen.

    ``prompt_policy: auto`` first trains a short trial of each policy and keeps the one that
    scores better on dev data (``dev_scorer``: model → score or ``{lang: score}``; default:
    the config's dev sets), see :mod:`tripletforge.train.prompt_policy`.
    """
    from sentence_transformers import SentenceTransformerTrainer
    from transformers.trainer_callback import PrinterCallback

    from tripletforge.progress import progress_task
    from tripletforge.train import mixture, prompt_policy

    started = time.time()
    choice = None
    if config.prompt_policy == "auto":
        scorer = dev_scorer or dev_set_scorer(config)
        choice = prompt_policy.choose_prompt_policy(config, scorer, train_encoder, progress)
        config = config.model_copy(update={"prompt_policy": choice["policy"]})
    if config.threads:
        import torch

        torch.set_num_threads(config.threads)
    sets = mixture.sets_from_files(config)
    reports = list({id(r): r for item in sets for r in item.reports}.values())
    for report in reports:
        log.info(report.summary())
    leak_summary = None
    eval_files = [*config.leak_check, *dev_specs(config).values()]
    if eval_files:
        from tripletforge.data.evalsets import eval_sentences
        from tripletforge.filter.leakage import check_leakage

        evalsets = {str(p): eval_sentences(p) for p in eval_files}
        summaries = []
        for item in sets:
            leak = check_leakage(item.rows, evalsets, remove=not config.keep_leaks)
            summaries.append(leak.summary())
            item.rows = leak.kept
        leak_summary = _merge_leak_summaries(summaries)
        log.info("leakage: %s", leak_summary)
    rows = [row for item in sets for row in item.rows]
    if len(rows) < config.batch_size:
        raise ValueError(f"{len(rows)} training rows, fewer than one batch of {config.batch_size}")
    for item in sets:
        if len(sets) > 1 and len(item.rows) < 2:
            raise ValueError(
                f"training set {item.name!r} has {len(item.rows)} usable rows; a set needs at "
                "least 2 (in-batch negatives), or leave it out"
            )

    model = prepare_model(config, model)
    mixture.resolve_prompts(sets, model, prompt_policy.symmetric_override(config, model))
    prompt = mixture.trainer_prompts(sets)
    sampler = mixture.multi_dataset_sampler(config.mixing, sets) if len(sets) > 1 else None
    evaluator = build_dev_evaluator(config)
    trainer = SentenceTransformerTrainer(
        model=model,
        args=training_args(config, prompt, evaluator is not None, sampler),
        train_dataset=mixture.to_datasets(sets),
        loss=build_loss(config, model, sets),
        evaluator=evaluator,
        # the mark first: a checkpoint is marked complete before any other callback's on_save
        callbacks=[mark_callback(), *(callbacks or [])],
    )
    trainer.remove_callback(PrinterCallback)  # logs go to the logger, not print()
    resume = latest_checkpoint(config) if config.resume else None
    if resume:
        log.info("resuming from %s", resume)
    with progress_task("train", enabled=progress) as task:
        for callback in _callbacks(task):
            trainer.add_callback(callback)
        if not final_checkpoint_needed(config, evaluator is not None):
            trainer.add_callback(_skip_final_checkpoint_callback())
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
        "prompt_policy": prompt_policy.policy_record(config, choice),
        "mixture": mixture.mixture_summary(sets, config.mixing),
        "saved_max_seq_length": model.inference_max_seq_length,
        "data_sha256": _data_hash(sets),
        "rows": len(rows),
        "read_reports": [r.summary() for r in reports],
        "leakage": leak_summary,
        "seed": config.seed,
        "versions": library_versions(),
        "resumed_from": resume,
        "global_step": result.global_step,
        "train_loss": run_mean_loss(
            trainer.state.log_history, result.training_loss, _step_of(resume), result.global_step
        ),
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
    (out / PROVENANCE_FILE).write_text(strict_dumps(provenance, indent=2, default=str) + "\n")
    write_training_card(config, out, rows, leak_summary, prompt, sets)
    if not config.keep_checkpoints:
        shutil.rmtree(config.checkpoint_dir, ignore_errors=True)
    return out


def write_training_card(
    config: TrainConfig,
    out: Path,
    rows: list[dict[str, Any]],
    leakage: dict[str, Any] | None,
    prompt: str | dict[str, Any] | None,
    sets: list[Any] | None = None,
) -> Path:
    """The trained model's card (:mod:`tripletforge.cards`): base, languages, data provenance
    (with the training sets of a mixture: rows, task, weight, prompts per column)."""
    from tripletforge.cards import ModelCardInfo, command_line, triplet_provenance, write_model_card

    data = triplet_provenance(rows)
    data["files"] = sorted({str(p) for s in config.train_sets for p in s.files}) or [
        str(p) for p in config.train_files
    ]
    data["data_sha256"] = _data_hash(sets) if sets else data_hash(rows)
    if sets and len(sets) > 1:
        data["mixture"] = {
            "mixing": config.mixing,
            "sets": {
                s.name: {"task": s.task(), "rows": len(s.rows), "weight": s.spec.weight,
                         "prompts": {c: p or "(none)" for c, p in s.prompts.items()}}
                for s in sets
            },
        }  # fmt: skip
    if leakage:
        data["leakage"] = {k: leakage[k] for k in ("leaked_rows", "rows_out") if k in leakage}
    langs = sorted({str(r[k]) for r in rows for k in ("lang", "positive_lang") if r.get(k)})
    info = ModelCardInfo(
        model_name=out.resolve().name,
        origin="trained",
        base_model=str(config.model),
        languages=langs,
        command=command_line(),
        training_data=data,
        details={
            "loss": config.loss,
            "epochs": config.epochs,
            "max_steps": config.max_steps,
            "batch_size": config.batch_size,
            "learning_rate": config.learning_rate,
            "seed": config.seed,
            "training_prompt": (prompt if isinstance(prompt, str) else str(prompt or ""))
            or "(none)",
        },
    )
    return write_model_card(out, info)
