"""Plan and run the stages of a pipeline config, skipping what is finished.

Layout of ``RUNS_DIR/NAME``::

    config.yaml  run.json  events.jsonl
    <lang>/base/evaluate/                         the base encoder (baseline)
    <lang>/<arm>/{generate|mine|import}/          triplets of one language and arm
    <lang>/<arm>/filter/                          kept triplets, rejects, funnel
    <lang>/<arm>/<size>/{train,merge,evaluate}/   one model per data size

Each stage folder has a ``manifest.json`` (see :mod:`tripletforge.pipeline.manifest`). A stage
is skipped when its manifest is ``complete`` with the same stage-config hash and the same
input hashes (an upstream stage that was redone with different output redoes its dependants)
and its outputs exist. A stage left ``running`` by a killed run resumes in place when its
config and inputs are unchanged (generation skips the anchors already written; training
restarts from its last checkpoint); any other unfinished folder is cleared and redone.
"""

from __future__ import annotations

import fcntl
import gc
import json
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from tripletforge.data.jsonl import JsonlAppender
from tripletforge.pipeline import stages as S
from tripletforge.pipeline.config import (
    ARM_GENERATE_FIELDS,
    ConfigError,
    PipelineConfig,
    config_hash,
)
from tripletforge.pipeline.manifest import (
    describe,
    now,
    outputs_exist,
    read_manifest,
    write_json_atomic,
    write_manifest,
)
from tripletforge.provenance import library_versions

if TYPE_CHECKING:
    from rich.console import Console

STAGE_NAMES = ("generate", "mine", "import", "filter", "train", "merge", "evaluate")


@dataclass(eq=False)
class Stage:
    """One unit of work: a stage of one (language, arm[, size])."""

    name: str
    lang: str
    arm: str
    size: int | None
    params: dict[str, Any]
    fn: Callable[..., S.StageOutput]
    needs: dict[str, tuple[Stage, str]] = field(default_factory=dict)  # input ← (stage, output)
    external: dict[str, Callable[[], Path]] = field(default_factory=dict)  # input ← path getter
    inputs: dict[str, Path] = field(default_factory=dict)  # resolved when run
    status: str = "pending"  # pending | skipped | done | failed | blocked
    seconds: float = 0.0
    error: str | None = None

    @property
    def unit(self) -> str:
        parts = [self.lang, self.arm] + ([str(self.size)] if self.size is not None else [])
        return "/".join(parts)

    @property
    def key(self) -> str:
        return f"{self.unit}/{self.name}"

    def folder(self, run_dir: Path) -> Path:
        return run_dir / self.unit / self.name


class RunContext:
    """Shared state of a run: config, folder, and models/backends/data loaded once."""

    def __init__(
        self, config: PipelineConfig, run_dir: Path, console: Console, progress: bool = True
    ) -> None:
        self.config = config
        self.run_dir = run_dir
        self.console = console
        self.progress = progress
        self._encoders: dict[str, Any] = {}
        self._backends: dict[str, Any] = {}
        self._eval: dict[str, list[Any]] = {}
        self._suite: Any = None

    def model_path(self, name: str) -> str:
        from tripletforge.models.registry import resolve_model_path

        return resolve_model_path(name)

    def encoder(self, name: str) -> Any:
        if name not in self._encoders:
            from tripletforge.models import load_encoder

            self._encoders[name] = load_encoder(self.model_path(name))
        return self._encoders[name]

    def backend(self, settings: Any) -> Any:
        """The backend of an arm's generate settings, built once per distinct engine.

        The options it is built with include what the arm's strategy needs
        (:func:`tripletforge.generate.config.engine_options`: vLLM gets LoRA for adapters).
        """
        options = settings.backend_kwargs()
        key = json.dumps([settings.backend, settings.model, options], sort_keys=True, default=str)
        if key not in self._backends:
            from tripletforge.generate.backends import get_backend

            self._backends[key] = get_backend(settings.backend, settings.model, **options)
        return self._backends[key]

    def suite(self) -> Any:
        if self._suite is None:
            from tripletforge.evaluate.suite import load_suite

            self._suite = load_suite(self.config.evaluate.suite)
        return self._suite

    def eval_patterns(self, lang: str) -> list[str]:
        return [p.replace("{lang}", lang) for p in self.config.evaluate.datasets]

    def eval_data(self, lang: str) -> list[Any]:
        if lang not in self._eval:
            from tripletforge.evaluate.datasets import load_dataset

            suite = self.suite()
            specs = suite.select(self.eval_patterns(lang))
            self._eval[lang] = [
                load_dataset(s, suite, self.config.data_root, self.config.evaluate.limit)
                for s in specs
            ]
        return self._eval[lang]

    def eval_files(self, lang: str) -> list[str]:
        return sorted({f["path"] for item in self.eval_data(lang) for f in item.files})

    def close(self) -> None:
        for backend in self._backends.values():
            backend.close()
        self._backends.clear()
        self._encoders.clear()


# --- planning ----------------------------------------------------------------------------


def _files_input(paths: Callable[[], list[str]]) -> Callable[[], Path]:
    """An external input made of several files: a JSON list of them, hashed together."""

    def get() -> Path:
        return Path(json.dumps(paths()))

    return get


def _merge_params(cfg: PipelineConfig) -> dict[str, Any]:
    # tolerance 0 (the default) is left out so runs made before the setting existed still match
    params = cfg.merge.model_dump(mode="json")
    if not cfg.merge.tolerance:
        params.pop("tolerance")
    return params


def build_plan(ctx: RunContext) -> list[Stage]:
    """Every stage of the run, in dependency order."""
    cfg = ctx.config
    encoder: Callable[[], Path] = lambda: Path(ctx.model_path(cfg.encoder))  # noqa: E731
    eval_params = {
        "evaluate": cfg.evaluate.model_dump(mode="json"),
        "data_root": cfg.data_root,
        "encoder": cfg.encoder,
    }
    plan: list[Stage] = []
    for lang in cfg.languages:
        eval_files = _files_input(lambda lang=lang: ctx.eval_files(lang))
        plan.append(
            Stage(
                "evaluate", lang, "base", None, eval_params, S.run_evaluate,
                external={"encoder": encoder, "eval_data": eval_files},
            )
        )  # fmt: skip
        for arm in cfg.arms:
            source = _source_stage(ctx, lang, arm.name)
            filt = Stage(
                "filter",
                lang,
                arm.name,
                None,
                {
                    "filter": cfg.filter.model_dump(mode="json"),
                    "leakage_check": cfg.leakage_check,
                    "evaluate": cfg.evaluate.model_dump(mode="json"),
                    "merge_dev": cfg.merge.dev.model_dump(mode="json")
                    if cfg.merge.enabled
                    else None,
                },
                S.run_filter,
                needs={"triplets": (source, "triplets")},
                external={"eval_data": eval_files},
            )
            plan += [source, filt]
            for size in cfg.sizes:
                train = Stage(
                    "train", lang, arm.name, size,
                    {"train": cfg.train.model_dump(mode="json"), "encoder": cfg.encoder,
                     "size": size, "seed": cfg.seed},
                    S.run_train,
                    needs={"triplets": (filt, "kept")},
                    external={"encoder": encoder},
                )  # fmt: skip
                plan.append(train)
                needs = {"model": (train, "model")}
                if cfg.merge.enabled:
                    merge = Stage(
                        "merge", lang, arm.name, size,
                        {"merge": _merge_params(cfg), "encoder": cfg.encoder},
                        S.run_merge,
                        needs={"model": (train, "model")},
                        external={"encoder": encoder},
                    )  # fmt: skip
                    plan.append(merge)
                    needs["merged"] = (merge, "model")
                plan.append(
                    Stage(
                        "evaluate", lang, arm.name, size, eval_params, S.run_evaluate,
                        needs=needs, external={"eval_data": eval_files},
                    )
                )  # fmt: skip
    return plan


def _source_stage(ctx: RunContext, lang: str, arm_name: str) -> Stage:
    cfg = ctx.config
    arm = cfg.arm(arm_name)
    common = {"arm": arm.model_dump(mode="json"), "anchors": cfg.anchors, "seed": cfg.seed}
    if arm.kind == "synthetic":
        own = set(ARM_GENERATE_FIELDS)  # already in the arm's params
        params = common | {"generate": cfg.generate_for(arm).model_dump(mode="json", exclude=own)}
        seeds = S.seed_file(ctx, lang)
        return Stage(
            "generate", lang, arm.name, None, params, S.run_generate,
            external={"seeds": lambda: seeds},
        )  # fmt: skip
    if arm.kind == "parallel":
        root = S.sib200_root(cfg.resolve(arm.root))
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
            "mine", lang, arm.name, None, params, S.run_mine,
            external={"pairs": pairs, "pair_files": _files_input(pair_files)},
        )  # fmt: skip
    path = Path(cfg.resolve(str(arm.path)))
    return Stage(
        "import", lang, arm.name, None, common, S.run_import, external={"source": lambda: path}
    )


# --- preflight ---------------------------------------------------------------------------


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
            except SuiteError:
                problems.append(
                    f"evaluate.datasets: no data set of suite {suite.name!r} matches "
                    f"{ctx.eval_patterns(lang)} for {lang!r}; fix the patterns or the suite"
                )
            except (FileNotFoundError, ValueError) as exc:
                problems.append(f"evaluate: {lang}: {exc}; set data_root or fix the suite")
        for arm in cfg.arms:
            if arm.kind == "synthetic":
                seeds = S.seed_file(ctx, lang)
                if not seeds.is_file():
                    problems.append(
                        f"seeds.{lang}: seed file {seeds} not found; add `seeds: {{{lang}: "
                        "FILE}` (a shipped sample exists only for hau, kin, amh, swh)"
                    )
                gen = cfg.generate_for(arm)
                if gen.backend == "llamacpp":
                    from tripletforge.generate.generators import resolve_gguf

                    try:
                        resolve_gguf(gen.model)
                    except (ModuleNotFoundError, OSError) as exc:
                        problems.append(f"generate.model: {exc}")
            elif arm.kind == "parallel":
                from tripletforge.data.readers import sib200_folder

                root = S.sib200_root(cfg.resolve(arm.root))
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


# --- running -----------------------------------------------------------------------------


@contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the run folder (two runs never write the same run)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise RuntimeError(f"another `tripletforge run` is using {run_dir}") from None
        yield


def _input_record(stage: Stage, run_dir: Path) -> dict[str, Any] | None:
    """Input name → {path, sha256} (None when an upstream stage has not finished)."""
    record: dict[str, Any] = {}
    stage.inputs = {}
    for name, (upstream, output) in stage.needs.items():
        manifest = read_manifest(upstream.folder(run_dir))
        if not manifest or manifest.get("status") != "complete":
            return None
        item = manifest["outputs"][output]
        record[name] = item
        path = Path(item["path"])
        stage.inputs[name] = path if path.is_absolute() else run_dir / path
    for name, getter in stage.external.items():
        value = getter()
        text = str(value)
        if text.startswith("["):  # several files
            paths = json.loads(text)
            record[name] = [describe(p, run_dir) for p in paths]
        else:
            record[name] = describe(value, run_dir)
            stage.inputs[name] = value
    return record


def _decide(
    stage: Stage, manifest: dict[str, Any] | None, chash: str, inputs: Any, forced: bool,
    run_dir: Path,
) -> str:  # fmt: skip
    """``skip``, ``resume`` or ``fresh``."""
    same = (
        manifest is not None
        and manifest.get("config_hash") == chash
        and (manifest.get("inputs") == inputs)
    )
    if forced or not same or manifest is None:
        return "fresh"
    if manifest.get("status") == "complete" and outputs_exist(manifest, run_dir):
        return "skip"
    if manifest.get("status") == "running":
        return "resume"
    return "fresh"


def _stage_status(stage: Stage) -> dict[str, Any]:
    return {
        "key": stage.key,
        "status": stage.status,
        "seconds": round(stage.seconds, 2),
        "error": stage.error,
    }


@dataclass
class RunSummary:
    """What a run did, stage by stage."""

    run_dir: Path
    stages: list[Stage]
    seconds: float

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for stage in self.stages:
            out[stage.status] = out.get(stage.status, 0) + 1
        return out

    @property
    def ok(self) -> bool:
        return all(s.status in ("done", "skipped") for s in self.stages)


class Runner:
    """Runs a plan: ``Runner(config, run_dir).run()``."""

    def __init__(
        self,
        config: PipelineConfig,
        run_dir: Path | None = None,
        *,
        force: list[str] | None = None,
        console: Console | None = None,
        progress: bool = True,
        only: list[str] | None = None,
    ) -> None:
        from rich.console import Console

        self.config = config
        self.run_dir = Path(run_dir) if run_dir is not None else config.run_dir()
        self.force = list(force or [])
        self.only = list(only or [])
        self.console = console or Console(stderr=True)
        self.ctx = RunContext(config, self.run_dir, self.console, progress)

    def _forced(self, stage: Stage) -> bool:
        return any(
            p == stage.name or fnmatchcase(stage.key, p) or fnmatchcase(stage.key, f"{p}/*")
            for p in self.force
        )

    def _selected(self, stage: Stage) -> bool:
        if not self.only:
            return True
        return any(p == stage.name or fnmatchcase(stage.key, p) for p in self.only)

    def run(self) -> RunSummary:
        started = time.perf_counter()
        with run_lock(self.run_dir):
            preflight(self.ctx)
            self._write_run_files()
            plan = build_plan(self.ctx)
            events = JsonlAppender(self.run_dir / "events.jsonl")
            try:
                for stage in plan:
                    self._run_stage(stage, events)
                    gc.collect()  # models of finished stages go before the next loads its own
            finally:
                events.close()
                self.ctx.close()
            summary = RunSummary(self.run_dir, plan, time.perf_counter() - started)
            self._write_status(summary)
        return summary

    def _write_run_files(self) -> None:
        data = self.config.model_dump(mode="json")
        (self.run_dir / "config.yaml").write_text(
            yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        )

    def _write_status(self, summary: RunSummary) -> None:
        write_json_atomic(
            self.run_dir / "run.json",
            {
                "name": self.config.name,
                "config_hash": self.config.hash(),
                "finished_at": now(),
                "seconds": round(summary.seconds, 1),
                "counts": summary.counts(),
                "stages": [_stage_status(s) for s in summary.stages],
                "versions": library_versions(),
            },
        )

    def _event(self, events: JsonlAppender, stage: Stage, event: str, **extra: Any) -> None:
        events.write({"time": now(), "event": event, "stage": stage.name, "key": stage.key} | extra)

    def _run_stage(self, stage: Stage, events: JsonlAppender) -> None:
        run_dir = self.run_dir
        folder = stage.folder(run_dir)
        blocked = [u.key for u, _ in stage.needs.values() if u.status not in ("done", "skipped")]
        if blocked:
            stage.status = "blocked"
            stage.error = f"waits on {', '.join(blocked)}"
            self.console.print(f"[yellow]·[/] {stage.key:<34} blocked ({stage.error})")
            return
        if not self._selected(stage):
            manifest = read_manifest(folder)
            done = manifest is not None and manifest.get("status") == "complete"
            stage.status = "skipped" if done else "blocked"
            return
        try:
            inputs = _input_record(stage, run_dir)
        except (FileNotFoundError, ValueError, OSError) as exc:
            self._fail(stage, events, f"input: {exc}")
            return
        if inputs is None:
            stage.status = "blocked"
            return
        chash = config_hash({"stage": stage.name, "unit": stage.unit, **stage.params})
        manifest = read_manifest(folder)
        decision = _decide(stage, manifest, chash, inputs, self._forced(stage), run_dir)
        if decision == "skip":
            stage.status = "skipped"
            stage.seconds = float(manifest.get("seconds", 0.0)) if manifest else 0.0
            self._event(events, stage, "skip")
            self.console.print(f"[dim]✓ {stage.key:<34} finished earlier, skipped[/]")
            return
        if decision == "fresh":
            S.clear(folder)
        record = {
            "stage": stage.name,
            "unit": stage.unit,
            "lang": stage.lang,
            "arm": stage.arm,
            "size": stage.size,
            "status": "running",
            "config_hash": chash,
            "run_config_hash": self.config.hash(),
            "config": stage.params,
            "seed": self.config.seed,
            "inputs": inputs,
            "versions": library_versions(),
            "started_at": now(),
            "resumed": decision == "resume",
        }
        write_manifest(folder, record)
        self._event(events, stage, "start", resume=decision == "resume")
        verb = "resuming" if decision == "resume" else "running"
        self.console.print(f"[bold]▶ {stage.key:<34}[/] {verb}…")
        t0 = time.perf_counter()
        try:
            result = stage.fn(self.ctx, stage, folder)
            outputs = {k: describe(v, run_dir) for k, v in result.outputs.items()}
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # a failing unit is reported, the others go on
            stage.seconds = time.perf_counter() - t0
            self._fail(stage, events, f"{type(exc).__name__}: {exc}", record, folder)
            self.console.print(f"[dim]{traceback.format_exc(limit=3)}[/]", highlight=False)
            return
        stage.seconds = time.perf_counter() - t0
        record |= {
            "status": "complete",
            "outputs": outputs,
            "metrics": result.metrics,
            "finished_at": now(),
            "seconds": round(stage.seconds, 2),
        }
        write_manifest(folder, record)
        stage.status = "done"
        self._event(events, stage, "done", seconds=round(stage.seconds, 2))
        self.console.print(f"[green]✓ {stage.key:<34}[/] done in {stage.seconds:.1f} s")

    def _fail(
        self,
        stage: Stage,
        events: JsonlAppender,
        error: str,
        record: dict[str, Any] | None = None,
        folder: Path | None = None,
    ) -> None:
        stage.status, stage.error = "failed", error
        if record is not None and folder is not None:
            write_manifest(
                folder, record | {"status": "failed", "error": error, "finished_at": now()}
            )
        self._event(events, stage, "fail", error=error)
        self.console.print(f"[red]✗ {stage.key:<34} failed:[/] {error}", highlight=False)
