"""User tables go through one careful reader: examples of issue 13.5 and a property test.

The property test feeds generated malformed rows (quotes, tabs, CR/LF, BOM, NUL, invalid
UTF-8, empty cells, huge cells, broken JSON, unclosed quotes) through every user-table reader
and checks the contract: no crash, and every written row is either kept unchanged (after the
reader's documented normalisation) or counted with file, line and reason. Each reader test
runs 50 generated files of 20-40 rows: over 1,000 rows per reader.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tripletforge.data.evalsets import eval_sentences, read_scored_pairs
from tripletforge.data.pairs import read_anchor_pairs, read_corpus
from tripletforge.data.readers.lines import read_lines
from tripletforge.data.schemas import ReadReport
from tripletforge.data.seeds import read_seeds
from tripletforge.data.triplets import read_triplets
from tripletforge.data.xllora import read_xllora_pairs

# --- the examples of the issue -------------------------------------------------------------


def test_tsv_triplets_keep_quotes_as_text(tmp_path: Path) -> None:
    path = tmp_path / "hau.tsv"
    rows = [
        ('"Ina zuwa kasuwa," in ji Musa.', "Musa yana zuwa kasuwa.", "Musa yana gida."),
        ("Yara suna wasa a waje.", "Yara suna waje.", 'Babu yaro "a waje".'),
    ]
    path.write_text(
        "anchor\tpositive\tnegative\n" + "".join("\t".join(r) + "\n" for r in rows),
        encoding="utf-8",
    )
    kept, report = read_triplets(path)
    assert [(r["anchor"], r["positive"], r["negative"]) for r in kept] == rows
    assert report.rows_read == 2 and not report.bad_rows


def _dev_csv(path: Path, rows: Sequence[tuple[str, str, str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sentence1", "sentence2", "score"])
        writer.writerows(rows)
    return path


DEV_ROWS = [
    ("Yara suna wasa.", "Yara suna gudu sosai.", "4.5"),
    ("", "Ina son karatu.", "3.0"),  # empty sentence cell
    ("Ina son karatu.", "Ina son karanta jarida.", ""),  # empty score cell
    ("Mota ta tsaya.", "Ruwa yana zuba.", "0.5"),
]


def test_dev_pairs_with_empty_cells_are_counted(tmp_path: Path) -> None:
    pairs = read_scored_pairs(_dev_csv(tmp_path / "dev.csv", DEV_ROWS))
    assert pairs.sentence1 == ["Yara suna wasa.", "Mota ta tsaya."] and pairs.scores == [4.5, 0.5]
    assert pairs.report is not None
    assert [(b.line, b.reason) for b in pairs.report.bad_rows] == [
        (3, "empty text: sentence1"),
        (4, "missing field: score"),
    ]


def _triplets(path: Path) -> Path:
    from conftest import TINY_CORPUS

    rows = [
        {"anchor": a, "positive": p, "negative": n}
        for a, p, n in zip(TINY_CORPUS[:8], TINY_CORPUS[2:10], TINY_CORPUS[4:12], strict=True)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_train_with_a_dev_file_with_empty_cells(tiny_encoder_dir: Path, tmp_path: Path) -> None:
    """Was: `Unsupported input type: float` after the first step; now two rows are skipped."""
    from tripletforge.train import TrainConfig, train_encoder

    dev = _dev_csv(tmp_path / "dev.csv", DEV_ROWS * 2)
    config = TrainConfig(
        model=str(tiny_encoder_dir),
        train_files=[_triplets(tmp_path / "train.jsonl")],
        output_dir=tmp_path / "model",
        batch_size=4,
        max_steps=2,
        eval_steps=1,
        save_steps=1,
        dev_set=str(dev),
    )
    out = train_encoder(config)
    prov = json.loads((out / "tripletforge_training.json").read_text())
    assert prov["global_step"] == 2 and prov["final_dev"]["dev_spearman_cosine"] is not None


def test_tsv_triplets_through_the_filter_cli(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tripletforge.cli.main import app
    from tripletforge.data.jsonl import read_jsonl

    path = tmp_path / "hau.tsv"
    anchor = '"Ina zuwa kasuwa," in ji Musa.'
    path.write_text(
        f"anchor\tpositive\tnegative\n{anchor}\tMusa yana zuwa kasuwa.\tMusa yana gida.\n",
        encoding="utf-8",
    )
    out = tmp_path / "kept.jsonl"
    result = CliRunner().invoke(app, ["filter", str(path), "-o", str(out), "--filters", "length"])
    assert result.exit_code == 0, result.output
    rows, _ = read_jsonl(out)
    assert [r["anchor"] for r in rows] == [anchor]


def test_dev_file_without_a_valid_row_fails_before_training(
    tiny_encoder_dir: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from tripletforge.cli.main import app

    dev = _dev_csv(tmp_path / "bad-dev.csv", DEV_ROWS[1:3])
    out = tmp_path / "model"
    args = ["train", str(_triplets(tmp_path / "t.jsonl")), "-o", str(out)]
    args += ["--model", str(tiny_encoder_dir), "--batch-size", "4", "--dev", str(dev)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert "bad-dev.csv: no usable (sentence1, sentence2, score) row" in message
    assert "Traceback" not in result.output
    assert not (out / "checkpoints").exists()  # nothing was trained


# --- the property test ---------------------------------------------------------------------

NASTY = ['"', "'", "\t", "\r", "\n", "\r\n", "\ufeff", "\x00", ",", " ", "\\", "{", "}", "\u200b"]
WORDS = ["Yara", "suna", "wasa", "é", "ሀገር", "किताब", "ذهب", "a", "b", "1.5", "-", "."]
#: replaced by an undecodable byte (0xff) after encoding
BAD_BYTE = "\ue000"

clean_cell = st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join)
nasty_cell = st.lists(st.sampled_from(NASTY + WORDS + [BAD_BYTE]), max_size=8).map("".join)
#: longer than Python's default CSV field limit (131,072 characters)
huge_cell = st.builds(lambda piece, n: piece * n, st.sampled_from(["ab ", "é "]),
                      st.integers(45_000, 50_000))  # fmt: skip
plain = [clean_cell] * 4 + [nasty_cell] * 4 + [st.just(""), st.just("   ")]
cell = st.one_of(*plain, huge_cell)  # one cell in eleven is huge
#: a row: its cells, and whether it is written raw and broken (a torn or malformed line)
row = st.tuples(st.lists(cell, min_size=3, max_size=3), st.booleans(), st.integers(0, 19))
rows = st.lists(row, min_size=20, max_size=40)

#: no shrinking (huge cells make it slow on CI's two cores: a failure shows the generated
#: file's rows as they were) and no example database written into the checkout
SETTINGS = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,  # the same examples every run: CI does not change verdict between runs
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass
class Unit:
    """One row as written: the line it starts on and the values a reader may keep."""

    line: int
    values: tuple[str, ...] | None  # None: the reader cannot keep it unchanged
    clean: bool  # plain words only: must be kept


def _is_clean(values: Sequence[str]) -> bool:
    return all(v and set(v.split(" ")) <= set(WORDS) for v in values)


def _encode(text: str) -> bytes:
    return text.encode("utf-8").replace(BAD_BYTE.encode(), b"\xff").replace(b"\\ue000", b"\xff")


def write_delimited(
    path: Path, header: Sequence[str], data: Sequence[Any], fmt: str, width: int | None = None
) -> list[Unit]:
    """CSV through ``csv.writer`` (what a spreadsheet writes), TSV by joining with tabs (what
    a script writes); some rows are broken on purpose (unclosed quote, missing field)."""
    width = width or len(header)
    sep = "," if fmt == "csv" else "\t"
    out = io.BytesIO()
    out.write(b"\xef\xbb\xbf" if len(data) % 3 == 0 else b"")  # a BOM, as Excel writes
    out.write(_encode(sep.join(header) + "\n"))
    units: list[Unit] = []
    line = 2
    for number, (cells, broken, pick) in enumerate(data, start=1):
        values = tuple(cells[:width])
        if broken and pick % 4 == 0 and (fmt == "tsv" or (number == len(data) and width > 1)):
            raw = f'"{values[0]}{sep}{values[-1]}\n'  # a quote that is never closed
        elif fmt == "csv":
            buffer = io.StringIO()
            short = broken and pick % 4 in (0, 1)  # a row with a missing field
            csv.writer(buffer, lineterminator="\r\n").writerow(values[:-1] if short else values)
            raw = buffer.getvalue()  # as Excel writes
        elif broken and pick % 4 in (0, 1):
            raw = sep.join(values[:-1]) + "\n"  # a missing field
        else:
            raw = sep.join(values) + ("\r\n" if pick % 5 == 0 else "\n")
        data_bytes = _encode(raw)
        out.write(data_bytes)
        if fmt == "tsv" or (broken and pick % 4 in (0, 1)):
            # every physical line is a row as far as the file can tell
            for offset, piece in enumerate(data_bytes.split(b"\n")[:-1] or [data_bytes]):
                try:
                    text = piece.decode("utf-8").removesuffix("\r")
                except UnicodeDecodeError:
                    text = None
                fields = tuple(text.split(sep)) if text is not None else None
                ok = fields is not None and len(fields) == width
                clean = ok and not broken and _is_clean(values)
                units.append(Unit(line + offset, fields if ok else None, clean))
        else:
            intact = BAD_BYTE not in "".join(values)
            units.append(Unit(line, values if intact else None, intact and _is_clean(values)))
        line += data_bytes.count(b"\n")
    path.write_bytes(out.getvalue())
    return units


def write_jsonl(path: Path, header: Sequence[str], data: Sequence[Any]) -> list[Unit]:
    out = io.BytesIO()
    units = []
    for number, (cells, broken, pick) in enumerate(data, start=1):
        values = tuple(cells[: len(header)])
        obj = dict(zip(header, values, strict=True))
        if broken and pick % 3 == 0:
            raw = json.dumps(obj, ensure_ascii=False)[:-3] + "\n"  # malformed JSON
        elif broken and pick % 3 == 1:
            raw = json.dumps(dict(list(obj.items())[:-1]), ensure_ascii=False) + "\n"  # missing
        else:
            raw = json.dumps(obj, ensure_ascii=pick % 2 == 0) + "\n"
        if number == len(data) and pick % 7 == 0:
            raw = raw.rstrip("\n")  # a torn last line
        out.write(_encode(raw))
        damaged = broken and pick % 3 in (0, 1)
        intact = not damaged and BAD_BYTE not in "".join(values) and raw.endswith("\n")
        units.append(Unit(number, values if intact else None, intact and _is_clean(values)))
    path.write_bytes(out.getvalue())
    return units


def write_lines(path: Path, data: Sequence[Any]) -> list[Unit]:
    """One sentence per line: each physical line is a row."""
    out = io.BytesIO()
    out.write(b"\xef\xbb\xbf" if len(data) % 2 == 0 else b"")
    units: list[Unit] = []
    line = 1
    for cells, _, pick in data:
        raw = cells[0] + ("\r\n" if pick % 5 == 0 else "\n")
        data_bytes = _encode(raw)
        out.write(data_bytes)
        for offset, piece in enumerate(data_bytes.split(b"\n")[:-1]):
            try:
                text = piece.decode("utf-8").removesuffix("\r")
            except UnicodeDecodeError:
                text = None
            units.append(
                Unit(line + offset, (text,) if text is not None else None, _is_clean([cells[0]]))
            )
        line += data_bytes.count(b"\n")
    path.write_bytes(out.getvalue())
    return units


def check(
    path: Path,
    units: Sequence[Unit],
    kept: Sequence[tuple[str, ...]],
    report: ReadReport,
    normalise: Callable[[tuple[str, ...]], tuple[str, ...] | None] = lambda v: v,
    clean_may_be: str = "",
) -> None:
    """Every unit kept unchanged (after ``normalise``) or counted at its line, with a reason.

    A clean unit (plain words) is never rejected, except for a reason starting with
    ``clean_may_be`` (seeds: duplicates).
    """
    covered: dict[int, str] = {}
    for bad in report.bad_rows:
        assert bad.reason and bad.line >= 1, bad
        assert Path(bad.path) == path, bad
        covered |= dict.fromkeys(range(bad.line, (bad.last_line or bad.line) + 1), bad.reason)
    expected = []
    for unit in units:
        if unit.line in covered:
            reason = covered[unit.line]
            ok = not unit.clean or (clean_may_be and reason.startswith(clean_may_be))
            assert ok, f"clean row at line {unit.line} rejected: {reason}"
            continue
        assert unit.values is not None, f"line {unit.line} neither kept unchanged nor counted"
        value = normalise(unit.values)
        assert value is not None, f"line {unit.line} should have been counted"
        expected.append(value)
    assert list(kept) == expected
    assert report.rows_kept == len(kept)


TRIPLET = ("anchor", "positive", "negative")


@SETTINGS
@given(data=rows, fmt=st.sampled_from(["csv", "tsv", "jsonl"]))
def test_triplet_reader_property(tmp_path: Path, data: list, fmt: str) -> None:
    path = tmp_path / f"t.{fmt}"
    if fmt == "jsonl":
        units = write_jsonl(path, TRIPLET, data)
    else:
        units = write_delimited(path, TRIPLET, data, fmt)
    kept, report = read_triplets(path)
    check(path, units, [tuple(r[c] for c in TRIPLET) for r in kept], report, _texts_ok)


def _usable(text: str) -> bool:
    """One sentence: not blank, no control character but tab (no line break either)."""
    return bool(text.strip()) and not re.search("[\x00-\x08\x0a-\x1f\x7f]", text)


def _texts_ok(values: tuple[str, ...]) -> tuple[str, ...] | None:
    return values if all(map(_usable, values)) else None


@SETTINGS
@given(data=rows, fmt=st.sampled_from(["csv", "tsv", "jsonl"]))
def test_mining_pairs_reader_property(tmp_path: Path, data: list, fmt: str) -> None:
    path = tmp_path / f"pairs.{fmt}"
    header = ("anchor", "positive")
    if fmt == "jsonl":
        units = write_jsonl(path, header, data)
    else:
        units = write_delimited(path, header, data, fmt)
    kept, report = read_anchor_pairs(path)
    check(path, units, [(r["anchor"], r["positive"]) for r in kept], report, _texts_ok)


def _score_row(values: tuple[str, ...]) -> tuple[str, ...] | None:
    s1, s2, score = values
    try:
        number = float(score.strip())
    except ValueError:
        return None
    s1, s2 = s1.strip(), s2.strip()  # the pairs contract strips its texts; may hold line breaks
    usable = [bool(t) and not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", t) for t in (s1, s2)]
    if not all(usable) or number != number or abs(number) == float("inf"):
        return None
    return (s1.strip(), s2.strip(), str(number))


@SETTINGS
@given(
    raw=rows,
    scores=st.lists(st.sampled_from(["1", "0.5", "-2", "x", "", "nan"]), min_size=40, max_size=40),
    fmt=st.sampled_from(["csv", "tsv", "jsonl"]),
)
def test_dev_pairs_reader_property(tmp_path: Path, raw: list, scores: list, fmt: str) -> None:
    data = [([a, b, score], br, p) for ([a, b, _], br, p), score in zip(raw, scores, strict=False)]
    path = tmp_path / f"dev.{fmt}"
    header = ("sentence1", "sentence2", "score")
    if fmt == "jsonl":
        units = write_jsonl(path, header, data)
    else:
        units = write_delimited(path, header, data, fmt)
    try:
        pairs = read_scored_pairs(path)
    except ValueError as exc:  # no usable row: the file is named
        assert str(path) in str(exc)
        assert not any(u.clean and _score_row(u.values or ("", "", "")) for u in units)
        return
    kept = [
        (a, b, str(s))
        for a, b, s in zip(pairs.sentence1, pairs.sentence2, pairs.scores, strict=True)
    ]
    assert pairs.report is not None
    check(path, units, kept, pairs.report, _score_row)


@SETTINGS
@given(data=rows)
def test_line_readers_property(tmp_path: Path, data: list) -> None:
    """Corpus, leakage text files and plain line files: stripped lines or counted."""
    path = tmp_path / "corpus.txt"
    units = write_lines(path, data)
    for reader in (read_corpus, eval_sentences):
        report = ReadReport(str(path))
        kept = reader(path, report) if reader is eval_sentences else reader(path)
        if reader is read_corpus:
            kept, report = kept
        check(path, units, [(t,) for t in kept], report, _stripped)
    lines, report = read_lines(path)
    check(path, units, [(t,) for _, t in lines], report, _stripped)


def _stripped(values: tuple[str, ...]) -> tuple[str, ...] | None:
    text = values[0].strip()
    return (text,) if _usable(text) else None


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")


@SETTINGS
@given(data=rows, fmt=st.sampled_from(["txt", "csv", "tsv", "jsonl"]))
def test_seed_reader_property(tmp_path: Path, data: list, fmt: str) -> None:
    """Seeds: kept with their documented cleaning (controls removed, whitespace collapsed,
    cut at 1000 characters), or counted; duplicates are counted too."""
    path = tmp_path / f"seeds.{fmt}"
    if fmt == "txt":
        units = write_lines(path, data)
    elif fmt == "jsonl":
        units = write_jsonl(path, ("text",), data)
    else:
        units = write_delimited(path, ("text",), data, fmt)
    seeds, report = read_seeds(path, lang="hau")
    seen: set[str] = set()

    def cleaned(values: tuple[str, ...]) -> tuple[str, ...] | None:
        if fmt == "csv" and "\n" in values[0]:
            return None  # one row per line: a quoted line break makes the row malformed
        text = " ".join(_CONTROL.sub("", values[0]).split())
        if not text or "\udcff" in text:
            return None
        if len(text) > 1000:
            cut = text[:1000]
            space = cut.rfind(" ")
            text = (cut[:space] if space > 500 else cut).rstrip()
        if text in seen:
            return None
        seen.add(text)
        return (text,)

    check(path, units, [(s.text,) for s in seeds], report, cleaned, "duplicate seed")
    assert report.rows_kept + len(report.bad_rows) == report.rows_read


@SETTINGS
@given(data=rows)
def test_xllora_reader_property(tmp_path: Path, data: list) -> None:
    path = tmp_path / "x_pos.csv"
    units = write_delimited(path, ("sent0", "sent1"), data, "csv")
    report = ReadReport(str(path))
    kept = read_xllora_pairs(path, "positive", report)
    check(path, units, [(p, h) for _, p, h in kept], report, _texts_ok)


@pytest.mark.parametrize("reader", [read_triplets, read_anchor_pairs])
def test_file_level_problems_are_errors_naming_the_fix(tmp_path: Path, reader: Callable) -> None:
    path = tmp_path / "t.csv"
    path.write_text("sentence,other\nx,y\n")
    with pytest.raises(ValueError, match=r"t\.csv: no column"):
        reader(path)
    with pytest.raises(FileNotFoundError):
        reader(tmp_path / "missing.csv")
    (tmp_path / "t.xlsx").write_bytes(b"PK")
    with pytest.raises(ValueError, match="supported extensions"):
        reader(tmp_path / "t.xlsx")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
@pytest.mark.parametrize(
    ("name", "header", "reader"),
    [
        ("t.csv", "anchor,positive,negative", read_triplets),
        ("t.tsv", "anchor\tpositive\tnegative", read_triplets),
        ("t.jsonl", None, read_triplets),
        ("p.csv", "sentence1,sentence2,score", read_scored_pairs),
        ("s.txt", None, read_lines),
        ("seeds.txt", None, lambda path: read_seeds(path, lang="hau")),
    ],
)
def test_utf16_and_utf32_files_are_refused_naming_the_encoding(
    tmp_path: Path, name: str, header: str | None, reader: Callable, encoding: str
) -> None:
    """What Excel's "Unicode text" and PowerShell write: one clear error, not every row bad."""
    if name.endswith(".jsonl"):
        body = '{"anchor": "a", "positive": "b", "negative": "c"}\n'
    elif header is None:
        body = "Ina son ruwa.\nYaro ya tafi.\n"
    else:
        sep = "\t" if "\t" in header else ","
        body = header + "\n" + sep.join(["Ina son ruwa.", "Yaro ya tafi.", "0.5"]) + "\n"
    path = tmp_path / name
    data = body.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data  # the codec writes no byte-order mark itself
    path.write_bytes(data)
    family = "UTF-32" if "32" in encoding else "UTF-16"
    with pytest.raises(ValueError, match=rf"{name}: the file is {family} .*save it as UTF-8"):
        reader(path)
