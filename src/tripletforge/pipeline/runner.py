"""Run the stages of a plan, skipping what is finished.

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

The parts of a run live next to this loop: the shared context
(:mod:`~tripletforge.pipeline.context`), the plan (:mod:`~tripletforge.pipeline.plan`), the
preflight checks (:mod:`~tripletforge.pipeline.preflight`) and the stage functions
(:mod:`~tripletforge.pipeline.stages`).
"""

from __future__ import annotations

import fcntl
import gc
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from tripletforge.data.jsonl import JsonlAppender
from tripletforge.pipeline.config import PipelineConfig, config_hash
from tripletforge.pipeline.context import RunContext
from tripletforge.pipeline.decide import decide, input_record
from tripletforge.pipeline.display import StageDisplay
from tripletforge.pipeline.manifest import (
    describe,
    now,
    read_manifest,
    write_json_atomic,
    write_manifest,
)
from tripletforge.pipeline.plan import Stage, build_plan
from tripletforge.pipeline.preflight import preflight
from tripletforge.pipeline.stages import STAGES, clear
from tripletforge.provenance import library_versions

if TYPE_CHECKING:
    from rich.console import Console

log = logging.getLogger(__name__)


class RunLockedError(RuntimeError):
    """Another process is running the same run folder."""


@contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the run folder (two runs never write the same run)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise RunLockedError(
                f"another `tripletforge run` is using {run_dir}; wait for it or use another "
                "--runs-dir"
            ) from None
        yield


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
        quiet: bool = False,
        only: list[str] | None = None,
    ) -> None:
        import rich

        self.config = config
        self.run_dir = Path(run_dir) if run_dir is not None else config.run_dir()
        self.force = list(force or [])
        self.only = list(only or [])
        self.console = console or rich.get_console()
        # the stage libraries draw no display of their own: they report into the runner's
        self.ctx = RunContext(config, self.run_dir, self.console, progress=False)
        self.display = StageDisplay(self.console, progress=progress, quiet=quiet)

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
            self.display.blocked(stage)
            return
        if not self._selected(stage):
            manifest = read_manifest(folder)
            done = manifest is not None and manifest.get("status") == "complete"
            stage.status = "skipped" if done else "blocked"
            return
        try:
            inputs = input_record(stage, run_dir)
        except (FileNotFoundError, ValueError, OSError) as exc:
            self._fail(stage, events, f"input: {exc}")
            return
        if inputs is None:
            stage.status = "blocked"
            return
        chash = config_hash({"stage": stage.name, "unit": stage.unit, **stage.params})
        manifest = read_manifest(folder)
        decision, _ = decide(manifest, chash, inputs, self._forced(stage), run_dir)
        if decision == "skip":
            stage.status = "skipped"
            stage.seconds = float(manifest.get("seconds", 0.0)) if manifest else 0.0
            self._event(events, stage, "skip")
            self.display.skipped(stage)
            return
        if decision == "fresh":
            clear(folder)
        record = {
            "stage": stage.name,
            "unit": stage.unit,
            "lang": stage.lang,
            "arm": stage.arm,
            "size": stage.size,
            **({"task": stage.task} if stage.task is not None else {}),
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
        t0 = time.perf_counter()
        try:
            with self.display.running(stage, verb):
                result = STAGES[stage.name](self.ctx, stage, folder)
                outputs = {k: describe(v, run_dir) for k, v in result.outputs.items()}
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # a failing unit is reported, the others go on
            stage.seconds = time.perf_counter() - t0
            log.exception("stage %s failed", stage.key)  # the traceback goes to the log
            self._fail(stage, events, f"{type(exc).__name__}: {exc}", record, folder)
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
        self.display.failed(stage)
