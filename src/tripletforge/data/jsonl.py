"""Append-only JSONL artifacts that survive a kill, and strict JSON for every file written.

Writers append whole lines and flush+fsync each batch; readers tolerate a torn last line
(a run killed mid-write) and report, never crash on, malformed lines in the middle.

Every JSON file or line the package writes goes through :func:`strict_dumps`: NaN and
±Infinity (which strict JSON parsers reject) become ``null``, numpy scalars become Python
numbers, and ``json.dumps`` runs with ``allow_nan=False``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from tripletforge.data.schemas import ReadReport, refuse_other_encodings


def finite_json(value: Any) -> Any:
    """``value`` with NaN/±inf floats replaced by None (recursively; numpy scalars unwrapped)."""
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_json(v) for v in value]
    item = getattr(value, "item", None)
    if item is not None and type(value).__module__ == "numpy" and getattr(value, "ndim", 1) == 0:
        value = item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def strict_dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` of :func:`finite_json` (``value``) with ``allow_nan=False``.

    Keyword arguments go to ``json.dumps`` (``indent``, ``ensure_ascii``, ``default``…).
    """
    kwargs["allow_nan"] = False
    default = kwargs.get("default")
    if default is not None:
        value = json.loads(json.dumps(value, default=default, allow_nan=True))
    return json.dumps(finite_json(value), **kwargs)


def iter_jsonl(path: str | Path, report: ReadReport | None = None) -> Iterator[dict[str, Any]]:
    """Yield the JSON objects of a JSONL file, skipping (and reporting) bad lines.

    A last line without its newline is a torn write from a killed run: it is skipped and
    reported as ``torn last line``; :func:`repair_torn_tail` removes it before appending.
    """
    path = Path(path)
    if not path.exists():
        return
    with open(path, "rb") as handle:
        data = handle.read()
    refuse_other_encodings(data, path)
    lines = data.split(b"\n")
    torn = lines[-1] != b""
    if not torn:
        lines = lines[:-1]
    for number, raw in enumerate(lines, start=1):
        if report is not None:
            report.rows_read += 1
        if torn and number == len(lines):
            if report is not None:
                report.skip(number, "torn last line: incomplete write from an interrupted run")
            return
        if not raw.strip():
            if report is not None:
                report.skip(number, "empty line")
            continue
        try:
            row = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            if report is not None:
                report.skip(number, f"invalid UTF-8: {exc.reason}")
            continue
        except json.JSONDecodeError as exc:
            if report is not None:
                report.skip(number, f"malformed JSON: {exc.msg}")
            continue
        if not isinstance(row, dict):
            if report is not None:
                report.skip(number, "malformed JSON: not an object")
            continue
        if report is not None:
            report.rows_kept += 1
        yield row


def read_jsonl(path: str | Path) -> tuple[list[dict[str, Any]], ReadReport]:
    """Read a whole JSONL file; return its rows and a report of skipped lines."""
    report = ReadReport(str(path))
    rows = list(iter_jsonl(path, report))
    return rows, report


def repair_torn_tail(path: str | Path) -> int:
    """Truncate a torn last line (no trailing newline); return the bytes removed."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return 0
    with open(path, "rb+") as handle:
        data = handle.read()
        if data.endswith(b"\n"):
            return 0
        keep = data.rfind(b"\n") + 1
        handle.truncate(keep)
        return len(data) - keep


class JsonlAppender:
    """Append rows to a JSONL file durably (line-atomic, fsync on flush).

    >>> with JsonlAppender("out.jsonl") as out:
    ...     out.write({"anchor": "a", "positive": "b", "negative": "c"})
    """

    def __init__(self, path: str | Path, fsync: bool = True) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        repair_torn_tail(self.path)
        self._handle = open(self.path, "ab")  # noqa: SIM115  (closed in close())
        self._fsync = fsync

    def write(self, row: Mapping[str, Any]) -> None:
        self.write_many([row])

    def write_many(self, rows: Iterable[Mapping[str, Any]]) -> None:
        payload = b"".join(
            (strict_dumps(dict(row), ensure_ascii=False) + "\n").encode("utf-8") for row in rows
        )
        if not payload:
            return
        self._handle.write(payload)
        self._handle.flush()
        if self._fsync:
            os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
