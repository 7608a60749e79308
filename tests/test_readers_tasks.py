"""Readers of the classification, clustering, pair-classification and retrieval formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tripletforge.data.evalsets import dataset_sentences
from tripletforge.data.readers import (
    read_afrisenti,
    read_americasnli,
    read_beir,
    read_dataset,
    read_kornli,
    read_nusax_senti,
    read_sib200_topics,
    read_table,
    read_xnli,
)
from tripletforge.data.schemas import LabelledPairSet, LabelledSet, ReadReport, RetrievalSet


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def bad(report: ReadReport | None) -> list[tuple[str, int, str]]:
    assert report is not None
    return sorted((Path(b.path).name, b.line, b.reason.split(":", 1)[0]) for b in report.bad_rows)


def accounted(report: ReadReport | None) -> bool:
    assert report is not None
    return report.rows_read == report.rows_kept + len(report.bad_rows)


def test_sib200_topics_reads_train_and_evaluated_split_with_bad_rows(tmp_path: Path) -> None:
    folder = tmp_path / "sib200" / "hau_Latn"
    write(folder / "train.tsv", 'index_id\tcategory\ttext\n1\tsports\t"Quoted" text\n2\thealth\t\n')
    write(folder / "dev.tsv", "index_id\tcategory\ttext\n3\t\tNo label\n4\ttravel\tA trip\textra\n"
          "5\ttravel\tA trip\n")  # fmt: skip
    data = read_sib200_topics(tmp_path / "sib200", "hau", split="dev")
    assert isinstance(data, LabelledSet) and data.lang == "hau"
    assert data.train_texts == ['"Quoted" text'] and data.train_labels == ["sports"]
    assert data.texts == ["A trip"] and data.labels == ["travel"]
    assert bad(data.report) == [
        ("dev.tsv", 2, "missing field"),
        ("dev.tsv", 3, "malformed row"),
        ("train.tsv", 3, "empty text"),
    ]
    assert accounted(data.report)
    pooled = read_sib200_topics(
        tmp_path / "sib200", "hau", split="train+validation", train_split=None
    )
    assert pooled.texts == ['"Quoted" text', "A trip"] and pooled.train_texts == []
    assert dataset_sentences(data) == ["A trip"]  # the classifier's training split is not held out


def test_afrisenti_keeps_quotes_and_handles_an_empty_release_file(tmp_path: Path) -> None:
    write(tmp_path / "orm" / "train.tsv", "")
    write(
        tmp_path / "orm" / "test.tsv",
        'tweet\tlabel\n"ok" @user\tpositive\nbad \xff\tneutral\n'.encode("latin-1"),
    )
    data = read_afrisenti(tmp_path, "orm", split="test")
    assert data.train_texts == [] and data.texts == ['"ok" @user']
    assert bad(data.report) == [("test.tsv", 3, "invalid UTF-8")]
    with pytest.raises(FileNotFoundError, match="languages here: orm"):
        read_afrisenti(tmp_path, "xyz")


def test_nusax_senti_by_iso_code(tmp_path: Path) -> None:
    folder = tmp_path / "sentiment" / "acehnese"
    write(folder / "train.csv", 'id,text,label\n1,"Hana, that",negative\n')
    write(folder / "valid.csv", "id,text,label\n2,Get,positive\n3,,neutral\n")
    data = read_nusax_senti(tmp_path, "ace", split="dev")
    assert data.lang == "ace" and data.texts == ["Get"] and data.train_texts == ["Hana, that"]
    assert bad(data.report) == [("valid.csv", 3, "empty text")]


def test_americasnli_keeps_entailment_and_contradiction(tmp_path: Path) -> None:
    header = "language\tpremise\thypothesis\tlabel\n"
    write(tmp_path / "dev.tsv", header + "aym\tP1\tH1\tentailment\nquy\tP2\tH2\tcontradiction\n"
          "aym\tP3\tH3\tneutral\naym\tP4\tH4\tmaybe\naym\tP5\t\tcontradiction\n"
          "aym\tP6\tH6\tcontradiction\n")  # fmt: skip
    data = read_americasnli(tmp_path, "aym", split="validation")
    assert isinstance(data, LabelledPairSet)
    assert data.sentence1 == ["P1", "P6"] and data.labels == [1, 0]
    assert bad(data.report) == [
        ("dev.tsv", 4, "neutral label"),
        ("dev.tsv", 5, "bad label"),
        ("dev.tsv", 6, "empty text"),
    ]
    assert accounted(data.report)
    write(tmp_path / "test" / "gn.tsv", header + "gn\tA\tB\tentailment\n")
    assert read_americasnli(tmp_path, "grn", split="test").lang == "grn"


def test_xnli_and_kornli_columns(tmp_path: Path) -> None:
    write(tmp_path / "sw.genre.dev.tsv", "genre\tlabel\tsentence1_sw\tsentence2_sw\n"
          "f\tcontradiction\tNaye\tHakusema\nf\tentailment\tA\tB\n")  # fmt: skip
    sw = read_xnli(tmp_path, "swh", split="dev")
    assert sw.labels == [0, 1] and sw.sentence2 == ["Hakusema", "B"]
    write(tmp_path / "KorNLI" / "xnli.test.ko.tsv",
          'sentence1\tsentence2\tgold_label\n그가 "말했다"\t그는\tentailment\n')  # fmt: skip
    ko = read_kornli(tmp_path, split="test")
    assert ko.lang == "kor" and ko.sentence1 == ['그가 "말했다"']


def write_beir(root: Path) -> Path:
    corpus = [
        {"_id": "d1", "title": "T", "text": "one"},
        {"_id": "d2", "text": "two"},
        {"_id": "d2", "text": "again"},
        {"_id": "d3", "text": ""},
        {"text": "no id"},
    ]
    write(root / "corpus.jsonl", "\n".join(json.dumps(c) for c in corpus) + "\n")
    queries = [{"_id": "q1", "text": "first"}, {"_id": "q2", "text": "unjudged"}]
    write(root / "queries.jsonl", "\n".join(json.dumps(q) for q in queries) + "\n")
    write(root / "qrels" / "test.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t1\n"
          "q1\td9\t1\nq9\td1\t1\nq1\td2\tx\n")  # fmt: skip
    write(root / "top_ranked" / "test.tsv", "query-id\tcorpus-id\nq1\td1\nq1\td2\nq1\td7\n")
    return root


def test_beir_reader_reports_bad_rows_and_unjudged_queries(tmp_path: Path) -> None:
    data = read_beir(write_beir(tmp_path / "beir"), split="test", lang="hau", reranking=True)
    assert isinstance(data, RetrievalSet)
    assert data.corpus == {"d1": "one", "d2": "two"} and data.titles == {"d1": "T"}
    assert data.queries == {"q1": "first"} and data.qrels == {"q1": {"d1": 2, "d2": 1}}
    assert data.top_ranked == {"q1": ["d1", "d2"]}
    assert bad(data.report) == [
        ("corpus.jsonl", 3, "duplicate id"),
        ("corpus.jsonl", 4, "empty text"),
        ("corpus.jsonl", 5, "missing field"),
        ("queries.jsonl", 2, "no judgement"),
        ("test.tsv", 4, "unknown id"),
        ("test.tsv", 4, "unknown id"),
        ("test.tsv", 5, "unknown id"),
        ("test.tsv", 6, "bad score"),
    ]
    assert accounted(data.report)
    assert read_beir(tmp_path / "beir").top_ranked is None
    with pytest.raises(FileNotFoundError, match=r"qrels files here: test\.tsv"):
        read_beir(tmp_path / "beir", split="dev")


def test_table_labels_and_labelled_pairs(tmp_path: Path) -> None:
    write(tmp_path / "l.csv", "text,label\nA,x\nB,\n")
    labels = read_table(tmp_path / "l.csv", contract="labels", lang="hau")
    assert isinstance(labels, LabelledSet) and labels.texts == ["A"]
    write(tmp_path / "p.tsv", "s1\ts2\tlabel\nA\tB\t1\nC\tD\tneutral\nE\tF\t0\n")
    pairs = read_table(tmp_path / "p.tsv", contract="labelled_pairs",
                       columns={"sentence1": "s1", "sentence2": "s2"})  # fmt: skip
    assert pairs.labels == [1, 0] and len(pairs.report.bad_rows) == 1


@pytest.mark.parametrize(
    ("fmt", "kwargs", "n"),
    [
        ("sib200_topics", {"root": "sib200", "lang": "hau", "split": "dev"}, 99),
        ("afrisenti", {"root": "afrisenti", "lang": "kin", "split": "test"}, 1026),
        ("nusax_senti", {"root": "nusax", "lang": "bbc", "split": "test"}, 400),
        ("americasnli", {"root": "americasnli", "lang": "quy", "split": "dev"}, 496),
        ("xnli", {"root": "myxnli_xnli_en_my_sw_ur", "lang": "mya", "split": "dev"}, 1660),
        ("kornli", {"root": "korsts_kornli", "split": "test"}, 3340),
    ],
)
def test_real_shared_data(shared_data: Path, fmt: str, kwargs: dict, n: int) -> None:
    data = read_dataset(fmt, **{**kwargs, "root": shared_data / kwargs["root"]})
    assert len(data) == n
    assert accounted(data.report)
    if isinstance(data, LabelledPairSet):
        assert sum(data.labels) == n // 2  # XNLI-style sets are balanced
