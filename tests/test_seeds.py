"""Seed sentence reader: every format, bad input reported (never a crash, nothing lost)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tripletforge.data.languages import UnknownLanguageError
from tripletforge.data.schemas import seed_id_for
from tripletforge.data.seeds import read_seeds


def test_txt_with_bad_lines(tmp_path: Path) -> None:
    long_line = "word " * 400
    data = (
        b"Yara suna wasa a waje.\n\n   \nbad \xff\xfe bytes\n"
        + long_line.encode()
        + b"\nYara suna wasa a waje.\nwith\x00control\r\n"
    )
    path = tmp_path / "seeds.txt"
    path.write_bytes(data)
    seeds, report = read_seeds(path, lang="ha", max_chars=100)  # ISO 639-1 alias accepted
    assert [s.text for s in seeds] == [
        "Yara suna wasa a waje.",
        ("word " * 20).strip(),
        "withcontrol",
    ]
    assert {s.lang for s in seeds} == {"hau"}
    assert all(s.seed_id == seed_id_for(s.text, "hau") for s in seeds)
    assert report.rows_read == 7
    assert report.rows_kept + len(report.bad_rows) == report.rows_read
    assert report.skipped_by_reason == {"empty text": 2, "invalid UTF-8": 1, "duplicate seed": 1}
    assert [b.line for b in report.bad_rows] == [2, 3, 4, 6]
    assert report.truncated == [5]
    assert "truncated" in report.summary()


def test_csv_tsv_jsonl_parquet(tmp_path: Path) -> None:
    rows = [
        {"text": "Ina son karanta littafi.", "lang": "hau", "seed_id": "s1"},
        {"text": "Umwana arimo gukina umupira.", "lang": "kin", "seed_id": ""},
        {"text": "Le chat dort.", "lang": "xx", "seed_id": "s3"},
        {"text": "", "lang": "fra", "seed_id": "s4"},
    ]
    csv_path = tmp_path / "s.csv"
    csv_path.write_text(
        "text,lang,seed_id\n"
        + "".join(f'"{r["text"]}",{r["lang"]},{r["seed_id"]}\n' for r in rows),
        encoding="utf-8",
    )
    tsv_path = tmp_path / "s.tsv"
    tsv_path.write_text(
        "text\tlang\tseed_id\n"
        + "".join(f"{r['text']}\t{r['lang']}\t{r['seed_id']}\n" for r in rows)
    )
    jsonl_path = tmp_path / "s.jsonl"
    jsonl_path.write_text(
        "".join(json.dumps(r) + "\n" for r in rows) + "{not json\n" + '{"text": "torn'
    )
    parquet_path = tmp_path / "s.parquet"
    pq.write_table(
        pa.Table.from_pylist([*rows, {"text": None, "lang": "hau", "seed_id": "s5"}]), parquet_path
    )
    for path in (csv_path, tsv_path, jsonl_path, parquet_path):
        seeds, report = read_seeds(path)
        assert [(s.seed_id, s.lang) for s in seeds] == [
            ("s1", "hau"),
            (seed_id_for("Umwana arimo gukina umupira.", "kin"), "kin"),
        ], path
        reasons = report.skipped_by_reason
        assert reasons["unknown language"] == 1 and reasons["empty text"] >= 1, path
        assert report.unknown_languages == {"xx"}
        assert "register_language" in report.summary()
        assert report.rows_kept + len(report.bad_rows) == report.rows_read
    _, report = read_seeds(jsonl_path)
    assert {"malformed JSON", "torn last line"} <= set(report.skipped_by_reason)


def test_unknown_language_argument_lists_codes(tmp_path: Path) -> None:
    path = tmp_path / "s.txt"
    path.write_text("hello\n")
    with pytest.raises(UnknownLanguageError, match=r"hau.*register_language"):
        read_seeds(path, lang="klingon")


def test_missing_language_and_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "s.txt"
    path.write_text("hello\n")
    seeds, report = read_seeds(path)
    assert not seeds and report.skipped_by_reason == {"missing language": 1}
    bad = tmp_path / "s.csv"
    bad.write_text("sentence,lang\nhello,eng\n")
    with pytest.raises(ValueError, match="'text' column"):
        read_seeds(bad)


def test_seed_language_codes_in_any_spelling(tmp_path: Path) -> None:
    rows = [("Yara suna wasa.", "HAU"), ("Yara na wasa.", "ha-NG"),
            ("Yara suna gudu.", "hau_Latn"), ("Watoto wanacheza.", "sw"),
            ("Watoto wanakimbia.", "SWA"), ("Hello.", "xyz")]  # fmt: skip
    path = tmp_path / "s.jsonl"
    path.write_text("".join(json.dumps({"text": t, "lang": c}) + "\n" for t, c in rows))
    seeds, report = read_seeds(path)
    assert [s.lang for s in seeds] == ["hau", "hau", "hau", "swh", "swh"]
    assert report.unknown_languages == {"xyz"} and "ISO 639-1/639-3" in report.summary()
    txt = tmp_path / "s.txt"
    txt.write_text("Yara suna wasa.\n")
    assert read_seeds(txt, lang="Hau-latn")[0][0].lang == "hau"
