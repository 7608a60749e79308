"""Suite files: validation errors that name the field and the fix, and path resolution."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tripletforge.evaluate.datasets import check_paths
from tripletforge.evaluate.suite import SuiteError, builtin_suites, load_suite, parse_suite

GOOD = {
    "name": "t",
    "datasets": [
        {"name": "s", "task": "sts", "format": "semrel", "path": "s.csv", "lang": "hau"},
        {
            "name": "b",
            "task": "bitext",
            "format": "tatoeba",
            "root": "{data_root}/tat",
            "lang": "afr",
        },
    ],
}


def _with(**changes) -> dict:
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    data["datasets"][0].update(changes)
    return data


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"task": "regression"},
            "datasets[0].task: Input should be 'sts', 'bitext', 'retrieval', 'reranking', "
            "'classification', 'clustering' or 'pair_classification'",
        ),
        ({"task": "clustering"}, "cannot feed task 'clustering'; for clustering use one of"),
        ({"n_experiments": 3}, "field 'n_experiments' only applies to task 'classification'"),
        ({"format": "tatoeba"}, "cannot feed task 'sts'; for sts use one of semrel"),
        ({"format": "nope"}, "format 'nope' is unknown; use one of semrel"),
        ({"pathh": "x"}, "datasets[0].pathh: unknown field; allowed fields are name, task"),
        (
            {"root": "x"},
            "field 'root' is not used by format 'semrel'; that format takes path, lang",
        ),
        ({"path": None}, "format 'semrel' needs 'path'; add `path: ...`"),
        ({"limit": 0}, "datasets[0].limit: Input should be greater than 0"),
    ],
)
def test_validation_errors_name_the_field_and_the_fix(changes: dict, expected: str) -> None:
    with pytest.raises(SuiteError) as info:
        parse_suite(_with(**changes), "suite.yaml")
    assert expected in str(info.value)
    assert str(info.value).startswith("invalid suite suite.yaml:")


def test_missing_name_and_duplicate_datasets() -> None:
    data = dict(GOOD)
    del data["name"]
    with pytest.raises(SuiteError, match=r"name: required field is missing; add `name: \.\.\.`"):
        parse_suite(data)
    dup = yaml.safe_load(yaml.safe_dump(GOOD))
    dup["datasets"][1]["name"] = "s"
    with pytest.raises(SuiteError, match="'s' appears twice"):
        parse_suite(dup)


def test_load_suite_reports_bad_yaml_and_unknown_names(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(SuiteError, match="not valid YAML"):
        load_suite(bad)
    with pytest.raises(SuiteError, match="neither a file nor a built-in suite"):
        load_suite(tmp_path / "missing.yaml")


def test_paths_resolve_against_suite_folder_or_data_root(tmp_path: Path) -> None:
    suite_file = tmp_path / "suites" / "t.yaml"
    suite_file.parent.mkdir()
    suite_file.write_text(yaml.safe_dump(GOOD))
    suite = load_suite(suite_file)
    assert suite.resolve_path("s.csv") == tmp_path / "suites" / "s.csv"
    assert suite.resolve_path("s.csv", tmp_path / "data") == tmp_path / "data" / "s.csv"
    assert suite.resolve_path("{data_root}/tat", tmp_path / "d") == tmp_path / "d" / "tat"
    with_root = parse_suite({**GOOD, "data_root": "../shared"}, base_dir=tmp_path / "suites")
    assert with_root.resolve_path("{data_root}/x") == tmp_path / "shared" / "x"


def test_missing_files_are_reported_before_encoding(tmp_path: Path) -> None:
    suite = parse_suite(GOOD, base_dir=tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        check_paths(suite, suite.datasets, tmp_path)
    message = str(info.value)
    assert "s.path:" in message and "b.root:" in message and "--data-root" in message


def test_select_by_glob() -> None:
    suite = parse_suite(GOOD)
    assert [d.name for d in suite.select(["b*"])] == ["b"]
    with pytest.raises(SuiteError, match="no data set matches"):
        suite.select(["zzz"])


def test_builtin_shared_dev_suite_points_at_existing_files(shared_data: Path) -> None:
    assert "shared-dev" in builtin_suites()
    suite = load_suite("shared-dev")
    tasks = {d.task for d in suite.datasets}
    assert tasks == {"sts", "bitext", "retrieval", "classification", "clustering",
                     "pair_classification"}  # fmt: skip
    langs = {d.language for d in suite.datasets if d.task == "sts"}
    assert langs == {"hau", "kin", "amh", "mar", "tel", "arq", "ary", "afr", "pan", "eng"}
    check_paths(suite, suite.datasets, shared_data)  # raises if any path is missing


def test_builtin_suite_uses_only_shipped_data(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ../shared/data reachable from here
    monkeypatch.delenv("TRIPLETFORGE_DATA_ROOT", raising=False)
    suite = load_suite("builtin")
    check_paths(suite, suite.datasets, None)  # raises if any path is missing
    roots = {suite.resolve_path(d.root) for d in suite.datasets}
    assert all("resources" in str(root) for root in roots)
    assert {d.language for d in suite.datasets} == {"hau", "kin", "amh", "swh"}
    assert {d.task for d in suite.datasets} == {"bitext", "retrieval", "classification"}


def test_new_task_fields_and_their_checks() -> None:
    cls = {"name": "c", "task": "classification", "format": "sib200_topics", "root": "r",
           "lang": "hau", "split": "dev", "n_experiments": 3, "samples_per_label": 4}  # fmt: skip
    suite = parse_suite({"name": "n", "datasets": [cls]})
    assert suite.datasets[0].reader_kwargs(str) == {"root": "r", "lang": "hau", "split": "dev"}
    clu = {**cls, "name": "k", "task": "clustering"}
    del clu["n_experiments"], clu["samples_per_label"]
    kwargs = parse_suite({"name": "n", "datasets": [clu]}).datasets[0].reader_kwargs(str)
    assert kwargs["train_split"] is None  # clustering reads no training split
    table = {"name": "t", "task": "classification", "format": "table", "path": "test.csv"}
    with pytest.raises(SuiteError, match="format 'table' needs 'train_path'"):
        parse_suite({"name": "n", "datasets": [table]})
    rerank = {"name": "r", "task": "reranking", "format": "beir", "root": "b"}
    assert parse_suite({"name": "n", "datasets": [rerank]}).datasets[0].reader_kwargs(str) == {
        "root": "b", "reranking": True}  # fmt: skip
    with pytest.raises(SuiteError, match="retrieval_k 7 is not a cut-off mteb reports"):
        parse_suite({"name": "n", "retrieval_k": 7, "datasets": [rerank]})
    same = {**cls, "train_split": "dev"}
    with pytest.raises(SuiteError, match="split and train_split are both 'dev'"):
        parse_suite({"name": "n", "datasets": [same]})
