"""Preflight: every file, suite, data set and model a run needs, checked before any stage runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tripletforge.pipeline.config import ConfigError
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
                from tripletforge.data.readers import sib200_folder

                root = sib200_root(cfg.resolve(arm.root))
                for code in (lang, arm.target_lang):
                    try:
                        split = sib200_folder(root, code) / f"{arm.split}.tsv"
                    except (ValueError, FileNotFoundError, KeyError) as exc:
                        problems.append(f"arms[{arm.name}].root: {exc}")
                        continue
                    if not split.is_file():
                        problems.append(
                            f"arms[{arm.name}].root: {split} not found; point `root:` at a "
                            "SIB-200 folder that has this language"
                        )
            elif not Path(cfg.resolve(str(arm.path))).exists():
                problems.append(f"arms[{arm.name}].path: {arm.path} not found; fix the path")
        if cfg.merge.enabled:
            try:
                from tripletforge.pipeline.dev import dev_texts

                dev_texts(cfg.merge.dev, lang, cfg.resolve)
            except (FileNotFoundError, ValueError, KeyError) as exc:
                problems.append(
                    f"merge.dev: no dev data for {lang!r} ({exc}); set merge.dev.root, or "
                    "`merge: {enabled: false}`"
                )
    if problems:
        raise ConfigError("cannot run this config:\n" + "\n".join(f"  {p}" for p in problems))
