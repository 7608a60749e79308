"""Stage manifests: what a stage was run with, on which inputs, and what it wrote.

Every stage folder holds ``manifest.json``, written atomically (temporary file + rename)::

    {"stage": "train", "unit": "hau/icl/64", "status": "running" | "complete" | "failed",
     "config_hash": "…", "config": {…}, "run_config_hash": "…", "seed": 0,
     "inputs": {"triplets": {"path": "…", "sha256": "…"}},
     "outputs": {"model": {"path": "…", "sha256": "…"}}, "metrics": {…},
     "versions": {"torch": "…", …}, "started_at": "…", "finished_at": "…", "seconds": 1.0}

A stage is finished when its manifest says ``complete`` and its outputs still exist.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tripletforge.data.jsonl import strict_dumps

MANIFEST = "manifest.json"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file, cached by path, size and mtime (see generators.model_sha256)."""
    from tripletforge.generate.generators import model_sha256

    digest = model_sha256(str(path)) if Path(path).is_file() else None
    if digest is None:
        raise FileNotFoundError(f"cannot hash {path}: not a file")
    return digest


def path_sha256(path: str | Path) -> str:
    """SHA-256 of a file, or of a folder's files (relative names and contents, sorted).

    In a folder, checkpoints, hidden files and the model card (``README.md``, which the
    evaluate stage updates with results) are left out: a model's identity is its weights and
    configuration, as for the evaluation fingerprint.
    """
    path = Path(path)
    if path.is_file():
        return file_sha256(path)
    if not path.is_dir():
        raise FileNotFoundError(f"cannot hash {path}: it does not exist")
    digest = hashlib.sha256()
    for item in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = item.relative_to(path).as_posix()
        if rel.startswith(("checkpoints/", ".")) or item.name == "README.md":
            continue
        digest.update(f"{rel}\x00{file_sha256(item)}\n".encode())
    return digest.hexdigest()


def describe(path: str | Path, root: Path | None = None) -> dict[str, str]:
    """``{"path", "sha256"}`` of a file or folder (path relative to ``root`` when inside)."""
    path = Path(path)
    shown = str(path)
    if root is not None:
        with contextlib.suppress(ValueError):  # outside the run folder: absolute
            shown = path.resolve().relative_to(root.resolve()).as_posix()
    return {"path": shown, "sha256": path_sha256(path)}


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` via a temporary file and rename (never half-written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(strict_dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


def read_manifest(folder: str | Path) -> dict[str, Any] | None:
    """The manifest of a stage folder, or None when absent or unreadable."""
    path = Path(folder) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_manifest(folder: str | Path, data: dict[str, Any]) -> Path:
    path = Path(folder) / MANIFEST
    write_json_atomic(path, data)
    return path


def outputs_exist(manifest: dict[str, Any], run_dir: Path) -> bool:
    """Whether every output a manifest lists is still on disk."""
    for item in (manifest.get("outputs") or {}).values():
        path = Path(item["path"])
        if not path.is_absolute():
            path = run_dir / path
        if not path.exists():
            return False
    return True
