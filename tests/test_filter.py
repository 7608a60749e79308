"""Filters: accept/reject cases, the funnel, the reject side file and the CLI."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tripletforge.cli.main import app
from tripletforge.data.jsonl import read_jsonl
from tripletforge.data.triplets import read_triplets
from tripletforge.filter import FilterConfig, normalize_text, run_filters
from tripletforge.filter.copies import CopyFilter
from tripletforge.filter.dedup import DedupFilter
from tripletforge.filter.langid import LangIdFilter, langid_code
from tripletforge.filter.length import LengthFilter
from tripletforge.filter.teacher_margin import TeacherMarginFilter


def t(anchor: str, positive: str, negative: str, lang: str = "eng", plang: str = "") -> dict:
    return {"anchor": anchor, "positive": positive, "negative": negative, "lang": lang,
            "positive_lang": plang or lang}  # fmt: skip


GOOD = t("The cat sits on the mat.", "A cat is sitting on a rug.", "The dog is running outside.")


def test_normalize_text_folds_case_width_punctuation_and_space() -> None:
    assert normalize_text("  Ｈello,   WORLD!! ") == "hello world"
    assert normalize_text("Straße") == normalize_text("STRASSE")


def test_length_filter() -> None:
    flt = LengthFilter(FilterConfig(min_chars=5, max_chars=60, max_length_ratio=3.0))
    rows = [GOOD, t("Hi", "Hello there you", "Go away now"), t("A" * 61, "b" * 30, "c" * 30),
            t("A long anchor sentence here.", "Short.", "Another sentence here.")]  # fmt: skip
    verdicts = flt(rows)
    assert verdicts[0] is None
    assert verdicts[1].startswith("anchor too short")
    assert verdicts[2].startswith("anchor too long")
    assert verdicts[3].startswith("positive/anchor length ratio")


def test_copy_filter() -> None:
    flt = CopyFilter(FilterConfig(copy_similarity=0.9))
    rows = [GOOD, t("The cat sits on the mat.", "the cat sits on the mat", "A dog barks."),
            t("The cat sits on the mat.", "The cats sit on the mat.", "A dog barks."),
            t("The cat sits on the mat.", "A dog barks loudly.", "a dog barks loudly!"),
            t("The cat sits on the mat.", "A feline rests.", "The cat sits on a mat.")]  # fmt: skip
    verdicts = flt(rows)
    assert verdicts[0] is None
    assert verdicts[1].startswith("positive copies anchor (similarity 1.00")
    assert verdicts[2].startswith("positive copies anchor")
    assert verdicts[3] == "positive equals negative"
    assert verdicts[4].startswith("negative copies anchor")


def test_dedup_filter_exact_and_normalised() -> None:
    flt = DedupFilter(FilterConfig())
    variant = t(
        "the cat sits on the mat", "A cat is sitting on a rug", "The dog is running outside"
    )
    other = t("A different anchor.", "A cat is sitting on a rug.", "The dog is running outside.")
    assert flt([GOOD, GOOD, variant, other]) == [
        None, "exact duplicate of row 0", "normalised duplicate of row 0", None]  # fmt: skip
    by_anchor = DedupFilter(FilterConfig(dedup_key="anchor"))
    assert by_anchor([GOOD, t(GOOD["anchor"], "x y z", "z y x")])[1] == "exact duplicate of row 0"


def test_langid_on_real_sentences(caplog: pytest.LogCaptureFixture) -> None:
    flt = LangIdFilter(FilterConfig())
    hausa = "Yara suna wasa a waje tare da abokansu a makaranta."
    rows = [
        t(hausa, "The children are playing outside with their friends.",
          "The children are sleeping inside.", "hau", "eng"),
        t("Le chat dort tranquillement sur le canapé du salon.", "The cat sleeps.",
          "The dog barks.", "hau", "eng"),
        t(hausa, "Yara suna wasa a waje tare da abokansu.",
          "Kein Kind spielt heute draußen im Garten.", "hau"),
        t("Anak-anak sedang bermain di luar.", "Le chien court dans le parc tous les matins.",
          "The children are asleep.", "bug", "eng"),
    ]  # fmt: skip
    with caplog.at_level(logging.INFO, logger="tripletforge.filter.langid"):
        verdicts = flt(rows)
    assert verdicts[0] is None
    assert verdicts[1].startswith("anchor language fr")
    assert verdicts[2].startswith("negative language de")
    # Buginese has no py3langid model: its anchor is skipped (English fields are still checked)
    assert verdicts[3] is not None and verdicts[3].startswith("positive language")
    assert "'bug' is not known to py3langid" in caplog.text
    assert langid_code("swh") == "sw" and langid_code("bug") is None


def test_teacher_margin_filter(tiny_encoder_dir: Path) -> None:
    flt = TeacherMarginFilter(FilterConfig(teacher=str(tiny_encoder_dir), teacher_margin=0.0))
    rows = [GOOD, t(GOOD["anchor"], GOOD["negative"], GOOD["positive"])]
    margins = flt.margins(rows)
    assert margins[0] == pytest.approx(-margins[1], abs=1e-5)
    verdicts = flt(rows)
    assert sum(v is None for v in verdicts) == 1  # exactly one orientation passes
    rejected = next(v for v in verdicts if v)
    assert rejected.startswith("teacher margin")


def test_funnel_counts_and_rejects() -> None:
    rows = [GOOD, GOOD, t("Hi", "Hello there", "Go away"),
            t("The cat sits on the mat.", "The cat sits on the mat!", "A dog barks.")]  # fmt: skip
    run = run_filters(rows, FilterConfig(teacher=None))
    assert [s.filter for s in run.funnel] == ["length", "copy", "langid", "dedup"]
    assert run.funnel[0].rows_in == 4
    for before, after in zip(run.funnel, run.funnel[1:], strict=False):
        assert before.rows_out == after.rows_in
    assert run.funnel[-1].rows_out == len(run.kept) == 1
    assert len(run.rejected) == sum(s.rejected for s in run.funnel) == 3
    assert {r["filter"] for r in run.rejected} == {"length", "copy", "dedup"}
    assert next(r for r in run.rejected if r["filter"] == "dedup")["row"] == 1
    assert "_row" not in run.kept[0]
    assert run.to_dict()["rows_out"] == 1


def test_funnel_counts_reason_kinds_not_values() -> None:
    """Rejections that differ only in the measured value share one funnel reason."""
    anchor = "A long anchor sentence that goes on and on about many things today."
    rows = [t(anchor, "Short.", "Another sentence that is long enough here."),
            t(anchor, "Tiny one.", "Another sentence that is long enough too.")]  # fmt: skip
    run = run_filters(rows, FilterConfig(teacher=None, max_length_ratio=3.0))
    assert run.funnel[0].reasons == {"positive/anchor length ratio > 3.0": 2}
    assert {r["reason"] for r in run.rejected} == {
        "positive/anchor length ratio > 3.0 (11.2)",
        "positive/anchor length ratio > 3.0 (7.4)",
    }


def test_filter_cli_writes_kept_rejects_and_funnel(tmp_path: Path, tiny_encoder_dir: Path) -> None:
    inp = tmp_path / "in.jsonl"
    rows = [GOOD, GOOD, t("Hi", "Hello there", "Go away"), {"anchor": "no positive"}]
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "kept.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "filter",
            str(inp),
            "-o",
            str(out),
            "--teacher",
            str(tiny_encoder_dir),
            "--teacher-margin",
            "-2",
        ],
    )
    assert result.exit_code == 0, result.output
    kept, _ = read_jsonl(out)
    rejected, _ = read_jsonl(tmp_path / "kept.rejected.jsonl")
    funnel = json.loads((tmp_path / "kept.funnel.json").read_text())
    assert len(kept) == 1 and len(rejected) == 2
    assert all(r["reason"] and r["filter"] for r in rejected)
    assert funnel["rows_in"] == 3 and funnel["rows_out"] == 1
    assert funnel["steps"][-1]["filter"] == "teacher_margin"
    assert "filter funnel" in result.output


def test_read_triplets_formats(tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame([GOOD, t("a b c", "", "d e f")])
    frame.to_csv(tmp_path / "x.csv", index=False)
    frame.to_parquet(tmp_path / "x.parquet")
    for name in ("x.csv", "x.parquet"):
        rows, report = read_triplets(tmp_path / name)
        assert rows == [GOOD] and report.skipped_by_reason == {"empty text": 1}
        assert [(b.line, b.reason) for b in report.bad_rows] == [
            (3 - name.endswith("parquet"), "empty text: positive")
        ]
