"""Leakage check: training sentences found in evaluation sets."""

from __future__ import annotations

from pathlib import Path

from tripletforge.data.evalsets import eval_sentences
from tripletforge.filter.leakage import check_leakage

ROWS = [
    {"anchor": "The cat sits on the mat.", "positive": "A cat rests.", "negative": "No cat."},
    {"anchor": "A dog runs.", "positive": "THE  DOG  RUNS!", "negative": "A dog sleeps."},
    {"anchor": "Clean anchor.", "positive": "Clean positive.", "negative": "Clean negative."},
]


def test_leaks_removed_by_default() -> None:
    report = check_leakage(ROWS, {"sts": ["The cat sits on the mat.", "the dog runs"]})
    assert report.leaked_rows == 2
    assert {(leak.row, leak.field, leak.match) for leak in report.leaks} == {
        (0, "anchor", "exact"),
        (1, "positive", "normalised"),
    }
    assert report.kept == [ROWS[2]]
    assert report.summary()["by_eval_set"] == {"sts": 2}


def test_keep_leaks_only_reports() -> None:
    report = check_leakage(ROWS, {"sts": ["A dog sleeps."]}, remove=False)
    assert report.leaked_rows == 1 and report.kept == ROWS


def test_eval_sentences_from_files(tmp_path: Path) -> None:
    (tmp_path / "dev.csv").write_text("sentence1,sentence2,score\nA b.,C d.,1.0\n")
    (tmp_path / "lines.txt").write_text("one\n\ntwo\n")
    assert eval_sentences(tmp_path / "dev.csv") == ["A b.", "C d."]
    assert eval_sentences(tmp_path / "lines.txt") == ["one", "two"]


def test_leakage_uses_the_text_key_in_every_script() -> None:
    """Vowel pointing and tatweel do not hide a leak; an abugida vowel sign is a new sentence."""
    rows = [
        {"anchor": "ذهب الولد إلى المدرسة صباحا.", "positive": "a", "negative": "b"},
        {"anchor": "लड़की मैदान में खेल रही है।", "positive": "c", "negative": "d"},
        {"anchor": "ذهـــب الولد", "positive": "e", "negative": "f"},
    ]
    evals = {"dev": ["ذَهَبَ الوَلَدُ إلى المَدْرَسَةِ صَباحاً", "लड़का मैदान में खेल रहा है।", "ذهب الولد"]}
    report = check_leakage(rows, evals)
    assert [(leak.row, leak.match) for leak in report.leaks] == [
        (0, "normalised"),
        (2, "normalised"),
    ]
    assert [r["anchor"] for r in report.kept] == ["लड़की मैदान में खेल रही है।"]
