"""The pipeline's stages: thin wrappers over the stage libraries, one function per stage.

Each function takes the run context, the stage and its folder, does the work with the
library (``generate_triplets``, ``run_filters``, ``mine_negatives``, ``train_encoder``,
``search_alpha`` + ``merge_models``, ``evaluate_model``) and returns its outputs and metrics.
"""

from __future__ import annotations

import logging
import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tripletforge.data.jsonl import read_jsonl
from tripletforge.pipeline.dev import ENGLISH, dev_scorer, dev_texts

if TYPE_CHECKING:
    from tripletforge.generate.config import GenerateSettings
    from tripletforge.pipeline.context import RunContext
    from tripletforge.pipeline.plan import Stage

log = logging.getLogger(__name__)


@dataclass
class StageOutput:
    """What a stage wrote (name → path) and its figures for the manifest and the report."""

    outputs: dict[str, Path]
    metrics: dict[str, Any] = field(default_factory=dict)


# --- sources of triplets -----------------------------------------------------------------


def generate_settings(ctx: RunContext, stage: Stage) -> GenerateSettings:
    """The generation settings of a ``generate`` stage: its arm's, with the adapters this run's
    adapter stages made (the stage's inputs) and the stage's task."""
    arm = ctx.config.arm(stage.arm)
    made = {k: str(stage.inputs[k]) for k in ("positive_adapter", "negative_adapter")
            if k in stage.inputs}  # fmt: skip  # written by this run's adapter stages
    return ctx.config.generate_for(arm, made, stage.task)


def run_generate(ctx: RunContext, stage: Stage, folder: Path) -> StageOutput:
    """LLM rows for one language, synthetic arm and task (resumable, append-only)."""
    from tripletforge.generate import GenerationConfig, generate_triplets

    settings = generate_settings(ctx, stage)
    out = folder / "triplets.jsonl"
    config = GenerationConfig(
        **settings.model_dump(),
        seed_file=stage.inputs["seed_file"],
        out=out,
        lang=stage.lang,
        seed=ctx.config.seed,
        limit=ctx.config.anchors,
        progress=ctx.progress,
    )
    backend = ctx.backend(settings)
    stats = generate_triplets(config, backend=backend)
    metrics = {
        "seeds": stats.seeds,
        "already_done": stats.already_done,
        "written_now": stats.written,
        "rejected_now": stats.rejected,
        "rejections": dict(stats.rejections),
        "requests": stats.requests,
        "tokens_generated": stats.tokens_generated,
        "seed_report": stats.seed_report.summary() if stats.seed_report else None,
        "seed_rows_skipped": stats.seed_report.skipped_by_reason if stats.seed_report else {},
        "triplets": _count_lines(out),
        "rejected_anchors": _count_lines(config.rejected_path),
        # why another run of the same config may write other rows (None: it writes the same)
        "deterministic": stats.nondeterminism is None,
        "nondeterminism": stats.nondeterminism,
    }
    return StageOutput({"triplets": out, "rejected": config.rejected_path}, metrics)


def _count_lines(path: Path) -> int:
    rows, _ = read_jsonl(path) if path.exists() else ([], None)
    return len(rows)


def run_mine(ctx: RunContext, stage: Stage, folder: Path) -> StageOutput:
    """Real translation pairs (a parallel arm, or a mix arm's parallel source: SIB-200/FLORES
    or NusaX-MT) with hard negatives mined from the target side."""
    from tripletforge.data.readers import read_flores_parallel, read_nusax
    from tripletforge.data.schemas import seed_id_for
    from tripletforge.data.triplets import write_triplets
    from tripletforge.train.mine import mine_negatives

    own = stage.params.get("parallel")  # a mix arm's parallel source, else the arm's settings
    if own is None:
        arm = ctx.config.arm(stage.arm)
        own = {"target_lang": arm.target_lang, "split": arm.split}
    target_lang = own["target_lang"]
    read = read_nusax if own.get("format") == "nusax" else read_flores_parallel
    data = read(stage.inputs["pairs"], stage.lang, target_lang, split=own["split"])
    n = min(ctx.config.anchors, len(data))
    pairs = [
        {
            "anchor": src,
            "positive": tgt,
            "lang": stage.lang,
            "positive_lang": target_lang,
            "seed_id": seed_id_for(src, stage.lang),
            "strategy": "parallel",
        }
        for src, tgt in zip(data.source[:n], data.target[:n], strict=True)
    ]
    mine = shared_mine_cache(ctx, ctx.config.mine)
    model = ctx.encoder(mine.model or ctx.config.encoder)
    rows = mine_negatives(pairs, list(data.target), model, mine)
    out = write_triplets(rows, folder / "triplets.jsonl")
    skipped = data.report.skipped_by_reason if data.report is not None else {}
    metrics = {
        "pairs": len(pairs),
        "triplets": len(rows),
        "no_negative": len(pairs) - len(rows),
        "corpus": len(data.target),
        "source_rows_skipped": skipped,
    }
    return StageOutput({"triplets": out}, metrics)


def shared_mine_cache(ctx: RunContext, mine: Any) -> Any:
    """``mine`` with an embedding cache shared by the run's mine stages (unless it sets one):
    the English side of a SIB-200 split is the same corpus for every language, so it is
    encoded once per run. The folder is keyed by the mining encoder's name and its weight
    files (size and time), so another encoder never reads these embeddings."""
    import hashlib

    if mine.cache_folder is not None:
        return mine
    name = mine.model or ctx.config.encoder
    path = Path(ctx.model_path(name))
    stamp = [name, str(path)]  # a hub id that is not a folder: its name alone
    weights = sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin"))
    stamp += [f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in weights]
    key = hashlib.sha256("|".join(stamp).encode()).hexdigest()[:16]
    folder = ctx.run_dir / "cache" / "mine" / key
    folder.mkdir(parents=True, exist_ok=True)
    return mine.model_copy(update={"cache_folder": str(folder)})


def run_negatives(ctx: RunContext, stage: Stage, folder: Path) -> StageOutput:
    """Hard negatives for generated (query, passage) pairs, mined from the seed corpus with the
    task's prompts (:func:`tripletforge.train.mine.mine_negatives`)."""
    from tripletforge.data.seeds import read_seeds
    from tripletforge.data.triplets import write_triplets
    from tripletforge.train.mine import mine_negatives

    pairs, _ = read_jsonl(stage.inputs["pairs"])
    seeds, report = read_seeds(stage.inputs["corpus"], stage.lang)
    corpus = [s.text for s in seeds if s.lang == stage.lang]
    mine = ctx.config.mine
    model = ctx.encoder(mine.model or ctx.config.encoder)
    rows = (
        mine_negatives(pairs, corpus, model, mine, task=str(stage.params["task"])) if pairs else []
    )
    out = write_triplets(rows, folder / "triplets.jsonl")
    metrics = {
        "pairs": len(pairs),
        "triplets": len(rows),
        "no_negative": len(pairs) - len(rows),
        "corpus": len(corpus),
        "corpus_rows_skipped": report.skipped_by_reason,
    }
    return StageOutput({"triplets": out}, metrics)


def run_import(ctx: RunContext, stage: Stage, folder: Path) -> StageOutput:
    """Ready triplets (a file or XL-LoRA folder): this language's rows, first ``anchors``."""
    from tripletforge.data.triplets import read_triplets, write_triplets

    rows, report = read_triplets(stage.inputs["source"])
    mine = [r for r in rows if r.get("lang") in (None, stage.lang)]
    kept = mine[: ctx.config.anchors]
    out = write_triplets(kept, folder / "triplets.jsonl")
    metrics = {
        "rows_read": report.rows_read,
        "bad_rows": report.skipped_by_reason,
        "other_languages": len(rows) - len(mine),
        "triplets": len(kept),
    }
    return StageOutput({"triplets": out}, metrics)


# --- filter ------------------------------------------------------------------------------


def eval_sentences(ctx: RunContext, lang: str) -> dict[str, list[str]]:
    """Every sentence of the language's evaluation and dev data (for the leakage check): its
    evaluation sets, its merge dev data, the English dev data a `judge: all` merge adds and the
    merge guard's dev data."""
    from tripletforge.data.evalsets import dataset_sentences

    sets = {item.spec.name: dataset_sentences(item.data) for item in ctx.eval_data(lang)}
    merge = ctx.config.merge
    if merge.enabled:
        sets[f"merge-dev-{lang}"] = dev_texts(merge.dev, lang, ctx.config.resolve)
        # English, which `judge: all` adds where the dev data has it, and the guard's dev data
        extra = [("merge-dev-eng", merge.dev, ENGLISH)] if merge.judge == "all" else []
        if merge.guard is not None:
            extra.append((f"merge-guard-{lang}", merge.guard, lang))
        for name, dev, code in extra:
            try:
                sets[name] = dev_texts(dev, code, ctx.config.resolve)
            except (FileNotFoundError, ValueError):
                continue  # no such dev data for this language: nothing to leak into
    return sets


def run_filter(ctx: RunContext, stage: Stage, folder: Path) -> StageOutput:
    """The filter funnel, then the leakage check against the eval and dev sets."""
    from tripletforge.data.triplets import read_triplets, write_triplets
    from tripletforge.filter import FunnelStep, run_filters
    from tripletforge.filter.base import FILTERS, build_filter
    from tripletforge.filter.config import TEACHER_FILTERS
    from tripletforge.filter.leakage import check_leakage

    config = ctx.config.filter
    rows, report = read_triplets(stage.inputs["triplets"])
    filters = []
    for name in config.active_filters():
        if name in TEACHER_FILTERS:  # the run's loaded teacher, shared by the teacher filters
            filters.append(FILTERS[name](config, model=ctx.encoder(str(config.teacher))))  # type: ignore[call-arg]
        else:
            filters.append(build_filter(name, config))
    result = run_filters(rows, config, filters)
    kept = result.kept
    leakage = None
    if ctx.config.leakage_check:
        leak = check_leakage(kept, eval_sentences(ctx, stage.lang))
        leakage = leak.summary()
        step = FunnelStep("leakage", rows_in=len(kept), rows_out=len(leak.kept))
        step.reasons = dict(leakage["by_eval_set"])
        rejected_idx = {x.row for x in leak.leaks}
        for i in sorted(rejected_idx):
            result.rejected.append(kept[i] | {"filter": "leakage", "reason": "in eval/dev set"})
        result.funnel.append(step)
        kept = leak.kept
        result.kept = kept
    out = write_triplets(kept, folder / "kept.jsonl")
    rejected = write_triplets(result.rejected, folder / "rejected.jsonl")
    funnel = result.save_funnel(folder / "funnel.json")
    metrics = {
        "rows_in": result.rows_in,
        "rows_out": len(kept),
        "bad_rows": report.skipped_by_reason,
        "funnel": result.to_dict()["steps"],
        "leakage": leakage,
    }
    return StageOutput({"kept": out, "rejected": rejected, "funnel": funnel}, metrics)


# --- train, merge, evaluate --------------------------------------------------------------


def stage_languages(stage: Stage) -> list[str]:
    """The languages a stage serves: every language of the run for a mix arm's shared train
    and merge (``params["languages"]``), else its own."""
    return list(stage.params.get("languages") or [stage.lang])


def write_atomic(rows: list[dict[str, Any]], path: Path) -> Path:
    """Write rows so that a kill never leaves a partial file."""
    from tripletforge.data.triplets import write_triplets

    tmp = write_triplets(rows, path.with_name(f".{path.name}.tmp"))
    tmp.replace(path)
    return path


def run_train(ctx: RunContext, stage: Stage, folder: Path) -> StageOutput:
    """Supervised SimCSE on the first ``size`` kept triplets (resumes from checkpoints).

    An arm with ``tasks:`` splits ``size`` by the task weights (largest remainder), takes the
    first rows of each task's kept file and trains one set per task
    (:mod:`tripletforge.train.mixture`: batches never mix tasks, prompts per column).
    """
    from tripletforge.train import TrainConfig, train_encoder
    from tripletforge.train.config import TrainSet
    from tripletforge.train.mixture import largest_remainder

    if "sources" in stage.params:
        return run_mix_train(ctx, stage, folder)
    size = int(stage.size or 0)
    settings = ctx.config.train
    tasks: dict[str, float] = stage.params.get("tasks") or {}
    data: dict[str, Path] = {}
    task_counts: dict[str, dict[str, int]] = {}
    if tasks:
        shares = largest_remainder(size, list(tasks.values()))
        subset = []
        for (task, weight), share in zip(tasks.items(), shares, strict=True):
            rows, _ = read_jsonl(stage.inputs[f"triplets.{task}"])
            part = rows[:share]
            subset += part
            data[task] = write_atomic(part, folder / f"train-{task}.jsonl")
            task_counts[task] = {"requested": share, "rows": len(part), "weight": weight}
    else:
        rows, _ = read_jsonl(stage.inputs["triplets"])
        subset = rows[:size]
        data["train"] = write_atomic(subset, folder / "train.jsonl")
    if len(subset) < settings.batch_size:
        raise ValueError(
            f"only {len(subset)} triplets survived filtering, fewer than one batch "
            f"({settings.batch_size}); raise `anchors:` or lower train.batch_size"
        )
    if not tasks:
        source: dict[str, Any] = {"train_files": [data["train"]]}
    else:
        source = {
            "train_sets": [
                TrainSet(name=t, files=[data[t]], task=t, weight=tasks[t])
                for t in tasks
                if task_counts[t]["rows"]
            ]
        }
    config = TrainConfig(
        **settings.model_dump(),
        **source,
        model=ctx.model_path(ctx.config.encoder),
        output_dir=folder / "model",
        seed=ctx.config.seed,
        resume=True,
        # a merge soup (merge.soup) needs every checkpoint; otherwise one is kept, to resume
        keep_checkpoints=bool(stage.params.get("keep_checkpoints")),
        save_total_limit=None if stage.params.get("keep_checkpoints") else 1,
    )
    out = train_encoder(
        config, progress=ctx.progress, dev_scorer=prompt_dev_scorer(ctx, [stage.lang])
    )
    ctx.share_weights(out)
    training_card(ctx, stage, out, subset)
    prov = read_jsonl_like(out / "tripletforge_training.json")
    metrics = {
        "requested": size,
        "rows": len(subset),
        "shortfall": max(0, size - len(subset)),
        **({"tasks": task_counts} if tasks else {}),
        "prompt_policy": prov.get("prompt_policy"),
        "global_step": prov.get("global_step"),
        "train_loss": prov.get("train_loss"),
        "resumed_from": prov.get("resumed_from"),
        "data_sha256": prov.get("data_sha256"),
    }
    outputs = {"model": out} | {
        ("data" if name == "train" else f"data.{name}"): path for name, path in data.items()
    }
    return StageOutput(outputs, metrics)


def run_mix_train(ctx: RunContext, stage: Stage, folder: Path) -> StageOutput:
    """A mix arm's one model for every language: each source a training set of its own,
    batches drawn by weight and never mixing sources (:mod:`tripletforge.pipeline.mix`)."""
    from tripletforge.pipeline import mix
    from tripletforge.pipeline.config import MixSource
    from tripletforge.train import TrainConfig, train_encoder
    from tripletforge.train.config import TrainSet

    size = int(stage.size or 0)
    settings = ctx.config.train
    languages = stage_languages(stage)
    sources = [MixSource.model_validate(d) for d in stage.params["sources"]]
    eval_sets: dict[str, list[str]] = {}
    if stage.params.get("leakage_check"):
        for lang in languages:
            eval_sets |= eval_sentences(ctx, lang)
    items = []
    for source, requested in zip(sources, mix.source_shares(size, sources), strict=True):
        item = mix.gather(source, requested, languages, stage.inputs, ctx.config.seed)
        if eval_sets and source.kind not in mix.PER_LANGUAGE:  # those went through filter
            mix.drop_leaks(item, eval_sets)
        item.rows = item.rows[:requested]
        mix.count_languages(item, languages)
        items.append(item)
    used = [item for item in items if item.rows]
    total = sum(len(item.rows) for item in used)
    if total < settings.batch_size:
        raise ValueError(
            f"the mix has {total} usable rows, fewer than one batch ({settings.batch_size}); "
            "raise the size, the sources' limits or `anchors:`"
        )
    data = {
        item.source.label: write_atomic(item.rows, folder / f"train-{item.source.label}.jsonl")
        for item in used
    }
    train_sets = [
        TrainSet(
            name=item.source.label,
            files=[data[item.source.label]],
            task={"synthetic": None, "scored": "sts"}.get(item.source.kind, "nli"),
            weight=item.source.weight,
            **(
                {"columns": ["anchor", "positive"], "score_column": "score"}
                if item.source.kind == "scored"
                else {}
            ),
        )
        for item in used
    ]
    config = TrainConfig(
        **(settings.model_dump() | {"mixing": "weighted"}),
        train_sets=train_sets,
        model=ctx.model_path(ctx.config.encoder),
        output_dir=folder / "model",
        seed=ctx.config.seed,
        resume=True,
        # a merge soup needs every checkpoint (the plan says so); otherwise one, to resume
        keep_checkpoints=bool(stage.params.get("keep_checkpoints")),
        save_total_limit=None if stage.params.get("keep_checkpoints") else 1,
    )
    out = train_encoder(config, progress=ctx.progress, dev_scorer=prompt_dev_scorer(ctx, languages))
    ctx.share_weights(out)
    rows = [row for item in used for row in item.rows]
    training_card(ctx, stage, out, rows)
    prov = read_jsonl_like(out / "tripletforge_training.json")
    shares = mix.planned_batches(items, settings.batch_size)
    records = [item.record(*share) for item, share in zip(items, shares, strict=True)]
    metrics = {
        "requested": size,
        "rows": total,
        "shortfall": max(0, size - total),
        "languages": languages,
        "mixing": "weighted",
        "sources": records,
        "mix": mix.mix_line(records),
        "prompt_policy": prov.get("prompt_policy"),
        "global_step": prov.get("global_step"),
        "train_loss": prov.get("train_loss"),
        "resumed_from": prov.get("resumed_from"),
        "data_sha256": prov.get("data_sha256"),
    }
    outputs = {"model": out} | {f"data.{name}": path for name, path in data.items()}
    return StageOutput(outputs, metrics)


def prompt_dev_scorer(ctx: RunContext, languages: list[str]) -> Any:
    """The dev scorer of ``prompt_policy: auto`` trials: the merge's dev data (``merge.dev``)
    of ``languages``, scored with the evaluation's prompts; None for other policies."""
    if ctx.config.train.prompt_policy != "auto":
        return None
    scorer, _ = dev_scorer(ctx.config.merge.dev, languages, ctx.config.resolve)
    return scorer


def run_command(ctx: RunContext) -> str:
    """The command that reproduces the run (its config is saved in the run folder)."""
    return f"tripletforge run {ctx.run_dir / 'config.yaml'}"


def training_card(ctx: RunContext, stage: Stage, out: Path, rows: list[dict[str, Any]]) -> None:
    """Add the run's provenance to a trained model's card (arm, generator, filter counts)."""
    from tripletforge.cards import update_model_card
    from tripletforge.pipeline.manifest import read_manifest

    arm = next((a for a in ctx.config.arms if a.name == stage.arm), None)
    data: dict[str, Any] = {"arm": stage.arm, "source": arm.source if arm else "?"}
    if arm is not None and arm.source == "synthetic":
        data["strategy"] = arm.strategy
        data["generator"] = arm.generate.get("model", ctx.config.generate.model)
        data["backend"] = arm.generate.get("backend", ctx.config.generate.backend)
    before = after = 0
    for name, path in stage.inputs.items():
        if name.startswith("triplets"):
            metrics = (read_manifest(Path(path).parent) or {}).get("metrics") or {}
            after += int(metrics.get("rows_out") or 0)
            before += int(metrics.get("rows_in") or 0)
    if after or before:
        data["after_filtering"], data["before_filtering"] = after, before
    if stage.params.get("sources"):
        data["sources"] = {
            s["kind"] if s["kind"] != "synthetic" else f"synthetic-{s.get('arm')}": s["weight"]
            for s in stage.params["sources"]
        }
    tasks = stage.params.get("tasks")
    if tasks:
        data["tasks"] = {t: sum(r.get("task", "nli") == t for r in rows) for t in tasks}
        data["task_weights"] = tasks
    data["trained_on"] = len(rows)
    update_model_card(
        out,
        model_name=f"{ctx.config.name}-{stage.unit.replace('/', '-')}",
        languages=stage_languages(stage),
        command=run_command(ctx),
        training_data=data,
    )


def _evaluated_card(ctx: RunContext, model: str, result: Any) -> None:
    """Put evaluation results into the card of a model this run saved (never the base's)."""
    from tripletforge.cards import update_model_card

    folder = Path(model)
    try:
        folder.resolve().relative_to(ctx.run_dir.resolve())
    except ValueError:
        return
    if folder.is_dir():
        update_model_card(folder, evaluation=result)


def read_jsonl_like(path: Path) -> dict[str, Any]:
    import json

    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def merge_languages(ctx: RunContext, stage: Stage) -> list[str]:
    """The languages whose dev scores choose a merge's α (``merge.judge``): every language of
    the run and English where the dev data has it, or the stage's own languages only (all of
    a mix arm's)."""
    from tripletforge.pipeline.dev import judged_languages

    settings = ctx.config.merge
    own = settings.judge == "own"
    languages = stage_languages(stage) if own else list(ctx.config.languages)
    return languages if own else judged_languages(settings.dev, languages, ctx.config.resolve)


def run_merge(ctx: RunContext, stage: Stage, folder: Path) -> StageOutput:
    """WiSE-FT with the base encoder; α chosen on dev data only, every judged language guarded.

    With ``merge.soup`` the fine-tuned end is the per-language soup of the train stage's kept
    checkpoints (:func:`tripletforge.merge.checkpoints.soup_checkpoints`, each checkpoint
    scored on the same dev data), not its final model.
    """
    from tripletforge.merge import wise_ft

    settings = ctx.config.merge
    languages = merge_languages(ctx, stage)
    scorer, dev_files = dev_scorer(settings.dev, languages, ctx.config.resolve)
    base = ctx.model_path(ctx.config.encoder)
    tuned = str(stage.inputs["model"])
    soup: dict[str, Any] | None = None
    if settings.soup:
        from tripletforge.merge.checkpoints import soup_checkpoints

        selection, made = soup_checkpoints(
            tuned, folder / "soup", scorer=scorer, provenance={"dev_files": dev_files}
        )
        soup = selection.to_dict() | {
            "model": str(made),
            # the trained model's last state, beside the soup in the report's trade-off plot
            "dev_last": selection.scores.get(selection.last or ""),
        }
        if made.parent == folder:
            ctx.share_weights(made)
        tuned = str(made)
    guard, guard_files, guard_langs = None, [], []
    if settings.guard is not None:
        from tripletforge.pipeline.dev import guard_scorer

        own = [lang for lang in languages if lang != ENGLISH] or languages
        guard, guard_files, guard_langs = guard_scorer(settings.guard, own, ctx.config.resolve)
    result, out = wise_ft(
        base,
        tuned,
        scorer,
        folder / "model",
        grid=settings.grid,
        no_regression=settings.no_regression,
        tolerance=settings.tolerance,
        provenance={"dev_files": dev_files, "dev_format": settings.dev.format,
                    **({"soup": soup} if soup else {}),
                    **({"guard_files": guard_files} if guard_files else {})},
        link_ends=True,  # α = 0 or 1: point at that end instead of writing a copy
        progress=ctx.progress,
        guard=guard,
        guard_tolerance=settings.guard.tolerance if settings.guard else 0.0,
    )  # fmt: skip
    search = result.to_dict()
    if out.is_dir():  # a real merge (α strictly between 0 and 1) gets its own card
        ctx.share_weights(out)
        from tripletforge.cards import read_model_card, update_model_card

        trained_card, _ = read_model_card(str(stage.inputs["model"]))
        update_model_card(
            out,
            model_name=f"{ctx.config.name}-{stage.unit.replace('/', '-')}-merged",
            languages=stage_languages(stage),
            command=run_command(ctx),
            training_data=trained_card.training_data if trained_card else {},
            details={"alpha": result.alpha, "dev": settings.dev.format,
                     "dev_scores": search["scores"][str(result.alpha)],
                     **({"soup_of": soup["chosen"]} if soup else {})},
        )  # fmt: skip
    if not result.serves_all:
        log.warning("%s: %s", stage.key, result.verdict())
    best = search["scores"][str(result.alpha)]
    metrics = {
        "alpha": result.alpha,
        "grid": result.grid,
        "no_regression": settings.no_regression,
        "dev_format": settings.dev.format,
        "dev_metric": "cosine_spearman" if settings.dev.format == "semrel" else "ndcg_at_10",
        "dev_files": dev_files,
        "dev_languages": languages,
        "dev_scores": search["scores"],
        "dev_mean": search["mean"],
        "admissible": search["admissible"],
        "dev_base": search["scores"]["0.0"],
        "dev_finetuned": search["scores"].get("1.0"),
        "dev_chosen": best,
        "tolerance": search["tolerance"],
        "ignored": search["ignored"],
        "best_mean_alpha": result.best_mean_alpha,
        "payers_alpha": result.payers_alpha,
        "payers": result.payers,
        "serves_all": result.serves_all,
        "verdict": result.verdict(),
        "soup": soup,
        "guard": None
        if settings.guard is None
        else {
            "format": settings.guard.format,
            "metric": "cosine_spearman" if settings.guard.format == "semrel" else "ndcg_at_10",
            "tolerance": settings.guard.tolerance,
            "languages": guard_langs,
            "files": guard_files,
            "scores": search["guard_scores"],
        },
    }
    return StageOutput({"model": out}, metrics)


def merged_model_path(output: Path) -> str:
    """The merged model folder (or the end it equals, for α = 0 or 1)."""
    if output.is_file():
        return output.read_text().strip()
    return str(output)


#: The evaluate labels of a connected arm's ends evaluated alone (models outside the run).
CONNECTED_ENDS = ("target", "encoder")

#: ``main_task: auto`` takes the first of these task types the evaluation has.
AUTO_MAIN_TASKS = (
    "sts",
    "retrieval",
    "bitext",
    "reranking",
    "classification",
    "pair_classification",
    "clustering",
)


def summarize(result: Any, lang: str, main_task: str) -> dict[str, Any]:
    """Main metric (×100), per-data-set main scores and geometry of one evaluation.

    ``main`` is the mean of MTEB's main score over the data sets of ``main_task``; data sets
    whose main score is undefined are left out of every mean and listed in ``undefined``.
    """
    tasks = {r.task for r in result.datasets}
    if main_task == "auto":
        main_task = next((t for t in AUTO_MAIN_TASKS if t in tasks), "retrieval")
    main = [r for r in result.datasets if r.task == main_task]

    def mean(values: list[float | None]) -> float | None:
        values = [v for v in values if v is not None and not math.isnan(v)]
        return sum(values) / len(values) if values else None

    def pct(value: float | None) -> float | None:
        return None if value is None else round(100 * value, 3)

    score = mean([r.main_score for r in main])
    return {
        "lang": lang,
        "main_task": main_task,
        "main_metric": "/".join(sorted({r.main_metric for r in main})) or None,
        "main": pct(score),
        "datasets": {r.name: pct(r.main_score) for r in result.datasets},
        "tasks": {
            t: pct(mean([r.main_score for r in result.datasets if r.task == t]))
            for t in sorted(tasks)
        },
        "undefined": [r.name for r in result.datasets if r.main_score is None],
        "alignment": mean([r.geometry.get("alignment") for r in main]),
        "uniformity": mean([r.geometry.get("uniformity") for r in main]),
        "fingerprint": result.fingerprint,
    }


def run_evaluate(ctx: RunContext, stage: Stage, folder: Path) -> StageOutput:
    """Evaluate the trained (and merged) model — or the base encoder — on the eval suite."""
    from tripletforge.evaluate import evaluate_model

    models: dict[str, Any] = {}
    if stage.arm == "base":
        models["base"] = ctx.model_path(ctx.config.encoder)
    elif "model" in stage.inputs:
        models["trained"] = str(stage.inputs["model"])
        if "merged" in stage.inputs:
            models["merged"] = merged_model_path(Path(stage.inputs["merged"]))
    elif "connected" in stage.inputs:
        models["connected"] = str(stage.inputs["connected"])
    else:  # one end of a connected arm alone: the target (or an encoder other than the run's)
        from tripletforge.connect.targets import standalone_model

        label = next(k for k in CONNECTED_ENDS if k in stage.params)
        end = stage.params[label]
        models[label] = standalone_model(end["model"], end["pooling"])
    settings = ctx.config.evaluate
    outputs: dict[str, Path] = {}
    metrics: dict[str, Any] = {}
    for label, model in models.items():
        result = evaluate_model(
            model,
            ctx.suite(),
            datasets=ctx.eval_patterns(stage.lang),
            data_root=ctx.config.data_root,
            batch_size=settings.batch_size,
            limit=settings.limit,
            model_id=f"{stage.unit}:{label}",
            progress=ctx.progress,
            console=ctx.console,
        )
        json_path, _ = result.write(folder / label)
        outputs[label] = json_path
        metrics[label] = summarize(result, stage.lang, settings.main_task)
        if label not in ("base", *CONNECTED_ENDS):
            _evaluated_card(ctx, model, result)
    return StageOutput(outputs, metrics)


# --- connected models (LUSIFER) --------------------------------------------------------------


def run_connect(ctx: RunContext, stage: Stage, folder: Path) -> StageOutput:
    """Train a connected arm's model on English only (``train_connected``; resumable).

    The settings are the arm's (:meth:`PipelineConfig.connect_settings`); every training text
    passes the connector's English guard, so no target-language text reaches training. A
    stage left running resumes: a finished alignment is reused and fine-tuning restarts from
    its last checkpoint (``model/stages/``, removed after success unless ``keep_stages``).
    """
    from tripletforge.connect import train_connected

    arm = ctx.config.arm(stage.arm)
    settings = ctx.config.connect_settings(arm)
    result = train_connected(settings, folder / "model", progress=ctx.progress)
    prov = result.provenance
    align, finetune = prov.get("align") or {}, prov.get("finetune") or {}
    english = {}
    for part, summary in (prov.get("data") or {}).items():
        guard = summary.get("english_guard") or {}
        english[part] = {
            "kept": summary.get("kept"),
            "files": summary.get("files"),
            "refused": guard.get("refused"),
            "reasons": guard.get("reasons"),
        }
    metrics = {
        "encoder": settings.encoder,
        "target": settings.target,
        "settings_hash": prov.get("settings_hash"),
        "reused": result.reused,
        "align_steps": align.get("steps"),
        "align_loss_first": align.get("first_loss"),
        "align_loss_last": align.get("last_loss"),
        "align_reused": bool(align.get("reused")),  # a finished alignment kept on resume
        "finetune_steps": finetune.get("global_step"),
        "finetune_resumed_from": finetune.get("resumed_from"),
        "finetune_loss": finetune.get("train_loss"),
        "english_only": english,
        "wall_seconds": prov.get("wall_seconds"),
    }
    return StageOutput({"model": folder / "model"}, metrics)


# --- generator adapters ----------------------------------------------------------------------


def run_adapter(ctx: RunContext, stage: Stage, folder: Path) -> StageOutput:
    """Train one generator adapter (xlora, task or language) on TRL's SFTTrainer (resumable)."""
    from tripletforge.adapters import AdapterData, AdapterTrainSettings, LoraSettings
    from tripletforge.adapters.data import load_adapter_examples
    from tripletforge.adapters.train import train_adapter

    params = stage.params
    kind = params["adapter_type"]
    (path,) = stage.inputs["data"].paths
    source = params["source"]
    data = AdapterData(
        adapter_type=kind,
        polarity=params["polarity"],
        pairs=path if "pairs" in source else None,
        triplets=path if "triplets" in source else None,
        text=path if kind == "language" else None,
        lang=params["lang"] if kind != "xlora" else None,
        limit=params["limit"],
    )
    train = AdapterTrainSettings.model_validate(params["train"])
    examples, sources, reports = load_adapter_examples(data, train.seed)
    if not examples:
        raise ValueError(
            f"no {kind} adapter examples in {path} ({reports[-1].summary()}); fix the source "
            f"under `adapters.{kind}`"
        )
    result = train_adapter(
        params["base"], examples, folder / "lora", adapter_type=kind, polarity=params["polarity"],
        lang=params["lang"], lora=LoraSettings.model_validate(params["lora"]), train=train,
        resume=True, sources=sources, progress=ctx.progress,
    )  # fmt: skip

    def mean(values: list[float]) -> float | None:
        return round(sum(values) / len(values), 4) if values else None

    window = max(1, min(10, len(result.losses) // 4))
    metrics = {
        "adapter_type": kind,
        "polarity": params["polarity"],
        "lang": params["lang"],
        "base": params["base"],
        "examples": len(examples),
        "read": [r.summary() for r in reports],
        "skipped_too_long": result.skipped_examples,
        "steps": result.steps,
        "resumed_from": result.resumed_from,
        "loss_first": mean(result.losses[:window]),
        "loss_last": mean(result.losses[-window:]),
        "loss_window": window,
        "eval_loss_before": result.eval_loss_before,
        "eval_loss_after": result.eval_loss_after,
        "mean_step_seconds": result.mean_step_seconds,
        "peak_rss_mb": result.peak_rss_mb,
    }
    return StageOutput({"adapter": folder / "lora"}, metrics)


def run_compose(ctx: RunContext, stage: Stage, folder: Path) -> StageOutput:
    """Compose the arm's positive and negative adapters: task + λ·(language − English)."""
    from tripletforge.adapters import compose_adapters
    from tripletforge.adapters.compose import lora_rank

    lam, method = float(stage.params["lambda"]), stage.params["method"]
    outputs: dict[str, Path] = {}
    for polarity in ("positive", "negative"):
        outputs[polarity] = compose_adapters(
            stage.inputs[f"task_{polarity}"], stage.inputs["lang_target"],
            stage.inputs["lang_english"], folder / polarity, lam=lam, method=method,
        )  # fmt: skip
    metrics = {
        "lambda": lam,
        "method": method,
        "rank": lora_rank(outputs["positive"]),
        "parts": {k: str(v) for k, v in stage.inputs.items()},
    }
    return StageOutput(outputs, metrics)


def clear(folder: Path) -> None:
    """Remove a stage folder's contents (a fresh start)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)


#: stage name → the function that runs it (``fn(ctx, stage, folder) -> StageOutput``).
#: Stages that encode with the run's shared encoders (:meth:`RunContext.encoder`); the runner
#: drops those encoders after the last of them.
ENCODER_STAGES = frozenset({"mine", "negatives", "filter"})

STAGES: dict[str, Callable[[RunContext, Stage, Path], StageOutput]] = {
    "adapter": run_adapter,
    "compose": run_compose,
    "generate": run_generate,
    "negatives": run_negatives,
    "mine": run_mine,
    "import": run_import,
    "filter": run_filter,
    "train": run_train,
    "merge": run_merge,
    "evaluate": run_evaluate,
    "connect": run_connect,
}
