"""Whether a stage runs, resumes or is skipped, and why; the dry run of ``run --plan``.

A stage is **skipped** when its manifest is ``complete`` with the same stage-config hash and
the same input hashes and its outputs exist; a stage left ``running`` by a killed run with the
same config and inputs **resumes**; anything else runs **fresh** (its folder is cleared).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tripletforge.pipeline.manifest import describe, outputs_exist, read_manifest
from tripletforge.pipeline.plan import FileSet

if TYPE_CHECKING:
    from tripletforge.pipeline.plan import Stage


def input_record(stage: Stage, run_dir: Path) -> dict[str, Any] | None:
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
        if isinstance(value, FileSet):
            record[name] = [describe(p, run_dir) for p in value.paths]
        else:
            record[name] = describe(value, run_dir)
        stage.inputs[name] = value
    return record


def _changed(old: Any, new: Any) -> list[str]:
    if not isinstance(old, dict) or not isinstance(new, dict):
        return []
    return sorted(str(k) for k in set(old) | set(new) if old.get(k) != new.get(k))


def decide(
    manifest: dict[str, Any] | None,
    chash: str,
    inputs: Any,
    forced: bool,
    run_dir: Path,
    params: dict[str, Any] | None = None,
) -> tuple[str, str]:
    """``(decision, reason)``: decision is ``skip``, ``resume`` or ``fresh``.

    ``params`` (the stage's settings) only names what changed in the reason.
    """
    if forced:
        return "fresh", "forced (--force)"
    if manifest is None:
        return "fresh", "not run yet"
    if manifest.get("config_hash") != chash:
        changed = _changed(manifest.get("config"), params)
        return "fresh", "settings changed" + (f": {', '.join(changed)}" if changed else "")
    if manifest.get("inputs") != inputs:
        changed = _changed(manifest.get("inputs") or {}, inputs or {})
        return "fresh", f"input changed: {', '.join(changed) or '?'}"
    status = manifest.get("status")
    if status == "complete":
        if outputs_exist(manifest, run_dir):
            return "skip", "done, same settings and inputs"
        return "fresh", "an output is missing"
    if status == "running":
        return "resume", "stopped while running (resumes from its checkpoint / last write)"
    return "fresh", f"last attempt {status or 'unfinished'}"


@dataclass
class PlannedStage:
    """One line of ``run --plan``: a stage, what the run would do with it, and why."""

    key: str
    name: str
    action: str  # run | resume | skip | blocked
    reason: str


def explain(runner: Any) -> list[PlannedStage]:
    """What ``runner.run()`` would do with each stage, without running or writing anything.

    A stage whose upstream would run is listed as ``run`` (its inputs are not known yet).
    """
    from tripletforge.pipeline.config import config_hash
    from tripletforge.pipeline.plan import build_plan
    from tripletforge.pipeline.preflight import preflight

    preflight(runner.ctx)
    plan = build_plan(runner.ctx)
    out: list[PlannedStage] = []
    redone: set[str] = set()
    for stage in plan:
        action, reason = _explain_one(runner, stage, redone, config_hash)
        if action in ("run", "resume"):
            redone.add(stage.key)
        out.append(PlannedStage(stage.key, stage.name, action, reason))
    return out


def _explain_one(runner: Any, stage: Stage, redone: set[str], config_hash: Any) -> tuple[str, str]:
    folder = stage.folder(runner.run_dir)
    if not runner._selected(stage):
        done = (read_manifest(folder) or {}).get("status") == "complete"
        return ("skip", "not selected by --only") if done else ("blocked", "not selected by --only")
    upstream = list(dict.fromkeys(u.key for u, _ in stage.needs.values() if u.key in redone))
    if upstream:
        return "run", f"after {', '.join(upstream)}"
    try:
        inputs = input_record(stage, runner.run_dir)
    except (FileNotFoundError, ValueError, OSError) as exc:
        return "run", f"would fail: input: {exc}"
    if inputs is None:
        return "blocked", "an upstream stage has not finished"
    chash = config_hash({"stage": stage.name, "unit": stage.unit, **stage.params})
    manifest = read_manifest(folder)
    forced = runner._forced(stage)
    decision, reason = decide(manifest, chash, inputs, forced, runner.run_dir, stage.params)
    return {"fresh": "run"}.get(decision, decision), reason
