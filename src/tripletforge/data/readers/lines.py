"""The one reader of "one sentence per line" text files.

Used for seed ``.txt`` files, mining corpora, plain-text leakage sets, language-adapter text
and the SNLI token files. Each line is decoded on its own (one bad byte spoils one line, which
is reported as ``invalid UTF-8``); a UTF-8 byte-order mark at the start is dropped; line
endings (``\n`` or ``\r\n``) and surrounding whitespace are removed. Empty lines are
reported and skipped unless ``skip_empty=False``; lines still holding control characters
(other than tab, e.g. NUL or a carriage return inside the line) are reported and skipped unless
``reject_control=False``.
"""

from __future__ import annotations

from pathlib import Path

from tripletforge.data.readers._common import (
    EMPTY_LINE,
    control_error,
    decode_lines,
    require_file,
    strip_eol,
    utf8_error,
)
from tripletforge.data.schemas import ReadReport

#: ``(line number, text)`` of one line.
Line = tuple[int, str]


def read_lines(
    path: str | Path,
    report: ReadReport | None = None,
    *,
    skip_empty: bool = True,
    reject_control: bool = True,
    what: str = "text file",
) -> tuple[list[Line], ReadReport]:
    """``([(line, text), ...], report)`` of a text file, one sentence per line.

    Every line counts in ``report.rows_read``; those returned in ``report.rows_kept``.
    Raises ``FileNotFoundError`` naming ``what`` when the file does not exist.
    """
    path = require_file(path, what)
    report = report if report is not None else ReadReport(str(path))
    out: list[Line] = []
    for number, raw in enumerate(decode_lines(path), start=1):
        report.rows_read += 1
        text = strip_eol(raw).strip()
        reason = utf8_error(text)
        if reason is None and reject_control:
            reason = control_error("line", text)
        if reason is None and skip_empty and not text:
            reason = EMPTY_LINE
        if reason is not None:
            report.skip(number, reason)
            continue
        out.append((number, text))
        report.rows_kept += 1
    return out, report
