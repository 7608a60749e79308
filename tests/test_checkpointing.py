"""Complete checkpoints: marked after the save, every listed file still whole."""

from __future__ import annotations

from pathlib import Path

from tripletforge.checkpointing import (
    CHECKPOINT_MARK,
    checkpoint_step,
    complete_checkpoints,
    drop_unfinished_checkpoints,
    is_complete,
    latest_complete_checkpoint,
    read_mark,
    write_mark,
)


def _checkpoint(root: Path, step: int, mark: bool = True) -> Path:
    folder = root / f"checkpoint-{step}"
    (folder / "sub").mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"w" * 64)
    (folder / "trainer_state.json").write_text(f'{{"global_step": {step}}}')
    (folder / "sub" / "config.json").write_text("{}")
    if mark:
        write_mark(folder, {"fingerprint": {"data": "abc"}})
    return folder


def test_mark_lists_files_and_keeps_extra(tmp_path: Path) -> None:
    folder = _checkpoint(tmp_path, 3)
    mark = read_mark(folder)
    assert mark["fingerprint"] == {"data": "abc"}
    assert mark["files"] == {"model.safetensors": 64, "sub/config.json": 2,
                             "trainer_state.json": 18}  # fmt: skip
    assert is_complete(folder) and checkpoint_step(folder) == 3
    assert not any(p.name.endswith(".tmp") for p in folder.iterdir())


def test_missing_truncated_or_unmarked_is_incomplete(tmp_path: Path) -> None:
    gone = _checkpoint(tmp_path, 1)
    (gone / "trainer_state.json").unlink()  # a rotation cut half-way
    short = _checkpoint(tmp_path, 2)
    (short / "model.safetensors").write_bytes(b"w" * 10)
    unmarked = _checkpoint(tmp_path, 3, mark=False)  # the save never finished
    broken = _checkpoint(tmp_path, 4)
    (broken / CHECKPOINT_MARK).write_text('{"files": ')
    empty = _checkpoint(tmp_path, 5)
    (empty / CHECKPOINT_MARK).write_text('{"files": {}}')
    assert not any(is_complete(p) for p in (gone, short, unmarked, broken, empty))


def test_latest_complete_and_drop_unfinished(tmp_path: Path) -> None:
    assert latest_complete_checkpoint(tmp_path / "absent") is None
    assert drop_unfinished_checkpoints(tmp_path / "absent") == []
    whole = [_checkpoint(tmp_path, s) for s in (2, 10)]
    cut = _checkpoint(tmp_path, 12, mark=False)
    (tmp_path / "notes").mkdir()  # not a checkpoint: left alone
    assert complete_checkpoints(tmp_path) == whole  # step order, not name order
    assert latest_complete_checkpoint(tmp_path) == whole[-1]
    assert drop_unfinished_checkpoints(tmp_path) == [cut]
    assert not cut.exists() and (tmp_path / "notes").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-10", "checkpoint-2", "notes"]


def test_merge_lists_only_complete_checkpoints_where_marks_exist(tmp_path: Path) -> None:
    from tripletforge.merge.checkpoints import list_checkpoints

    ours = tmp_path / "ours" / "checkpoints"
    whole = _checkpoint(ours, 2)
    _checkpoint(ours, 4, mark=False)  # cut off: has weights but no mark
    assert list_checkpoints(ours.parent) == [whole]
    theirs = tmp_path / "theirs"  # another trainer's run: no marks anywhere
    plain = [_checkpoint(theirs, s, mark=False) for s in (1, 2)]
    assert list_checkpoints(theirs) == plain
