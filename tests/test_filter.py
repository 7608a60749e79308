"""Filters: accept/reject cases, the funnel, the reject side file and the CLI."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tripletforge.cli.main import app
from tripletforge.data.jsonl import read_jsonl
from tripletforge.data.text import text_key
from tripletforge.data.triplets import read_triplets
from tripletforge.filter import FilterConfig, run_filters
from tripletforge.filter.copies import CopyFilter
from tripletforge.filter.dedup import DedupFilter
from tripletforge.filter.langid import LangIdFilter, langid_code
from tripletforge.filter.length import LengthFilter
from tripletforge.filter.teacher_margin import TeacherMarginFilter


def t(anchor: str, positive: str, negative: str, lang: str = "eng", plang: str = "") -> dict:
    return {"anchor": anchor, "positive": positive, "negative": negative, "lang": lang,
            "positive_lang": plang or lang}  # fmt: skip


GOOD = t("The cat sits on the mat.", "A cat is sitting on a rug.", "The dog is running outside.")


def test_text_key_folds_case_width_punctuation_and_space() -> None:
    assert text_key("  Ｈello,   WORLD!! ") == "hello world"
    assert text_key("Straße") == text_key("STRASSE")


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
    flt = CopyFilter(FilterConfig())
    rows = [GOOD, t("The cat sits on the mat.", "the cat sits on the mat", "A dog barks."),
            t("The cat sits on the mat.", "The cats sit on the mat.", "A dog barks."),
            t("The cat sits on the mat.", "A dog barks loudly.", "a dog barks loudly!"),
            t("The cat sits on the mat.", "A cat rests.", "THE CAT sits on the mat")]  # fmt: skip
    verdicts = flt(rows)
    assert verdicts[0] is None
    assert verdicts[1] == "positive copies anchor (0 word edits)"
    assert verdicts[2] is None  # two words changed: not a copy by default
    assert verdicts[3] == "positive equals negative"
    assert verdicts[4] == "negative copies anchor (0 word edits)"
    # copy_max_edits=2 counts word edits: "cats sit" for "cat sits" is two
    strict = CopyFilter(FilterConfig(copy_max_edits=2))
    assert strict([rows[2]])[0] == "positive copies anchor (2 word edits)"
    with pytest.raises(ValueError, match="copy_max_edits"):
        FilterConfig(copy_similarity=0.9)


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
    assert "py3langid has no model of Buginese ('bug' → bug)" in caplog.text
    assert langid_code("swh") == "sw" and langid_code("bug") is None


HAUSA = "Yara suna wasa a waje tare da abokansu a makaranta."
ENGLISH = "The children are playing outside with their friends at school."


@pytest.mark.parametrize("code", ["ha", "hau", "HAU", "Ha", "ha-NG", "hau-Latn", "hau_Latn"])
def test_langid_accepts_every_spelling_and_catches_english(
    code: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 13.8: HAU, ha-NG, hau-Latn checked like hau; English positives never pass."""
    flt = LangIdFilter(FilterConfig())
    with caplog.at_level(logging.INFO, logger="tripletforge.filter.langid"):
        verdicts = flt([t(HAUSA, HAUSA, HAUSA, code), t(HAUSA, ENGLISH, HAUSA, code)])
    assert verdicts[0] is None
    assert verdicts[1] is not None and verdicts[1].startswith("positive language en (")
    assert verdicts[1].endswith(f"!= {code}")
    assert "no model" not in caplog.text  # no misleading "not checked" line


@pytest.mark.parametrize(
    ("codes", "label"),
    [(("swh", "swa", "sw", "SWH_Latn", "sw-KE"), "sw"), (("arb", "ara", "ar"), "ar"),
     (("pes", "fas", "fa"), "fa"), (("zsm", "msa", "ms"), "ms"), (("cmn", "zho", "zh-Hans"), "zh")],
)  # fmt: skip
def test_macrolanguage_neighbours_are_one_language(codes: tuple[str, ...], label: str) -> None:
    from tripletforge.data.languages import get_language, same_language

    assert {get_language(c).code for c in codes} == {get_language(codes[0]).code}
    assert all(same_language(codes[0], c) for c in codes)
    assert {langid_code(c) for c in codes} == {label}
    assert not same_language("ary", "arb")  # Moroccan Arabic is not folded into MSA


def test_langid_swahili_spellings_on_real_text() -> None:
    flt = LangIdFilter(FilterConfig())
    swahili = "Watoto wanacheza mpira nje pamoja na marafiki zao shuleni."
    for code in ("swh", "swa", "sw", "SW-ke"):
        assert flt([t(swahili, swahili, swahili, code)]) == [None], code
        assert flt([t(swahili, ENGLISH, swahili, code)])[0].startswith("positive language en")


def test_langid_unknown_code_is_a_counted_reject_not_a_pass() -> None:
    rows = [t(HAUSA, ENGLISH, HAUSA, "xyz"), t(HAUSA, HAUSA, HAUSA, "hau", "HAUSA")]
    run = run_filters(rows, FilterConfig(teacher=None, filters=["langid"]))
    assert not run.kept
    reasons = [r["reason"] for r in run.rejected]
    assert reasons == [
        "unknown language code 'xyz' in anchor's language column",
        "unknown language code 'HAUSA' in positive's language column",
    ]


def test_langid_counts_the_rows_it_could_not_check() -> None:
    """Rows without a language column, or in a language py3langid has no model of, pass
    langid unchecked: the funnel says how many and why (not a silent pass)."""
    import io

    from rich.console import Console

    from tripletforge.filter.funnel import funnel_table

    bug = "Anak-anak sedang bermain di luar."
    rows = [t(HAUSA, ENGLISH, HAUSA, "")] * 2 + [t(bug, bug, bug, "bug")]
    rows += [t(HAUSA, HAUSA, HAUSA, "hau")]
    run = run_filters(rows, FilterConfig(teacher=None, filters=["langid"]))
    assert len(run.kept) == 4
    (step,) = run.funnel
    assert step.details == {"not_checked": {"no language column (lang)": 2,
                                            "py3langid has no model of bug": 1}}  # fmt: skip
    console = Console(file=io.StringIO(), width=300)
    console.print(funnel_table(run))
    shown = console.file.getvalue()
    assert "2 kept unchecked (no language column (lang))" in shown
    assert "1 kept unchecked (py3langid has no model of bug)" in shown


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
    steps = {step["filter"]: step for step in funnel["steps"]}
    assert [step["filter"] for step in funnel["steps"]][-2:] == ["teacher_margin", "consistency"]
    # consistency judges retrieval rows only: these NLI rows pass it unchanged
    assert steps["consistency"]["rows_in"] == steps["consistency"]["rows_out"] == 1
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


# --- issue 13, items 1 and 2 through the CLI ----------------------------------------------------

HINDI_ROWS = [
    t("लड़का मैदान में खेल रहा है।", "लड़का खेल रहा है।", "लड़की मैदान में खेल रही है।", "hin"),
    t("लड़की मैदान में खेल रही है।", "लड़की खेल रही है।", "लड़का मैदान में खेल रहा है।", "hin"),
    t("वह रोज़ किताब पढ़ता है।", "वह पढ़ाई करता है।", "वह कभी किताब नहीं पढ़ता है।", "hin"),
]
GIRL = "The little girl is sleeping in her bed upstairs."


def _filter_cli(tmp_path: Path, rows: list[dict], *options: str) -> tuple[list, list]:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    result = CliRunner().invoke(app, ["filter", str(src), "-o", str(out), *options])
    assert result.exit_code == 0, result.output
    return read_jsonl(out)[0], read_jsonl(tmp_path / "out.rejected.jsonl")[0]


def test_filter_cli_keeps_hindi_vowel_sign_contradictions(tmp_path: Path) -> None:
    kept, rejected = _filter_cli(tmp_path, HINDI_ROWS, "--filters", "copy,dedup")
    assert [r["anchor"] for r in kept] == [r["anchor"] for r in HINDI_ROWS] and not rejected


def test_filter_cli_rejects_a_vowelled_arabic_copy(tmp_path: Path) -> None:
    rows = [t("ذهب الولد إلى المدرسة صباحا.", "ذَهَبَ الوَلَدُ إلى المَدْرَسَةِ صَباحاً.",
              "بقي الولد في البيت.", "arb"),
            t("ذهب الولد إلى المدرسة صباحا.", "ذهب الولد إلى المدرسة.",
              "ذهـــب الولد إلى المدرسة صباحا", "arb")]  # fmt: skip
    kept, rejected = _filter_cli(tmp_path, rows, "--filters", "copy")
    assert not kept
    assert [r["reason"] for r in rejected] == [
        "positive copies anchor (0 word edits)",
        "negative copies anchor (0 word edits)",  # tatweel and a missing full stop
    ]


@pytest.mark.parametrize(
    ("anchor", "negative"),
    [
        (GIRL, "The little girl is reading in her bed upstairs."),
        ("The old man with the grey hat is slowly walking his small brown dog along the quiet "
         "river every single morning.", "The old man with the grey hat is slowly walking his "
         "small brown cat along the quiet river every single morning."),  # 1 word of 20
        ("Ali okula geliyor.", "Ali okula gelmiyor."),  # Turkish: one letter negates
        ("Watoto wanacheza mpira nje ya nyumba.", "Watoto hawachezi mpira nje ya nyumba."),
        ("孩子们在楼上的床上睡觉。", "孩子们在楼上的床上看书。"),
        ("他每天去学校。", "他每天不去学校。"),
        ("เด็กหญิงกำลังนอนอยู่บนเตียง", "เด็กหญิงกำลังอ่านหนังสืออยู่บนเตียง"),
        ("ذهب الولد إلى المدرسة صباحا.", "ذهب الولد إلى السوق صباحا."),
        ("ልጁ ወደ ትምህርት ቤት ሄደ።", "ልጁ ወደ ትምህርት ቤት አልሄደም።"),
    ],
)  # fmt: skip
def test_filter_cli_keeps_one_word_contradictions(
    tmp_path: Path, anchor: str, negative: str
) -> None:
    rows = [t(anchor, "Something else entirely.", negative)]
    kept, rejected = _filter_cli(tmp_path, rows, "--filters", "copy")
    assert len(kept) == 1 and not rejected


def test_filter_cli_still_rejects_exact_and_normalised_copies(tmp_path: Path) -> None:
    rows = [t(GIRL, "A child is asleep.", GIRL),
            t(GIRL, "A child is asleep.", "THE LITTLE GIRL IS SLEEPING IN HER BED UPSTAIRS"),
            t(GIRL, "the little girl  is sleeping in her bed, upstairs!", "A boy runs."),
            t("他每天去学校。", "他 每天 去 学校", "他不去。"),
            t("เด็กหญิงกำลังนอน", "เด็กหญิง กำลังนอน", "เด็กชายวิ่ง")]  # fmt: skip
    kept, rejected = _filter_cli(tmp_path, rows, "--filters", "copy")
    assert not kept and all("copies anchor (0 word edits)" in r["reason"] for r in rejected)
    reading = t(GIRL, "A child is asleep.", "The little girl is reading in her bed upstairs.")
    options = ("--filters", "copy", "--copy-max-edits", "1")
    kept, rejected = _filter_cli(tmp_path, [reading], *options)
    assert not kept and rejected[0]["reason"] == "negative copies anchor (1 word edits)"
