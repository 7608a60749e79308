"""Checkpoints a training run finished writing, so a killed run resumes from a whole one.

transformers' ``Trainer`` writes ``checkpoint-N`` file by file (the model, then the optimizer,
scheduler and RNG states, then ``trainer_state.json``) and then deletes the oldest checkpoints
beyond ``save_total_limit``. A ``kill -9`` at any moment of that leaves a folder that
``transformers.trainer_utils.get_last_checkpoint`` still returns (it looks at names only), and
``trainer.train(resume_from_checkpoint=...)`` then fails on a missing file.

So every trainer of the project (the encoder, :mod:`tripletforge.train`; the generator
adapters, :mod:`tripletforge.adapters`) adds :func:`mark_callback`: once the trainer has saved
a checkpoint (``on_save`` runs after the save and the rotation), it writes
``tripletforge_checkpoint.json`` into it, with the name and size of every file there and what
the caller wants to keep. A checkpoint is **complete** when that mark is there and every file it
lists is still there with the same size (a rotation killed half-way removes some); only complete
checkpoints are resumed from, and :func:`drop_unfinished_checkpoints` removes the others before
a resume.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHECKPOINT_MARK = "tripletforge_checkpoint.json"
_MARK_TMP = f".{CHECKPOINT_MARK}.tmp"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def checkpoint_step(path: str | Path) -> int:
    """The step N of a ``checkpoint-N`` folder; -1 for any other name."""
    match = _CHECKPOINT.match(Path(path).name)
    return int(match.group(1)) if match else -1


def file_sizes(folder: Path) -> dict[str, int]:
    """``{relative path: bytes}`` of every file under ``folder`` but the mark."""
    return {
        p.relative_to(folder).as_posix(): p.stat().st_size
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in (CHECKPOINT_MARK, _MARK_TMP)
    }


def write_mark(folder: Path, extra: dict[str, Any] | None = None) -> None:
    """Mark ``folder`` complete: its files and sizes, plus ``extra`` (JSON-serialisable)."""
    from tripletforge.data.jsonl import strict_dumps

    mark = {**(extra or {}), "files": file_sizes(folder)}
    tmp = folder / _MARK_TMP
    tmp.write_text(strict_dumps(mark) + "\n", encoding="utf-8")
    tmp.replace(folder / CHECKPOINT_MARK)  # the mark appears whole or not at all


def read_mark(folder: Path) -> dict[str, Any] | None:
    """The mark of ``folder``, or None when it has none or it cannot be read."""
    try:
        mark = json.loads((folder / CHECKPOINT_MARK).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return mark if isinstance(mark, dict) else None


def is_complete(folder: Path) -> bool:
    """Whether ``folder`` is marked and every file its mark lists has the size it had then."""
    mark = read_mark(folder)
    if mark is None:
        return False
    files = mark.get("files")
    if not isinstance(files, dict) or not files:
        return False
    for name, size in files.items():
        path = folder / name
        try:
            if path.stat().st_size != size:
                return False
        except OSError:
            return False
    return True


def complete_checkpoints(root: Path) -> list[Path]:
    """The complete ``checkpoint-N`` folders of ``root``, oldest (smallest N) first."""
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if checkpoint_step(p) >= 0 and is_complete(p)]
    return sorted(found, key=checkpoint_step)


def latest_complete_checkpoint(root: Path) -> Path | None:
    """The newest complete checkpoint of ``root``, or None."""
    found = complete_checkpoints(root)
    return found[-1] if found else None


def drop_unfinished_checkpoints(root: Path) -> list[Path]:
    """Remove the ``checkpoint-N`` folders of ``root`` that are not complete; returns them."""
    if not root.is_dir():
        return []
    dropped = [p for p in root.iterdir() if checkpoint_step(p) >= 0 and not is_complete(p)]
    for path in dropped:
        shutil.rmtree(path, ignore_errors=True)
    return sorted(dropped, key=checkpoint_step)


def mark_callback(extra: Callable[[], dict[str, Any]] | None = None) -> Any:
    """A ``TrainerCallback`` that marks each checkpoint once the trainer has saved it.

    ``extra()`` is called at each save; what it returns is stored in the mark (the adapter
    trainer keeps its data fingerprint and step times there). Only the main process writes.
    """
    from transformers import TrainerCallback

    class MarkCheckpoint(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
                if folder.is_dir():
                    write_mark(folder, extra() if extra is not None else None)

    return MarkCheckpoint()
