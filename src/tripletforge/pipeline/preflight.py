"""Preflight: every file, suite, data set and model a run needs, checked before any stage runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tripletforge.pipeline.config import COMPOSE_PARTS, ConfigError, planned_options
from tripletforge.pipeline.dev import sib200_root

if TYPE_CHECKING:
    from tripletforge.pipeline.context import RunContext


def preflight(ctx: RunContext) -> None:
    """Check every file, suite, data set and plugin before any stage runs (``ConfigError``)."""
    cfg = ctx.config
    problems: list[str] = []
    from tripletforge.evaluate.suite import SuiteError

    try:
        suite = ctx.suite()
    except SuiteError as exc:
        problems.append(f"evaluate.suite: {exc}")
        suite = None
    for lang in cfg.languages:
        if suite is not None:
            try:
                ctx.eval_data(lang)
            except SuiteError as exc:
                problems.append(
                    f"evaluate.datasets: no data set of suite {suite.name!r} matches "
                    f"{ctx.eval_patterns(lang)} for {lang!r}; fix the patterns or the suite"
                    if "no data set matches" in str(exc)
                    else f"evaluate: {lang}: {exc}"
                )
            except (FileNotFoundError, ValueError) as exc:
                problems.append(f"evaluate: {lang}: {exc}; set data_root or fix the suite")
        for arm in cfg.arms:
            if arm.source == "synthetic":
                seeds = ctx.seed_file(lang)
                if not seeds.is_file():
                    problems.append(
                        f"seed_files.{lang}: seed file {seeds} not found; add "
                        f"`seed_files: {{{lang}: FILE}}` (a shipped sample exists only for hau, "
                        "kin, amh, swh)"
                    )
                gen = cfg.generate_for(arm)
                if gen.backend == "llamacpp":
                    from tripletforge.generate.generators import resolve_gguf

                    try:
                        resolve_gguf(gen.model)
                    except (ModuleNotFoundError, OSError) as exc:
                        problems.append(f"generate.model: {exc}")
            elif arm.source == "parallel":
                problems += _pairs_problems(cfg, lang, cfg.arm_label(arm), arm)
            elif arm.source == "mix":
                problems += _mix_problems(ctx, lang, arm)
            elif arm.source == "connected":
                continue  # English data only, checked once below
            elif not Path(cfg.resolve(str(arm.path))).exists():
                problems.append(f"{cfg.arm_label(arm)}.path: {arm.path} not found; fix the path")
        if cfg.merge.enabled and cfg.trained_arms:
            try:
                from tripletforge.pipeline.dev import dev_texts

                dev_texts(cfg.merge.dev, lang, cfg.resolve)
            except (FileNotFoundError, ValueError, KeyError) as exc:
                problems.append(
                    f"merge.dev: no dev data for {lang!r} ({exc}); set merge.dev.root, or "
                    "`merge: {enabled: false}`"
                )
    problems += guard_problems(ctx)
    problems += adapter_problems(ctx) + connect_problems(ctx)
    if problems:
        raise ConfigError("cannot run this config:\n" + "\n".join(f"  {p}" for p in problems))


def guard_problems(ctx: RunContext) -> list[str]:
    """A merge guard with dev data for none of the run's languages (a wrong root, mostly)."""
    cfg = ctx.config
    guard = cfg.merge.guard
    if guard is None or not cfg.merge.enabled or not cfg.trained_arms:
        return []
    from tripletforge.pipeline.dev import guard_scorer

    _, _, have = guard_scorer(guard, list(cfg.languages), cfg.resolve)
    if have:
        return []
    return [
        f"merge.guard: no {guard.format} {guard.split} data for any of "
        f"{', '.join(cfg.languages)} under {cfg.resolve(guard.root)}; fix merge.guard.root or "
        "remove merge.guard"
    ]


def connect_problems(ctx: RunContext) -> list[str]:
    """The English data files connected arms name that are not there (one line each)."""
    cfg = ctx.config
    problems: list[str] = []
    for arm in cfg.arms:
        if arm.source != "connected":
            continue
        try:
            settings = cfg.connect_settings(arm)
        except ConfigError as exc:
            problems.append(f"{cfg.arm_label(arm)}.connect: {exc}")
            continue
        for section in ("align", "finetune"):
            for path in getattr(settings, section).data:
                if not Path(path).exists():
                    problems.append(
                        f"{cfg.arm_label(arm)}.connect.{section}.data: {path} not found; fix the "
                        "path (English text only), or leave it out for the shipped SNLI pool"
                    )
    return problems


def adapter_problems(ctx: RunContext) -> list[str]:
    """What the adapter stages and the adapters an arm gives lack (one line per problem)."""
    from tripletforge.adapters.train import check_quantization
    from tripletforge.pipeline.plan import adapter_source, plan_adapters

    cfg = ctx.config
    problems: list[str] = []
    for arm in cfg.arms:
        if arm.source != "synthetic":
            continue
        for key, value in arm.strategy_options.items():
            if not key.endswith("_adapter") and key not in COMPOSE_PARTS:
                continue
            folders = value.values() if isinstance(value, dict) else [value]
            for folder in (str(f) for f in folders if f):
                if not (Path(cfg.resolve(folder)) / "adapter_config.json").is_file():
                    problems.append(
                        f"{cfg.arm_label(arm)}.strategy_options.{key}: {folder} is not a PEFT "
                        "adapter folder (no adapter_config.json); fix the path, or leave the "
                        "option out and the run trains it"
                    )
        lam = arm.strategy_options.get("lambda", 1.0)
        if arm.strategy == "compose" and not isinstance(lam, int | float):
            problems.append(
                f"{cfg.arm_label(arm)}.strategy_options.lambda: {lam!r} is not a number; write "
                "e.g. `lambda: 1.0` or a list `lambda: [0.5, 1.0]`"
            )
        if planned_options(arm):
            backend = arm.generate.get("backend", cfg.generate.backend)
            base = cfg.adapter_base(arm)
            if backend == "openai" and cfg.adapters.base is None:
                problems.append(
                    f"adapters.base: arm {arm.name!r} makes adapters but its generator "
                    f"{base!r} is a served name (openai backend); set `adapters.base:` to the "
                    "model folder or hub id the server runs"
                )
            problems += _base_problems(base)
    seen: set[str] = set()
    for stage in plan_adapters(ctx).stages:
        if stage.name != "adapter":
            continue
        kind, which = stage.params["adapter_type"], stage.params["polarity"] or stage.lang
        try:
            _, path = adapter_source(ctx, kind, which)
            missing = not path.is_file()
        except (FileNotFoundError, ValueError) as exc:
            path, missing = exc, True
        if missing and str(path) not in seen:
            seen.add(str(path))
            where = f"adapters.{kind}" + (f".corpus.{which}" if kind == "language" else "")
            problems.append(
                f"{where}: {stage.unit} trains on {path}, which is not there; fix the path "
                f"under `{where}`" + (" or `seed_files:`" if kind == "language" else "")
            )
        try:
            check_quantization(cfg.adapters.train_for(kind, cfg.seed))
        except (ValueError, ImportError) as exc:
            if "quantization" not in seen:
                seen.add("quantization")
                problems.append(f"adapters.train.quantization: {exc}")
    return problems


def _base_problems(base: str) -> list[str]:
    from tripletforge.models.generators import GGUF_GENERATORS

    if base in GGUF_GENERATORS:
        try:
            GGUF_GENERATORS[base].package_dir()
        except ModuleNotFoundError as exc:
            return [f"adapters.base: {exc}"]
    return []


def _pairs_problems(cfg: Any, lang: str, where: str, spec: Any) -> list[str]:
    """A parallel source's SIB-200 split files of ``lang`` and its target language."""
    from tripletforge.data.readers import sib200_folder

    problems = []
    if getattr(spec, "format", "sib200") == "nusax":
        from tripletforge.data.readers import read_nusax

        try:
            read_nusax(cfg.resolve(spec.root), lang, spec.target_lang, spec.split)
        except (ValueError, FileNotFoundError) as exc:
            problems.append(f"{where}.root: {exc}")
        return problems
    root = sib200_root(cfg.resolve(spec.root))
    for code in (lang, spec.target_lang):
        try:
            split = sib200_folder(root, code) / f"{spec.split}.tsv"
        except (ValueError, FileNotFoundError, KeyError) as exc:
            problems.append(f"{where}.root: {exc}")
            continue
        if not split.is_file():
            problems.append(
                f"{where}.root: {split} not found; point `root:` at a SIB-200 folder that has "
                "this language"
            )
    return problems


def _mix_problems(ctx: RunContext, lang: str, arm: Any) -> list[str]:
    """A mix arm's sources: parallel splits per language, corpus files once (first language)."""
    from tripletforge.pipeline.plan import mix_source_files

    problems = []
    for index, source in enumerate(arm.sources or []):
        where = f"{ctx.config.arm_label(arm)}.sources[{index}]"
        if source.kind == "parallel" and lang in (source.languages or ctx.config.languages):
            problems += _pairs_problems(ctx.config, lang, where, source)
        elif source.kind != "synthetic" and lang == ctx.config.languages[0]:
            try:
                files = mix_source_files(ctx, source)
            except (FileNotFoundError, ConfigError) as exc:
                folder = Path(ctx.config.resolve(str(source.path)))
                # a SemRel folder that is there but lacks the languages or split: not the path
                field = "" if source.kind == "scored" and folder.is_dir() else ".path"
                problems.append(f"{where}{field}: {exc}")
                continue
            if source.kind == "scored" and source.format == "table":
                problems += _scored_table_problems(files[0], where)
    return problems


def _scored_table_problems(path: Path, where: str) -> list[str]:
    """A ``format: table`` scored file that cannot be read, or has no usable row (read now,
    not when the train stage comes to it)."""
    from tripletforge.data.scored import read_scored_rows

    try:
        rows, skipped = read_scored_rows([path], "table")
    except (ValueError, OSError) as exc:
        return [f"{where}.path: {exc}; give a UTF-8 CSV/TSV/JSONL with sentence1, sentence2, score"]
    if not rows:
        reasons = ", ".join(f"{k}: {v}" for k, v in skipped.items()) or "it is empty"
        return [f"{where}.path: {path} has no usable scored pair ({reasons})"]
    return []
