"""Shared plumbing of the readers: per-line decoding, CSV records with line numbers, validation.

Bad-row reasons are ``"<kind>: <detail>"`` so that :attr:`ReadReport.skipped_by_reason` groups
them by kind. The kinds used by the readers are the constants below.

CSV fields may be as large as :data:`FIELD_SIZE_LIMIT` characters (Python's default, 128 KiB,
would turn a long cell into a parse error).
"""

from __future__ import annotations

import csv
import math
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from tripletforge.data.schemas import BadRow, ReadReport, refuse_other_encodings

MISSING_FIELD = "missing field"
MALFORMED = "malformed row"
BAD_SCORE = "bad score"
OUT_OF_RANGE = "score out of range"
INVALID_UTF8 = "invalid UTF-8"
EMPTY_TEXT = "empty text"
EMPTY_LINE = "empty line"
MISALIGNED = "misaligned"
DUPLICATE_ID = "duplicate id"
NO_GOLD = "no gold score"
NOT_TEXT = "not text"
CONTROL_CHARACTER = "control character"

#: Largest CSV/TSV field accepted (characters).
FIELD_SIZE_LIMIT = 1 << 30
csv.field_size_limit(min(sys.maxsize, FIELD_SIZE_LIMIT))

_SURROGATE = re.compile("[\udc80-\udcff]")
#: C0 controls other than tab (line breaks included) and DEL: never part of one sentence.
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
#: The same without line feed and carriage return (evaluation texts may span lines: NusaX).
_CONTROL_BUT_BREAKS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def require_file(path: str | Path, what: str, hint: str = "") -> Path:
    """Return ``path`` as a Path, or raise FileNotFoundError naming what was expected."""
    path = Path(path)
    if not path.is_file():
        message = f"{what} not found: {path}"
        if path.is_dir():
            message = f"{what} must be a file, got the folder {path}"
        raise FileNotFoundError(f"{message}{'. ' + hint if hint else ''}")
    return path


def decode_lines(path: str | Path) -> list[str]:
    """Lines of a file (line endings kept), each decoded as UTF-8 on its own.

    Undecodable bytes become lone surrogates (``surrogateescape``) so one bad byte spoils one
    line only; :func:`utf8_error` finds them. A UTF-8 byte-order mark is dropped.

    Raises:
        ValueError: the file starts with a UTF-16/32 byte-order mark (convert it to UTF-8).
    """
    data = Path(path).read_bytes()
    refuse_other_encodings(data, path)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    parts = data.split(b"\n")
    raws = [part + b"\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    return [raw.decode("utf-8", "surrogateescape") for raw in raws]


def utf8_error(*texts: str) -> str | None:
    """The ``invalid UTF-8`` reason for texts that hold undecodable bytes, else None."""
    for text in texts:
        match = _SURROGATE.search(text)
        if match:
            byte = ord(match.group()) - 0xDC00
            return f"{INVALID_UTF8}: byte 0x{byte:02x} at character {match.start() + 1}"
    return None


def control_error(name: str, text: str, *, line_breaks: bool = False) -> str | None:
    """The ``control character`` reason when ``text`` holds one (a tab is text; a line break
    is text only with ``line_breaks=True``)."""
    if match := (_CONTROL_BUT_BREAKS if line_breaks else _CONTROL).search(text):
        return f"{CONTROL_CHARACTER}: U+{ord(match.group()):04X} in {name}"
    return None


def text_problem(name: str, value: object) -> str | None:
    """Why ``value`` cannot be the text field ``name`` (None: it can).

    Text must be a string that is not empty after stripping, holds no undecodable bytes and
    no control characters other than tab (so no line break: one cell is one sentence).
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{MISSING_FIELD}: {name}"
    if not isinstance(value, str):
        return f"{NOT_TEXT}: {name} is a {type(value).__name__}"
    if error := utf8_error(value):
        return f"{error} in {name}"
    if error := control_error(name, value):
        return error
    if not value.strip():
        return f"{EMPTY_TEXT}: {name}"
    return None


def strip_eol(line: str) -> str:
    """A line without its ``\\n`` / ``\\r\\n`` ending."""
    return line.rstrip("\r\n")


def csv_records(
    path: Path,
    report: ReadReport,
    *,
    delimiter: str = ",",
    quoted: bool = True,
    header: bool = True,
    spans: dict[int, int] | None = None,
    multiline: bool = True,
) -> tuple[list[str] | None, list[tuple[int, list[str]]]]:
    """Parse a CSV/TSV file into ``(header, [(line, fields), ...])``.

    ``line`` is the 1-based physical line a record starts on (records may span lines inside
    quotes). Every data record counts in ``report.rows_read``; blank lines, parse errors and
    undecodable bytes are reported and left out. ``quoted=False`` treats ``"`` as a plain
    character (TSV files whose text holds unbalanced quotes). A record whose opening quote is
    never closed (it would swallow the lines after it) is reported over all its lines.
    ``spans``, when given, receives
    ``start line → last line`` of every returned record that spans several lines, so a caller
    that rejects one can report every line it covers. With ``multiline=False`` a record may not
    span lines (a quoted line break, or a stray quote that joined the lines after it): it is
    reported as malformed over all its lines.
    """
    lines = decode_lines(path)
    quoting = csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE
    reader = csv.reader(lines, delimiter=delimiter, quoting=quoting)
    head: list[str] | None = None
    records: list[tuple[int, list[str]]] = []
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            report.rows_read += 1
            report.skip(start, f"{MALFORMED}: {exc}", _last(start, reader.line_num))
            continue
        end = _last(start, reader.line_num)
        if header and head is None:
            head = [field.strip() for field in fields]
            if error := utf8_error(*head):
                raise ValueError(f"{path}: header line: {error}")
            continue
        report.rows_read += 1
        if not fields or all(not field.strip() for field in fields):
            report.skip(start, EMPTY_LINE, end)
            continue
        if error := utf8_error(*fields):
            report.skip(start, error, end)
            continue
        if quoted and end is not None and "".join(lines[start - 1 : end]).count('"') % 2:
            # a quote opened and never closed swallowed the lines after it
            report.skip(start, f"{MALFORMED}: unclosed quote", end)
            continue
        if end is not None and not multiline:
            report.skip(start, f"{MALFORMED}: a quoted field spans lines {start}-{end}", end)
            continue
        if end is not None and spans is not None:
            spans[start] = end
        records.append((start, fields))
    if header and head is None:
        raise ValueError(f"{path}: empty file, expected a header line")
    return head, records


def _last(start: int, end: int) -> int | None:
    """The last line of a record that started on ``start`` (None when it is one line)."""
    return end if end > start else None


def find_column(header: list[str], names: Iterable[str], path: Path) -> int:
    """Index of the first header column matching one of ``names`` (case-insensitive)."""
    lowered = [column.lower() for column in header]
    wanted = list(names)
    for name in wanted:
        if name.lower() in lowered:
            return lowered.index(name.lower())
    raise ValueError(f"{path}: no column {' / '.join(wanted)} in header {header}")


def parse_score(raw: object) -> tuple[float | None, str | None]:
    """``(score, None)`` for a finite number, else ``(None, reason)``."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, f"{MISSING_FIELD}: score"
    try:
        value = float(raw.strip() if isinstance(raw, str) else raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None, f"{BAD_SCORE}: {str(raw)[:40]!r} is not a number"
    if not math.isfinite(value):
        return None, f"{BAD_SCORE}: {raw!r} is not finite"
    return value, None


def clean(text: object) -> str:
    """Text of a field, stripped; None and NaN (missing in pandas) give ''."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    return str(text).strip()


def skip_at(report: ReadReport, path: str | Path, line: int, reason: str) -> None:
    """Record a skipped row that belongs to another file than ``report.path``."""
    report.bad_rows.append(BadRow(str(path), line, reason))


class PairCollector:
    """Validates and accumulates scored pairs, reporting each rejected row."""

    def __init__(self, report: ReadReport, score_range: tuple[float, float] | None = None):
        self.report = report
        self.score_range = score_range
        self.sentence1: list[str] = []
        self.sentence2: list[str] = []
        self.scores: list[float] = []

    def add(
        self, line: int, s1: object, s2: object, raw_score: object, path: str | None = None
    ) -> bool:
        """Keep the pair or record why not; return whether it was kept."""
        first, second = clean(s1), clean(s2)
        score, reason = self._check(first, second, raw_score)
        if reason is not None or score is None:
            skip_at(self.report, path or self.report.path, line, reason or BAD_SCORE)
            return False
        self.sentence1.append(first)
        self.sentence2.append(second)
        self.scores.append(score)
        self.report.rows_kept += 1
        return True

    def _check(self, s1: str, s2: str, raw_score: object) -> tuple[float | None, str | None]:
        if error := utf8_error(s1, s2):
            return None, error
        for label, text in (("sentence1", s1), ("sentence2", s2)):
            if error := control_error(label, text, line_breaks=True):
                return None, error
            if not text:
                return None, f"{EMPTY_TEXT}: {label}"
        score, error = parse_score(raw_score)
        if error is None and score is not None and self.score_range is not None:
            low, high = self.score_range
            if not low <= score <= high:
                return None, f"{OUT_OF_RANGE}: {score:g} not in [{low:g}, {high:g}]"
        return score, error


class BitextCollector:
    """Validates and accumulates translation pairs, reporting each rejected row.

    A bad side is reported in its own file (``source_path`` / ``target_path``, both
    ``report.path`` unless given) at its own line.
    """

    def __init__(
        self,
        report: ReadReport,
        source_path: str | Path | None = None,
        target_path: str | Path | None = None,
    ):
        self.report = report
        self.paths = (str(source_path or report.path), str(target_path or report.path))
        self.source: list[str] = []
        self.target: list[str] = []

    def add(
        self, line: int, source: object, target: object, target_line: int | None = None
    ) -> bool:
        """Keep the pair or record why not (``target_line`` defaults to ``line``)."""
        src, tgt = clean(source), clean(target)
        where = (self.paths[0], line)
        reason = utf8_error(src) or control_error("source", src, line_breaks=True)
        if reason is None and not src:
            reason = f"{EMPTY_TEXT}: source"
        if reason is None:
            where = (self.paths[1], line if target_line is None else target_line)
            reason = utf8_error(tgt) or control_error("target", tgt, line_breaks=True)
            reason = reason or (None if tgt else f"{EMPTY_TEXT}: target")
        if reason is not None:
            skip_at(self.report, where[0], where[1], reason)
            return False
        self.source.append(src)
        self.target.append(tgt)
        self.report.rows_kept += 1
        return True


def numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, text without line ending)`` for each line of a file."""
    for number, line in enumerate(decode_lines(path), start=1):
        yield number, strip_eol(line)
