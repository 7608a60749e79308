"""Readers: quirks and bad rows on small hand-written files, then the real shared data."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tripletforge.data.languages import UnknownLanguageError
from tripletforge.data.readers import (
    READERS,
    read_dataset,
    read_flores_parallel,
    read_korsts,
    read_nusax,
    read_semrel,
    read_sts17,
    read_stsb_multi_mt,
    read_table,
    read_tatoeba,
    sib200_folder,
)
from tripletforge.data.schemas import BitextSet, PairSet, ReadReport


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def bad(report: ReadReport | None) -> list[tuple[str, int, str]]:
    """``(file name, line, reason kind)`` of each skipped row, sorted."""
    assert report is not None
    return sorted((Path(b.path).name, b.line, b.reason.split(":", 1)[0]) for b in report.bad_rows)


def assert_accounted(report: ReadReport | None) -> None:
    """Every row read was either kept or reported."""
    assert report is not None
    assert report.rows_read == report.rows_kept + len(report.bad_rows)


# --- SemRel2024 -----------------------------------------------------------------------------


def test_semrel_newline_pairs_and_bad_rows(tmp_path: Path) -> None:
    path = write(
        tmp_path / "hau_dev_with_labels.csv",
        b"PairID,Text,Score\n"
        b'h1,"First one.\nSecond one.",0.25\n'  # lines 2-3: kept
        b'h2,"Only one sentence.",0.5\n'  # line 4: no separator
        b'h3,"A\nB",abc\n'  # lines 5-6: bad score
        b'h4,"A\nB",nan\n'  # lines 7-8: NaN
        b'h5,"A\nB",1.5\n'  # lines 9-10: out of range
        b'h6,"Bad \xff byte.\nFine.",0.1\n'  # lines 11-12: invalid UTF-8
        b'h7,"  \nB",0.3\n'  # lines 13-14: empty sentence1
        b'h8,"A\nB"\n'  # lines 15-16: missing score field
        b'h9,"A\nB\nC",0.3\n'  # lines 17-19: three sentences
        b'h10,"Last \xe2\x80\x99one.\r\nOther.",1\n',  # lines 20-21: kept, CRLF inside
    )
    pairs = read_semrel(path)
    assert pairs.lang == "hau" and pairs.files == [str(path)]
    assert pairs.sentence1 == ["First one.", "Last \u2019one."]
    assert pairs.sentence2 == ["Second one.", "Other."]
    assert pairs.scores == [0.25, 1.0]
    assert [(line, kind) for _, line, kind in bad(pairs.report)] == [
        (4, "missing field"),
        (5, "bad score"),
        (7, "bad score"),
        (9, "score out of range"),
        (11, "invalid UTF-8"),
        (13, "empty text"),
        (15, "malformed row"),
        (17, "malformed row"),
    ]
    utf8 = next(b for b in pairs.report.bad_rows if b.line == 11)
    assert "0xff" in utf8.reason and utf8.path == str(path)
    assert_accounted(pairs.report)


def test_semrel_quirks_tab_separator_pan_order_lowercase_score(tmp_path: Path) -> None:
    afr = write(
        tmp_path / "afr_dev_with_labels.csv",
        'PairID,Text,score\nAFR-1,"Een sin.\tTwee sin.",0.56\nAFR-2,Drie.\tVier.,0.2\n',
    )
    pairs = read_semrel(afr)
    assert (pairs.lang, pairs.sentence1, pairs.sentence2) == (
        "afr",
        ["Een sin.", "Drie."],
        ["Twee sin.", "Vier."],
    )
    assert pairs.scores == [0.56, 0.2]
    pan = write(
        tmp_path / "pan_dev_with_labels.csv",
        'Text,Score,PairID\n"ਪਹਿਲਾ\nਦੂਜਾ",0.88,pan_dev_00001\n',
    )
    pairs = read_semrel(pan)
    assert (pairs.lang, pairs.sentence1, pairs.sentence2, pairs.scores) == (
        "pan",
        ["ਪਹਿਲਾ"],
        ["ਦੂਜਾ"],
        [0.88],
    )
    esp = write(tmp_path / "esp_train.csv", 'PairID,Text,Score\ne1,"Uno.\nDos.",0.5\n')
    assert read_semrel(esp).lang == "spa"
    assert read_semrel(esp, lang="eng").lang == "eng"


def test_semrel_file_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="SemRel2024 file not found"):
        read_semrel(tmp_path / "hau_dev_with_labels.csv")
    unlabelled = write(tmp_path / "hau_dev.csv", 'PairID,Text\nh1,"A\nB"\n')
    with pytest.raises(ValueError, match="no Score column"):
        read_semrel(unlabelled)
    with pytest.raises(ValueError, match="cannot infer the language"):
        read_semrel(write(tmp_path / "x.csv", "PairID,Text,Score\n"))


# --- STS-B multi-MT, STS17, KorSTS ----------------------------------------------------------


def test_stsb_multi_mt(tmp_path: Path) -> None:
    path = write(
        tmp_path / "stsb-de-dev.csv",
        "Ein Mann tanzt.,Ein Mann tanzt.,5.0\r\n"
        '"Ja, sicher.",Nein.,0.5\r\n'
        "nur zwei,Felder\r\n"
        "a,b,7\r\n"
        "\r\n"
        "c,d,1.25\r\n",
    )
    pairs = read_stsb_multi_mt(path)
    assert (pairs.name, pairs.lang) == ("stsb_multi_mt-deu-dev", "deu")
    assert pairs.sentence1 == ["Ein Mann tanzt.", "Ja, sicher.", "c"]
    assert pairs.scores == [5.0, 0.5, 1.25]
    assert [(line, kind) for _, line, kind in bad(pairs.report)] == [
        (3, "malformed row"),
        (4, "score out of range"),
        (5, "empty line"),
    ]
    assert_accounted(pairs.report)


def _sts17_layout(root: Path, inputs: str, gold: str, track: str = "track6.tr-en") -> Path:
    write(root / "STS2017.gs" / f"STS.gs.{track}.txt", gold)
    return write(root / "STS2017.eval.v1.1" / f"STS.input.{track}.txt", inputs)


def test_sts17_gold_lookup_langs_and_extra_inputs(tmp_path: Path) -> None:
    path = _sts17_layout(
        tmp_path,
        "A dog.\tBir köpek.\nOnly one field\nA cat.\tBir kedi.\nX.\tY.\n",
        "4.0\n1.0\n\n",
    )
    pairs = read_sts17(path)
    assert (pairs.lang, pairs.lang2, pairs.name) == ("tur", "eng", "sts17-track6.tr-en")
    assert pairs.files[1].endswith("STS2017.gs/STS.gs.track6.tr-en.txt")
    assert (pairs.sentence1, pairs.sentence2, pairs.scores) == (["A dog."], ["Bir köpek."], [4.0])
    assert bad(pairs.report) == [
        (path.name, 2, "malformed row"),
        (path.name, 3, "missing field"),  # empty gold line
        (path.name, 4, "no gold score"),
    ]
    assert_accounted(pairs.report)
    limited = read_sts17(path, limit=1)
    assert len(limited) == 1 and not limited.report.bad_rows


def test_sts17_longer_gold_explicit_paths_and_same_language(tmp_path: Path) -> None:
    inputs = write(tmp_path / "in.tsv", "Uno.\tUna.\n")
    gold = write(tmp_path / "gold.txt", "3.5\n2.0\n")
    pairs = read_sts17(inputs, gold_path=gold, lang="es-es")
    assert (pairs.lang, pairs.lang2, pairs.scores) == ("spa", None, [3.5])
    assert bad(pairs.report) == [("gold.txt", 2, "misaligned")]
    assert_accounted(pairs.report)
    with pytest.raises(FileNotFoundError, match="pass gold_path"):
        read_sts17(write(tmp_path / "x" / "STS.input.track5.en-en.txt", "a\tb\n"))


def test_korsts_literal_quotes(tmp_path: Path) -> None:
    path = write(
        tmp_path / "sts-dev.tsv",
        "genre\tfilename\tyear\tid\tscore\tsentence1\tsentence2\n"
        'main-news\tx\t2012\t1\t3.5\t"따옴표 하나\t둘"\n'
        "main-news\tx\t2012\t2\tfive\t가\t나\n"
        "main-news\tx\t2012\t3\t2.0\t가\n",
    )
    pairs = read_korsts(path)
    assert (pairs.lang, pairs.sentence1, pairs.sentence2) == ("kor", ['"따옴표 하나'], ['둘"'])
    assert [(line, kind) for _, line, kind in bad(pairs.report)] == [
        (3, "bad score"),
        (4, "malformed row"),
    ]


# --- Bitext ---------------------------------------------------------------------------------


def test_tatoeba_per_line_decoding_and_misaligned_counts(tmp_path: Path) -> None:
    src = write(tmp_path / "tatoeba.afr-eng.afr", b"Een.\nTwee.\nDr\xffie.\nVier.\nVyf.\n")
    tgt = write(tmp_path / "tatoeba.afr-eng.eng", b"One.\n\nThree.\nFour.\n")
    pairs = read_tatoeba(tmp_path, "afr")
    assert isinstance(pairs, BitextSet)
    assert (pairs.source_lang, pairs.target_lang) == ("afr", "eng")
    assert (pairs.source, pairs.target) == (["Een.", "Vier."], ["One.", "Four."])
    assert bad(pairs.report) == [
        (src.name, 3, "invalid UTF-8"),
        (src.name, 5, "misaligned"),
        (tgt.name, 2, "empty text"),
    ]
    assert_accounted(pairs.report)
    assert read_tatoeba(src, "afr").source == pairs.source  # a file as root works too
    with pytest.raises(FileNotFoundError, match=r"tatoeba\.xho-eng\.xho"):
        read_tatoeba(tmp_path, "xho")


def _sib(root: Path, folder: str, rows: list[tuple[str, str]], split: str = "dev") -> Path:
    body = "".join(f"{index}\tsports\t{text}\n" for index, text in rows)
    return write(root / "annotated" / folder / f"{split}.tsv", "index_id\tcategory\ttext\n" + body)


def test_flores_parallel_aligns_by_index_id(tmp_path: Path) -> None:
    src = _sib(
        tmp_path,
        "hau_Latn",
        [("1", "Daya."), ("2", '"Biyu'), ("3", "Uku."), ("1", "Kwafi."), ("9", "Tara.")],
    )
    tgt = _sib(tmp_path, "eng_Latn", [("3", "Three."), ("2", 'Two"'), ("1", "One."), ("7", "")])
    pairs = read_flores_parallel(tmp_path, "hau")
    assert (pairs.source_lang, pairs.target_lang, pairs.name) == (
        "hau",
        "eng",
        "sib200-hau-eng-dev",
    )
    assert pairs.source == ["Daya.", '"Biyu', "Uku."]
    assert pairs.target == ["One.", 'Two"', "Three."]
    assert pairs.report is not None
    assert sorted((b.path, b.line, b.reason.split(":")[0]) for b in pairs.report.bad_rows) == [
        (str(tgt), 5, "misaligned"),  # id 7 only in the target
        (str(src), 5, "duplicate id"),
        (str(src), 6, "misaligned"),  # id 9 only in the source
    ]
    assert_accounted(pairs.report)
    assert read_flores_parallel(tmp_path / "annotated", "hau_Latn", "eng").source == pairs.source


def test_sib200_folder_resolution(tmp_path: Path) -> None:
    for folder in ("swh_Latn", "kas_Arab", "kas_Deva", "xyz_Latn", "hau_Latn", "pes_Arab"):
        (tmp_path / folder).mkdir()
    for spelling in ("swa", "swh", "SW", "sw-KE", "swh_Latn", "Swa-latn"):  # macrolanguage too
        assert sib200_folder(tmp_path, spelling).name == "swh_Latn", spelling
    for spelling in ("ha", "hau", "HAU", "ha-NG", "hau-Latn", "hau_Latn"):
        assert sib200_folder(tmp_path, spelling).name == "hau_Latn", spelling
    assert sib200_folder(tmp_path, "fas").name == "pes_Arab"
    assert sib200_folder(tmp_path, "xyz_Latn").name == "xyz_Latn"  # a folder name as given
    with pytest.raises(UnknownLanguageError, match=r"'xyz'.*ISO 639-3 \('hau'\)"):
        sib200_folder(tmp_path, "xyz")
    assert sib200_folder(tmp_path, "kas_Deva").name == "kas_Deva"
    with pytest.raises(ValueError, match=r"ambiguous.*kas_Arab, kas_Deva"):
        sib200_folder(tmp_path, "kas")
    with pytest.raises(FileNotFoundError, match="no SIB-200 folder for 'amh'"):
        sib200_folder(tmp_path, "amh")
    with pytest.raises(FileNotFoundError, match="SIB-200 split not found"):
        read_flores_parallel(tmp_path, "swa", "xyz_Latn")


def test_nusax_columns_multiline_and_empty_cells(tmp_path: Path) -> None:
    write(
        tmp_path / "mt" / "valid.csv",
        ",indonesian,acehnese,english,toba_batak\n"
        '0,Saya makan.,Lon pajoh.,"I eat\nrice.",Mangan ahu.\n'
        "1,Dia tidur.,,He sleeps.,Modom ibana.\n"
        "2,Kami pergi.,Kamoe jak.\n"
        "3,Ya.,Nyo.,Yes.,Olo.\n",
    )
    pairs = read_nusax(tmp_path, "ace", split="dev")
    assert (pairs.name, pairs.source_lang, pairs.target_lang) == (
        "nusax-ace-eng-valid",
        "ace",
        "eng",
    )
    assert (pairs.source, pairs.target) == (["Lon pajoh.", "Nyo."], ["I eat\nrice.", "Yes."])
    assert [(line, kind) for _, line, kind in bad(pairs.report)] == [
        (4, "empty text"),
        (5, "malformed row"),
    ]
    by_name = read_nusax(tmp_path / "mt" / "valid.csv", "toba_batak", "indonesian")
    assert (by_name.source_lang, by_name.target_lang) == ("bbc", "ind")
    assert by_name.source[:2] == ["Mangan ahu.", "Modom ibana."]
    with pytest.raises(ValueError, match="NusaX has no language 'kor'"):
        read_nusax(tmp_path, "kor")


# --- Generic tables -------------------------------------------------------------------------


def test_table_csv_with_mapping(tmp_path: Path) -> None:
    path = write(tmp_path / "pairs.csv", "a,b,sim\nx,y,0.5\nx,,0.5\nx,y,NaN\nx,y\n")
    pairs = read_table(
        path, "pairs", {"sentence1": "a", "sentence2": "b", "score": "sim"}, lang="hau"
    )
    assert isinstance(pairs, PairSet)
    assert (pairs.lang, pairs.name, pairs.scores) == ("hau", "pairs", [0.5])
    assert [(line, kind) for _, line, kind in bad(pairs.report)] == [
        (3, "empty text"),
        (4, "bad score"),
        (5, "malformed row"),
    ]
    with pytest.raises(ValueError, match=r"no column\(s\) \['sentence1', 'sim'\]"):
        read_table(write(tmp_path / "p2.csv", "a,b\n"), "pairs", {"sentence2": "b", "score": "sim"})


def test_table_headerless_tsv_bitext_with_positions(tmp_path: Path) -> None:
    path = write(tmp_path / "bitext.tsv", 'id1\t"Sannu\tHello\nid2\tonly\n')
    pairs = read_table(
        path, "bitext", {"source": 1, "target": 2}, lang="hau", header=False, name="greet"
    )
    assert isinstance(pairs, BitextSet)
    assert (pairs.name, pairs.source_lang, pairs.target_lang) == ("greet", "hau", "eng")
    assert (pairs.source, pairs.target) == (['"Sannu'], ["Hello"])
    assert [(line, kind) for _, line, kind in bad(pairs.report)] == [(2, "missing field")]


def test_table_jsonl_line_numbers(tmp_path: Path) -> None:
    lines = [
        json.dumps({"source": "Muraho", "target": "Hello"}),
        "{not json",
        json.dumps({"source": "Yego"}),
        "",
        json.dumps({"source": "Oya", "target": "No"}),
    ]
    path = write(tmp_path / "bitext.jsonl", "\n".join(lines) + "\n" + '{"source": "torn')
    pairs = read_table(path, "bitext", lang="kin", target_lang="en")
    assert (pairs.source, pairs.target, pairs.target_lang) == (
        ["Muraho", "Oya"],
        ["Hello", "No"],
        "eng",
    )
    assert [(line, kind) for _, line, kind in bad(pairs.report)] == [
        (2, "malformed JSON"),
        (3, "missing field"),
        (4, "empty line"),
        (6, "torn last line"),
    ]
    assert_accounted(pairs.report)


def test_table_parquet_and_errors(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "pairs.parquet"
    table = pa.table(
        {"sentence1": ["a", "b", None], "sentence2": ["c", "d", "e"], "score": [1.0, None, 2.0]}
    )
    pq.write_table(table, path)
    pairs = read_table(path, "pairs", score_range=(0, 5), lang2="eng")
    assert (pairs.sentence1, pairs.scores, pairs.lang, pairs.lang2) == (["a"], [1.0], "und", "eng")
    assert [(line, kind) for _, line, kind in bad(pairs.report)] == [
        (2, "missing field"),
        (3, "empty text"),
    ]
    with pytest.raises(ValueError, match="supported extensions"):
        read_table(write(tmp_path / "x.xlsx", "a"), "pairs")
    with pytest.raises(ValueError, match="unknown pairs column"):
        read_table(path, "pairs", {"anchor": "a"})
    with pytest.raises(ValueError, match="contract must be one of"):
        read_table(path, "triplets")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unexpected keyword"):
        read_table(path, "pairs", colour="red")
    with pytest.raises(FileNotFoundError, match="pairs table not found"):
        read_table(tmp_path / "none.csv", "pairs")


def test_registry_and_dispatch(tmp_path: Path) -> None:
    assert list(READERS) == [
        *("semrel", "stsb_multi_mt", "sts17", "korsts", "tatoeba"),
        *("flores", "sib200", "nusax", "table"),
        *("sib200_topics", "afrisenti", "nusax_senti", "americasnli", "xnli", "kornli", "beir"),
    ]
    assert READERS["sib200"] is READERS["flores"] is read_flores_parallel
    path = write(tmp_path / "stsb-fr-test.csv", "Un.,Une.,2.5\n")
    assert read_dataset("stsb-multi-mt", path=path).lang == "fra"
    with pytest.raises(ValueError, match="unknown data format 'mnli'; known formats: semrel,"):
        read_dataset("mnli", path=path)


# --- Real data (../shared/data) -------------------------------------------------------------


def _csv_rows(path: Path, **kw: object) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle, **kw))  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("rel", "lang"),
    [
        ("Track_A/hau/hau_dev_with_labels.csv", "hau"),
        ("Track_B/afr/afr_dev_with_labels.csv", "afr"),
        ("Track_C/pan/pan_dev_with_labels.csv", "pan"),
        ("Track_A/esp/esp_train.csv", "spa"),
    ],
)
def test_real_semrel(shared_data: Path, rel: str, lang: str) -> None:
    path = shared_data / "semrel2024" / rel
    rows = _csv_rows(path)
    score_col = [c.lower() for c in rows[0]].index("score")
    pairs = read_semrel(path)
    assert pairs.lang == lang and len(pairs) == len(rows) - 1 > 0
    assert pairs.scores == [float(row[score_col]) for row in rows[1:]]
    assert all(0.0 <= s <= 1.0 for s in pairs.scores)
    assert all(
        s1 and s2 and "\n" not in s1 + s2
        for s1, s2 in zip(pairs.sentence1, pairs.sentence2, strict=True)
    )
    assert not pairs.report.bad_rows


@pytest.mark.slow
def test_real_sts(shared_data: Path) -> None:
    stsb = read_stsb_multi_mt(shared_data / "stsb_multi_mt" / "stsb-de-dev.csv")
    assert len(stsb) == len(_csv_rows(shared_data / "stsb_multi_mt" / "stsb-de-dev.csv"))
    assert stsb.lang == "deu" and all(0 <= s <= 5 for s in stsb.scores)
    korsts_path = shared_data / "korsts_kornli" / "KorSTS" / "sts-dev.tsv"
    korsts = read_korsts(korsts_path)
    assert len(korsts) == len(korsts_path.read_text(encoding="utf-8").splitlines()) - 1
    folder = shared_data / "sts17_crosslingual" / "STS2017.eval.v1.1"
    ar_en = read_sts17(folder / "STS.input.track2.ar-en.txt")
    assert (ar_en.lang, ar_en.lang2, len(ar_en), ar_en.report.bad_rows) == ("arb", "eng", 250, [])
    tr_en = read_sts17(folder / "STS.input.track6.tr-en.txt")
    gold = shared_data / "sts17_crosslingual" / "STS2017.gs" / "STS.gs.track6.tr-en.txt"
    assert tr_en.scores == [float(x) for x in gold.read_text().split()]
    assert len(tr_en) == 250 and tr_en.report.skipped_by_reason == {"no gold score": 250}
    assert len(read_sts17(folder / "STS.input.track6.tr-en.txt", limit=250).report.bad_rows) == 0


@pytest.mark.slow
def test_real_bitext(shared_data: Path) -> None:
    root = shared_data / "tatoeba_laser"
    afr = read_tatoeba(root, "afr")
    src_lines = (root / "tatoeba.afr-eng.afr").read_text(encoding="utf-8").splitlines()
    assert len(afr) == len(src_lines) == 1000 and afr.source[0] == src_lines[0].strip()
    assert len(afr.target) == 1000 and not afr.report.bad_rows

    sib = read_flores_parallel(shared_data / "sib200", "hau", "eng", split="dev")
    hau_rows = _csv_rows(
        shared_data / "sib200/annotated/hau_Latn/dev.tsv", delimiter="\t", quoting=csv.QUOTE_NONE
    )
    eng_rows = _csv_rows(
        shared_data / "sib200/annotated/eng_Latn/dev.tsv", delimiter="\t", quoting=csv.QUOTE_NONE
    )
    eng_by_id = {row[0]: row[2] for row in eng_rows[1:]}
    assert len(sib) == len(hau_rows) - 1 == 99 and not sib.report.bad_rows
    assert sib.target == [eng_by_id[row[0]] for row in hau_rows[1:]]

    nusax = read_nusax(shared_data / "nusax", "jav", "ind", split="test")
    assert len(nusax) == len(_csv_rows(shared_data / "nusax" / "mt" / "test.csv")) - 1 == 400
