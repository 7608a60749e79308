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

from tripletforge.generate.pool import BUILTIN_POOL
from tripletforge.pipeline.config import (
    ALL_LANGUAGES,
    ARM_GENERATE_FIELDS,
    SAMPLE,
    ArmConfig,
    PipelineConfig,
    planned_options,
)
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
    scope: str | None = None  # the unit of a stage shared across languages and arms
    task: str | None = None  # the generation task of an arm with `tasks:` (its own folders)

    @property
    def unit(self) -> str:
        if self.scope is not None:
            return self.scope
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
    # settings at the values runs made before them behaved as (tolerance 0, judging the own
    # language only, no soup) are left out, so those runs still match; `judge: all` (the
    # default) judges other languages too, changes the choice and so redoes such merges
    params = cfg.merge.model_dump(mode="json")
    if not cfg.merge.tolerance:
        params.pop("tolerance")
    if cfg.merge.judge == "own":
        params.pop("judge")
    else:  # the languages judged are part of what the merge stage does
        params["languages"] = list(cfg.languages)
    if not cfg.merge.soup:
        params.pop("soup")
    if cfg.merge.guard is None:
        params.pop("guard")
    return params


def _train_params(cfg: PipelineConfig, size: int, tasks: dict[str | None, float]) -> dict:
    # settings added after runs were made are left out at their defaults, so those runs match
    train = cfg.train.model_dump(mode="json")
    if train.get("mixing") == "proportional":
        train.pop("mixing")
    if train.get("prompt_policy") == "none":
        train.pop("prompt_policy")
        train.pop("prompt_trial_steps")
    params = {"train": train, "encoder": cfg.encoder, "size": size, "seed": cfg.seed}
    if cfg.train.prompt_policy == "auto":  # the trials are scored on the merge dev data
        params["prompt_dev"] = cfg.merge.dev.model_dump(mode="json")
    if None not in tasks:
        params["tasks"] = tasks
    if cfg.merge.enabled and cfg.merge.soup:  # the merge stage soups the kept checkpoints
        params["keep_checkpoints"] = True
    return params


def build_plan(ctx: RunContext) -> list[Stage]:
    """Every stage of the run, in dependency order.

    A connected arm gets one ``connect`` stage (``connect/<arm>``, English only, shared by
    every language) and per language an ``evaluate`` of the connected model
    (``<lang>/<arm>``) and one of the target alone (``<lang>/<arm>/target``); no size.

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
    } | leakage_extra(cfg)
    adapters = plan_adapters(ctx)
    plan: list[Stage] = list(adapters.stages)  # first: trained before any generator loads
    connect = {a.name: connect_stage(ctx, a) for a in cfg.arms if a.source == "connected"}
    plan += connect.values()
    shared: dict[str, Stage] = {}  # generation key → the filter stage of the first such arm
    kept_by_arm: dict[tuple[str, str], tuple[Stage, str]] = {}  # (lang, arm) → its kept rows
    for lang in cfg.languages:
        eval_files = _files_input(lambda lang=lang: ctx.eval_files(lang))
        base = {"encoder": encoder, "eval_data": eval_files}
        plan.append(Stage("evaluate", lang, "base", None, eval_params, external=base))
        for arm in cfg.arms:
            if arm.source == "connected":
                plan += _connected_evaluations(ctx, lang, arm, connect, eval_params, eval_files)
                continue
            if arm.source == "mix":
                continue  # planned below, once every language's sources are

            tasks = cfg.arm_tasks(arm)
            kept: dict[str, tuple[Stage, str]] = {}
            for task in tasks:
                key = _generation_key(ctx, lang, arm.name, task)
                if key is not None and key in shared:
                    filt = shared[key]
                else:
                    sources = _source_stages(ctx, lang, arm.name, task)
                    sources[0].needs.update(adapters.needs.get((lang, arm.name), {}))
                    filt = Stage(
                        "filter", lang, arm.name, None, filter_params,
                        needs={"triplets": (sources[-1], "triplets")},
                        external={"eval_data": eval_files}, task=task,
                    )  # fmt: skip
                    plan += [*sources, filt]
                    if key is not None:
                        shared[key] = filt
                kept["triplets" if task is None else f"triplets.{task}"] = (filt, "kept")
                kept_by_arm[(lang, arm.name)] = (filt, "kept")
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
    for arm in cfg.arms:
        if arm.source == "mix":
            plan += mix_stages(ctx, arm, filter_params, eval_params, kept_by_arm)
    return plan


def leakage_extra(cfg: PipelineConfig) -> dict[str, Any]:
    """What the leakage check reads beyond the evaluation sets and ``merge.dev`` (see
    ``stages.eval_sentences``): English dev data under ``judge: all`` and the guard's dev data.
    Part of the hash of every stage that drops leaked rows, so a change redoes them; absent
    when unused (runs without them keep their hashes)."""
    extra: dict[str, Any] = {}
    if cfg.leakage_check and cfg.merge.enabled:
        if cfg.merge.judge == "all":
            extra["leakage_english_dev"] = True
        if cfg.merge.guard is not None:
            extra["leakage_guard"] = cfg.merge.guard.model_dump(mode="json")
    return extra


def mix_stages(
    ctx: RunContext,
    arm: ArmConfig,
    filter_params: dict[str, Any],
    eval_params: dict[str, Any],
    kept_by_arm: dict[tuple[str, str], tuple[Stage, str]],
) -> list[Stage]:
    """The stages of a mix arm: one model for every language of the run.

    Per language, a ``parallel`` source gets ``mine`` and ``filter`` stages
    (``<lang>/<arm>/parallel/``); a ``synthetic`` source takes its arm's kept rows. Per size,
    one ``train`` (``all/<arm>/<size>/train``: every source a training set of its own) and
    one ``merge`` (α on every language's dev data, each language protected), then per
    language an ``evaluate`` of that one model (``<lang>/<arm>/<size>/evaluate``). The
    corpora (``xllora``, ``nli``, ``triplets``) are read by the train stage (hashed inputs).
    """
    cfg = ctx.config
    encoder: Callable[[], Path] = lambda: Path(ctx.model_path(cfg.encoder))  # noqa: E731
    sources = arm.sources or []
    stages: list[Stage] = []
    needs: dict[str, tuple[Stage, str]] = {}
    for lang in cfg.languages:
        eval_files = _files_input(lambda lang=lang: ctx.eval_files(lang))
        for source in sources:
            if source.kind == "parallel" and lang in (source.languages or cfg.languages):
                mine = _parallel_stage(ctx, lang, arm.name, source.settings(), task="parallel")
                filt = Stage(
                    "filter", lang, arm.name, None, filter_params,
                    needs={"triplets": (mine, "triplets")}, external={"eval_data": eval_files},
                    task="parallel",
                )  # fmt: skip
                stages += [mine, filt]
                needs[f"{source.label}.{lang}"] = (filt, "kept")
            elif source.kind == "synthetic":
                needs[f"{source.label}.{lang}"] = kept_by_arm[(lang, str(source.arm))]
    external: dict[str, Callable[[], Input]] = {"encoder": encoder}
    for source in sources:
        if source.kind in CORPUS_KINDS:
            external[source.label] = lambda source=source: FileSet(
                tuple(mix_source_files(ctx, source))
            )
    all_eval = _files_input(
        lambda: sorted({f for lang in cfg.languages for f in ctx.eval_files(lang)})
    )
    if cfg.leakage_check:
        external["eval_data"] = all_eval
    params_common = {
        "sources": [s.settings() for s in sources],
        "languages": list(cfg.languages),
        "leakage_check": cfg.leakage_check,
        "evaluate": cfg.evaluate.model_dump(mode="json"),
        "merge_dev": cfg.merge.dev.model_dump(mode="json"),
        "data_root": cfg.data_root,
    } | leakage_extra(cfg)
    for size in cfg.sizes:
        scope = f"{ALL_LANGUAGES}/{arm.name}/{size}"
        train = Stage(
            "train", ALL_LANGUAGES, arm.name, size,
            _train_params(cfg, size, {None: 1.0}) | params_common,
            needs=dict(needs), external=dict(external), scope=scope,
        )  # fmt: skip
        stages.append(train)
        models = {"model": (train, "model")}
        if cfg.merge.enabled:
            merge = Stage(
                "merge", ALL_LANGUAGES, arm.name, size,
                {"merge": _merge_params(cfg), "encoder": cfg.encoder,
                 "languages": list(cfg.languages)},
                needs={"model": (train, "model")}, external={"encoder": encoder}, scope=scope,
            )  # fmt: skip
            stages.append(merge)
            models["merged"] = (merge, "model")
        for lang in cfg.languages:
            eval_files = _files_input(lambda lang=lang: ctx.eval_files(lang))
            stages.append(
                Stage(
                    "evaluate", lang, arm.name, size, eval_params,
                    needs=dict(models), external={"eval_data": eval_files},
                )
            )  # fmt: skip
    return stages


#: Mix source kinds read whole by the train stage (the others come per language from stages).
CORPUS_KINDS = ("xllora", "nli", "triplets", "scored")


def mix_source_files(ctx: RunContext, source: Any) -> list[Path]:
    """The files a corpus source of a mix arm reads (``xllora``: both CSVs of the folder;
    ``sample`` = the shipped XL-LoRA sample; ``nli``: ``snli-en`` = the shipped SNLI pool;
    ``scored`` with ``format: semrel``: the ``split`` file of each of its languages that
    SemRel2024 has, at least one)."""
    path = str(source.path)
    if source.kind == "scored" and source.format == "semrel":
        from tripletforge.data.scored import semrel_split_files

        languages = source.languages or list(ctx.config.languages)
        return list(semrel_split_files(ctx.config.resolve(path), languages, source.split).values())
    if source.kind == "xllora":
        from tripletforge.data.xllora import xllora_file

        folder = xllora_sample_dir() if path == SAMPLE else Path(ctx.config.resolve(path))
        if not folder.is_dir():
            raise FileNotFoundError(
                f"{folder}: no such folder; give the XL-LoRA data folder (the one holding "
                "*_pos.csv and *_neg.csv) or `sample`"
            )
        return [xllora_file(folder, "positive"), xllora_file(folder, "negative")]
    if source.kind == "nli" and path == BUILTIN_POOL:
        from tripletforge.generate.pool import builtin_pool_path

        return [builtin_pool_path()]
    found = Path(ctx.config.resolve(path))
    if not found.exists():
        raise FileNotFoundError(f"{source.kind} source {found} does not exist; fix its `path:`")
    return [found]


#: Units of the connect stages (one per connected arm, shared by the languages).
CONNECT_DIR = "connect"


def connect_stage(ctx: RunContext, arm: ArmConfig) -> Stage:
    """The stage that trains a connected arm's model (:func:`tripletforge.connect.
    train_connected`) on English data only, once for every language of the run.

    Hashed: the arm's ``ConnectSettings`` (but ``keep_stages``), the encoder, target and data
    files (the shipped SNLI pool when a stage gives none). Its only inputs are those: no seed
    file, evaluation set or other stage's output ever reaches it.
    """
    from tripletforge.connect.data import shipped_pool

    settings = ctx.config.connect_settings(arm)
    params = {"connect": settings.model_dump(mode="json", exclude={"keep_stages"})}

    def data() -> FileSet:
        files = list(settings.align.data) or [shipped_pool()]
        if settings.finetune.enabled:
            files += list(settings.finetune.data) or [shipped_pool()]
        return FileSet(tuple(dict.fromkeys(Path(f) for f in files)))

    external: dict[str, Callable[[], Input]] = {
        "encoder": lambda: Path(ctx.model_path(settings.encoder)),
        "target": lambda: Path(ctx.model_path(settings.target)),
        "data": data,
    }
    unit = f"{CONNECT_DIR}/{arm.name}"
    return Stage("connect", "eng", arm.name, None, params, external=external, scope=unit)


def _connected_evaluations(
    ctx: RunContext,
    lang: str,
    arm: ArmConfig,
    connect: dict[str, Stage],
    eval_params: dict[str, Any],
    eval_files: Callable[[], FileSet],
) -> list[Stage]:
    """A connected arm's evaluations of one language: the connected model (``<lang>/<arm>``)
    and the English target alone (``<lang>/<arm>/target``); the encoder alone is the base
    row when the connector's encoder is the run's, else ``<lang>/<arm>/encoder``."""
    settings = ctx.config.connect_settings(arm)
    connected = Stage(
        "evaluate", lang, arm.name, None, eval_params,
        needs={"connected": (connect[arm.name], "model")}, external={"eval_data": eval_files},
    )  # fmt: skip
    alone = {"target": (settings.target, settings.target_pooling)}
    if settings.encoder != ctx.config.encoder:  # else the base row is the encoder alone
        alone["encoder"] = (settings.encoder, "auto")
    stages = []
    for label, (model, pooling) in alone.items():
        params = {k: v for k, v in eval_params.items() if k != "encoder"}
        params[label] = {"model": model, "pooling": pooling}
        stages.append(
            Stage(
                "evaluate", lang, arm.name, None, params,
                external={label: lambda model=model: Path(ctx.model_path(model)),
                          "eval_data": eval_files},
                scope=f"{lang}/{arm.name}/{label}",
            )
        )  # fmt: skip
    return [*stages, connected]


def _generation_key(ctx: RunContext, lang: str, arm_name: str, task: str | None) -> str | None:
    """What a task's generated rows depend on, for arms with ``tasks:`` (None otherwise)."""
    cfg = ctx.config
    arm = cfg.arm(arm_name)
    if task is None or arm.source != "synthetic":
        return None
    settings = cfg.generate_for(arm, task=task)
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

    settings = cfg.generate_for(arm, task=task)
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
    """An arm's settings as hashed (``tasks`` left out when unset and ``connect`` when empty,
    as before they existed, so the stages of runs made then still match)."""
    params = arm.model_dump(mode="json")
    if params.get("tasks") is None:
        params.pop("tasks", None)
    if not params.get("connect"):
        params.pop("connect", None)
    if params.get("sources") is None:
        params.pop("sources", None)
    return params


def _parallel_stage(
    ctx: RunContext, lang: str, arm_name: str, spec: dict[str, Any], task: str | None = None
) -> Stage:
    """A ``mine`` stage: the language's SIB-200/FLORES pairs with mined hard negatives.

    ``spec`` is a parallel arm's hashed settings (``{"arm": …, "anchors", "seed"}``) or, with
    ``task`` set, a mix arm's parallel source (``root``, ``split``, ``target_lang``).
    """
    cfg = ctx.config
    own = spec if task is not None else spec["arm"]
    nusax = own.get("format") == "nusax"
    root = Path(cfg.resolve(own["root"])) if nusax else sib200_root(cfg.resolve(own["root"]))
    hashed = spec if task is None else {"parallel": spec, "anchors": cfg.anchors, "seed": cfg.seed}
    params = hashed | {"mine": cfg.mine.model_dump(mode="json"), "encoder": cfg.encoder}

    def pair_files() -> list[str]:
        from tripletforge.data.readers import read_nusax, sib200_folder

        if nusax:
            return [str(f) for f in read_nusax(root, lang, own["target_lang"], own["split"]).files]
        return [
            str(sib200_folder(root, code) / f"{own['split']}.tsv")
            for code in (lang, own["target_lang"])
        ]

    def pairs() -> Path:
        pair_files()  # fails early when a split is missing
        return root

    return Stage(
        "mine", lang, arm_name, None, params,
        external={"pairs": pairs, "pair_files": _files_input(pair_files)}, task=task,
    )  # fmt: skip


def _source_stage(ctx: RunContext, lang: str, arm_name: str) -> Stage:
    cfg = ctx.config
    arm = cfg.arm(arm_name)
    common = {"arm": _arm_params(arm), "anchors": cfg.anchors, "seed": cfg.seed}
    if arm.source == "parallel":
        return _parallel_stage(ctx, lang, arm.name, common)
    path = Path(cfg.resolve(str(arm.path)))
    return Stage("import", lang, arm.name, None, common, external={"source": lambda: path})


# --- adapter stages -------------------------------------------------------------------------

#: Units of the adapter stages shared by languages and arms: ``adapters/<generator>/<what>``.
ADAPTERS_DIR = "adapters"
#: The language of XL-LoRA adapters (premises in many languages): ISO 639-3 "multiple".
MULTIPLE = "mul"


def generator_slug(name: str) -> str:
    """A folder name for a generator: a built-in name as is; a path or hub id → its last part
    and a short hash of the whole name (two models never share a folder)."""
    import hashlib
    import re

    last = Path(name.rstrip("/")).name or name
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", last).strip("-.") or "model"
    if slug != name:
        slug += "-" + hashlib.sha256(name.encode()).hexdigest()[:6]
    return slug


@dataclass
class AdapterPlan:
    """The adapter stages of a run and what each (language, arm) generate stage needs."""

    stages: list[Stage] = field(default_factory=list)
    needs: dict[tuple[str, str], dict[str, tuple[Stage, str]]] = field(default_factory=dict)


def plan_adapters(ctx: RunContext) -> AdapterPlan:
    """The stages that make the adapters of ``compose``/``xlora`` arms that give none.

    ``xlora``: a positive and a negative adapter per generator, shared by every language and
    arm. ``compose``: per (language, arm) a compose stage (task + λ·(language − English)) fed
    by task adapters (per generator and polarity), the language's adapter and the English
    one (per generator and language), each made once; parts given in the arm's options are
    used instead. Every stage comes before the stages that need it.
    """
    cfg = ctx.config
    out = AdapterPlan()
    made: dict[str, Stage] = {}

    def adapter(base: str, kind: str, which: str, lang: str) -> Stage:
        unit = f"{ADAPTERS_DIR}/{generator_slug(base)}/{kind}-{which}"
        if unit not in made:
            made[unit] = _adapter_stage(ctx, base, kind, which, lang, unit)
            out.stages.append(made[unit])
        return made[unit]

    for lang in cfg.languages:
        for arm in cfg.arms:
            planned = planned_options(arm)
            if not planned:
                continue
            base = cfg.adapter_base(arm)
            if arm.strategy == "xlora":
                needs = {
                    option: (adapter(base, "xlora", option.split("_")[0], MULTIPLE), "adapter")
                    for option in planned
                }
            else:
                compose = _compose_stage(ctx, lang, arm, base, adapter)
                out.stages.append(compose)
                needs = {option: (compose, option.split("_")[0]) for option in planned}
            out.needs[(lang, arm.name)] = needs
    return out


def _given(path: Any) -> Callable[[], Path]:
    return lambda: Path(str(path))


def lang_target_option(value: Any, lang: str) -> str | None:
    """The ``lang_target`` adapter an arm gives for ``lang`` (a folder, or ``{lang: folder}``
    with ``*`` for every language), or None."""
    if isinstance(value, dict):
        return value.get(lang) or value.get("*")
    return str(value) if value else None


def _compose_stage(
    ctx: RunContext, lang: str, arm: ArmConfig, base: str, adapter: Callable[..., Stage]
) -> Stage:
    options = arm.strategy_options
    needs: dict[str, tuple[Stage, str]] = {}
    external: dict[str, Callable[[], Input]] = {}
    parts = {
        "task_positive": ("task", "positive", "eng"),
        "task_negative": ("task", "negative", "eng"),
        "lang_english": ("language", "eng", "eng"),
        "lang_target": ("language", lang, lang),
    }
    for part, (kind, which, adapter_lang) in parts.items():
        given = options.get(part)
        if part == "lang_target":
            given = lang_target_option(given, lang)
        if given:
            external[part] = _given(given)
        else:
            needs[part] = (adapter(base, kind, which, adapter_lang), "adapter")
    params = {
        "lambda": float(options.get("lambda", 1.0)),
        "method": options.get("method", ctx.config.adapters.compose.method),
    }
    return Stage("compose", lang, arm.name, None, params, needs=needs, external=external)


def adapter_source(ctx: RunContext, kind: str, which: str) -> tuple[dict[str, Any], Path]:
    """What an adapter trains on: its description (hashed) and the file read.

    ``xlora``: the XL-LoRA CSV of the polarity (the shipped sample by default) or a triplet
    file; ``task``: the shipped SNLI pool or a triplet file; ``language``: the configured
    corpus of the language, else its seed file (English: the shipped SIB-200 train split).
    """
    cfg = ctx.config
    described = source_description(cfg, kind, which)
    if "pairs" in described:
        from tripletforge.data.xllora import xllora_file

        pairs = described["pairs"]
        folder = xllora_sample_dir() if pairs == SAMPLE else Path(cfg.resolve(pairs))
        return described, xllora_file(folder, which)
    if "triplets" in described:
        if described["triplets"] == BUILTIN_POOL:
            from tripletforge.generate.pool import builtin_pool_path

            return described, builtin_pool_path()
        return described, Path(cfg.resolve(described["triplets"]))
    if described["corpus"] != "seeds":
        return described, Path(cfg.resolve(described["corpus"]))
    return described, ctx.seed_file(which)


def source_description(cfg: PipelineConfig, kind: str, which: str) -> dict[str, str]:
    """The configured source of an adapter type, as hashed into its stage (no file read)."""
    if kind == "xlora":
        spec = cfg.adapters.xlora
        return {"triplets": spec.triplets} if spec.triplets else {"pairs": spec.pairs or SAMPLE}
    if kind == "task":
        return {"triplets": cfg.adapters.task.triplets}
    return {"corpus": cfg.adapters.language.corpus.get(which) or "seeds"}


def local_model(name: str) -> bool:
    """Whether a model name is a built-in generator or a local folder (hashable input)."""
    from tripletforge.models.generators import GGUF_GENERATORS

    return name in GGUF_GENERATORS or Path(name).exists()


def xllora_sample_dir() -> Path:
    """The XL-LoRA sample shipped in the package (MIT; resources/xllora/ATTRIBUTION.md)."""
    from importlib import resources

    return Path(str(resources.files("tripletforge") / "resources" / "xllora"))


def _adapter_stage(
    ctx: RunContext, base: str, kind: str, which: str, lang: str, unit: str
) -> Stage:
    cfg = ctx.config
    params = {
        "adapter_type": kind,
        "polarity": which if kind != "language" else None,
        "lang": lang,
        "base": base,
        "limit": getattr(cfg.adapters, kind).limit,
        "lora": cfg.adapters.lora.model_dump(mode="json"),
        "train": cfg.adapters.train_for(kind, cfg.seed).model_dump(mode="json"),
    }

    def source() -> FileSet:
        _, path = adapter_source(ctx, kind, which)
        return FileSet((path,))

    def base_model() -> Path:
        from tripletforge.models.generators import resolve_generator

        return Path(resolve_generator(base))

    params["source"] = source_description(cfg, kind, which)
    external: dict[str, Callable[[], Input]] = {"data": source}
    if local_model(base):
        external["base"] = base_model
    return Stage("adapter", lang, ADAPTERS_DIR, None, params, external=external, scope=unit)
