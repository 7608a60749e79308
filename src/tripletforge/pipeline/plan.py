"""The plan of a run: languages × arms × sizes → stages, in dependency order.

Each :class:`Stage` names its work (a function of :mod:`tripletforge.pipeline.stages`), the
parameters hashed into its config hash, and its inputs: outputs of upstream stages (``needs``)
and files outside the run (``external``: a path, or a :class:`FileSet` of several files).
Planning reads no data and loads no model; the getters of external inputs run when the stage
is about to run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tripletforge.pipeline.config import ARM_GENERATE_FIELDS, PipelineConfig
from tripletforge.pipeline.dev import sib200_root

if TYPE_CHECKING:
    from tripletforge.pipeline.context import RunContext


@dataclass(frozen=True)
class FileSet:
    """An input made of several files (hashed one by one into the manifest)."""

    paths: tuple[Path, ...]


#: What a stage input is: one file or folder, or several files.
Input = Path | FileSet


@dataclass(eq=False)
class Stage:
    """One unit of work: a stage of one (language, arm[, size]).

    ``name`` is the stage function's name in :data:`tripletforge.pipeline.stages.STAGES`;
    ``params`` are hashed into the stage's config hash; ``needs`` are outputs of upstream
    stages, ``external`` files outside the run (both hashed into the input record).
    """

    name: str
    lang: str
    arm: str
    size: int | None
    params: dict[str, Any]
    needs: dict[str, tuple[Stage, str]] = field(default_factory=dict)  # input ← (stage, output)
    external: dict[str, Callable[[], Input]] = field(default_factory=dict)  # input ← getter
    inputs: dict[str, Input] = field(default_factory=dict)  # resolved when run
    status: str = "pending"  # pending | skipped | done | failed | blocked
    seconds: float = 0.0
    error: str | None = None
    task: str | None = None  # the generation task of an arm with `tasks:` (its own folders)

    @property
    def unit(self) -> str:
        parts = [self.lang, self.arm]
        parts += [self.task] if self.task is not None else []
        parts += [str(self.size)] if self.size is not None else []
        return "/".join(parts)

    @property
    def key(self) -> str:
        return f"{self.unit}/{self.name}"

    def folder(self, run_dir: Path) -> Path:
        return run_dir / self.unit / self.name


def _files_input(paths: Callable[[], list[str]]) -> Callable[[], FileSet]:
    """An external input made of several files, hashed one by one."""
    return lambda: FileSet(tuple(Path(p) for p in paths()))


def _merge_params(cfg: PipelineConfig) -> dict[str, Any]:
    # tolerance 0 (the default) is left out so runs made before the setting existed still match
    params = cfg.merge.model_dump(mode="json")
    if not cfg.merge.tolerance:
        params.pop("tolerance")
    return params


def _train_params(cfg: PipelineConfig, size: int, tasks: dict[str | None, float]) -> dict:
    # settings added after runs were made are left out at their defaults, so those runs match
    train = cfg.train.model_dump(mode="json")
    if train.get("mixing") == "proportional":
        train.pop("mixing")
    params = {"train": train, "encoder": cfg.encoder, "size": size, "seed": cfg.seed}
    if None not in tasks:
        params["tasks"] = tasks
    return params


def build_plan(ctx: RunContext) -> list[Stage]:
    """Every stage of the run, in dependency order.

    An arm with ``tasks:`` gets, per task, its own source stage (``generate``; a task that
    needs hard negatives, such as ``retrieval``, then ``negatives``) and ``filter`` stage under
    ``<lang>/<arm>/<task>/``; each size's ``train`` stage takes every task's kept rows. Arms
    with ``tasks:`` that generate a task with the same settings (strategy, its options, the
    generate settings, anchors, seed, seed file) share those stages: they are planned once,
    under the first such arm, so a task mix and a single-task arm train on the same rows.
    """
    cfg = ctx.config
    encoder: Callable[[], Path] = lambda: Path(ctx.model_path(cfg.encoder))  # noqa: E731
    eval_params = {
        "evaluate": cfg.evaluate.model_dump(mode="json"),
        "data_root": cfg.data_root,
        "encoder": cfg.encoder,
    }
    filter_params = {
        "filter": cfg.filter.model_dump(mode="json"),
        "leakage_check": cfg.leakage_check,
        "evaluate": cfg.evaluate.model_dump(mode="json"),
        "merge_dev": cfg.merge.dev.model_dump(mode="json") if cfg.merge.enabled else None,
    }
    plan: list[Stage] = []
    shared: dict[str, Stage] = {}  # generation key → the filter stage of the first such arm
    for lang in cfg.languages:
        eval_files = _files_input(lambda lang=lang: ctx.eval_files(lang))
        base = {"encoder": encoder, "eval_data": eval_files}
        plan.append(Stage("evaluate", lang, "base", None, eval_params, external=base))
        for arm in cfg.arms:
            tasks = cfg.arm_tasks(arm)
            kept: dict[str, tuple[Stage, str]] = {}
            for task in tasks:
                key = _generation_key(ctx, lang, arm.name, task)
                if key is not None and key in shared:
                    filt = shared[key]
                else:
                    sources = _source_stages(ctx, lang, arm.name, task)
                    filt = Stage(
                        "filter", lang, arm.name, None, filter_params,
                        needs={"triplets": (sources[-1], "triplets")},
                        external={"eval_data": eval_files}, task=task,
                    )  # fmt: skip
                    plan += [*sources, filt]
                    if key is not None:
                        shared[key] = filt
                kept["triplets" if task is None else f"triplets.{task}"] = (filt, "kept")
            for size in cfg.sizes:
                train = Stage(
                    "train", lang, arm.name, size, _train_params(cfg, size, tasks),
                    needs=dict(kept), external={"encoder": encoder},
                )  # fmt: skip
                plan.append(train)
                needs = {"model": (train, "model")}
                if cfg.merge.enabled:
                    merge = Stage(
                        "merge", lang, arm.name, size,
                        {"merge": _merge_params(cfg), "encoder": cfg.encoder},
                        needs={"model": (train, "model")}, external={"encoder": encoder},
                    )  # fmt: skip
                    plan.append(merge)
                    needs["merged"] = (merge, "model")
                plan.append(
                    Stage(
                        "evaluate", lang, arm.name, size, eval_params,
                        needs=needs, external={"eval_data": eval_files},
                    )
                )  # fmt: skip
    return plan


def _generation_key(ctx: RunContext, lang: str, arm_name: str, task: str | None) -> str | None:
    """What a task's generated rows depend on, for arms with ``tasks:`` (None otherwise)."""
    cfg = ctx.config
    arm = cfg.arm(arm_name)
    if task is None or arm.source != "synthetic":
        return None
    settings = cfg.generate_for(arm, task)
    key = [lang, task, arm.strategy, arm.strategy_options, _generate_params(settings),
           cfg.anchors, cfg.seed, str(ctx.seed_file(lang))]  # fmt: skip
    return json.dumps(key, sort_keys=True, default=str)


def _generate_params(settings: Any) -> dict[str, Any]:
    """A generate stage's settings as hashed: the pool by name; ``task`` left out for NLI and
    ``tasks`` for arms without them, so runs made before tasks existed still match."""
    own = set(ARM_GENERATE_FIELDS)  # already in the arm's params
    params = settings.model_dump(mode="json", exclude=own)
    params["pool"] = settings.pool_name()
    if params.get("task") == "nli":
        params.pop("task")
    return params


def _source_stages(ctx: RunContext, lang: str, arm_name: str, task: str | None) -> list[Stage]:
    """The stages that make an arm's rows for one task: the source, and for a task whose rows
    need mined hard negatives (retrieval), the ``negatives`` stage after it."""
    cfg = ctx.config
    arm = cfg.arm(arm_name)
    if arm.source != "synthetic":
        return [_source_stage(ctx, lang, arm_name)]
    from tripletforge.generate.tasks import task_class

    settings = cfg.generate_for(arm, task)
    common = {"arm": _arm_params(arm), "anchors": cfg.anchors, "seed": cfg.seed}
    seeds = ctx.seed_file(lang)
    generate = Stage(
        "generate", lang, arm.name, None, common | {"generate": _generate_params(settings)},
        external={"seed_file": lambda: seeds}, task=task,
    )  # fmt: skip
    if not task_class(settings.task).needs_negatives:
        return [generate]
    encoder: Callable[[], Path] = lambda: Path(ctx.model_path(cfg.mine.model or cfg.encoder))  # noqa: E731
    negatives = Stage(
        "negatives", lang, arm.name, None,
        {"mine": cfg.mine.model_dump(mode="json"), "encoder": cfg.mine.model or cfg.encoder,
         "task": settings.task},
        needs={"pairs": (generate, "triplets")},
        external={"corpus": lambda: seeds, "encoder": encoder}, task=task,
    )  # fmt: skip
    return [generate, negatives]


def _arm_params(arm: Any) -> dict[str, Any]:
    """An arm's settings as hashed (``tasks`` left out when unset, as before it existed)."""
    params = arm.model_dump(mode="json")
    if params.get("tasks") is None:
        params.pop("tasks", None)
    return params


def _source_stage(ctx: RunContext, lang: str, arm_name: str) -> Stage:
    cfg = ctx.config
    arm = cfg.arm(arm_name)
    common = {"arm": _arm_params(arm), "anchors": cfg.anchors, "seed": cfg.seed}
    if arm.source == "parallel":
        root = sib200_root(cfg.resolve(arm.root))
        params = common | {"mine": cfg.mine.model_dump(mode="json"), "encoder": cfg.encoder}

        def pair_files() -> list[str]:
            from tripletforge.data.readers import sib200_folder

            return [
                str(sib200_folder(root, code) / f"{arm.split}.tsv")
                for code in (lang, arm.target_lang)
            ]

        def pairs() -> Path:
            pair_files()  # fails early when a split is missing
            return root

        return Stage(
            "mine", lang, arm.name, None, params,
            external={"pairs": pairs, "pair_files": _files_input(pair_files)},
        )  # fmt: skip
    path = Path(cfg.resolve(str(arm.path)))
    return Stage("import", lang, arm.name, None, common, external={"source": lambda: path})
