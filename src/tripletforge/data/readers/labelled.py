"""Readers for labelled texts (classification, clustering): SIB-200 topics, AfriSenti, NusaX.

Each returns a :class:`~tripletforge.data.schemas.LabelledSet` with the evaluated ``split`` and,
for classification, the ``train_split`` a classifier is fitted on. ``split`` may join several
splits with ``+`` (``train+dev+test``: MTEB's SIB-200 clustering pools all three). Split names
``dev``, ``valid`` and ``validation`` are the same split.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tripletforge.data.readers._common import (
    EMPTY_TEXT,
    MALFORMED,
    MISSING_FIELD,
    clean,
    csv_records,
    find_column,
    require_file,
    skip_at,
    utf8_error,
)
from tripletforge.data.readers.bitext import NUSAX_COLUMNS, _iso, _nusax_column, sib200_folder
from tripletforge.data.schemas import LabelledSet, ReadReport

DEV_SPLITS = ("dev", "valid", "validation")


class LabelCollector:
    """Validates and accumulates (text, label) rows, reporting each rejected row."""

    def __init__(self, report: ReadReport, path: str | Path | None = None) -> None:
        self.report = report
        self.path = str(path or report.path)
        self.texts: list[str] = []
        self.labels: list[str] = []

    def add(self, line: int, text: object, label: object) -> bool:
        """Keep the row or record why not; return whether it was kept."""
        body, tag = clean(text), clean(label)
        reason = utf8_error(body, tag)
        if reason is None and not body:
            reason = f"{EMPTY_TEXT}: text"
        if reason is None and not tag:
            reason = f"{MISSING_FIELD}: label"
        if reason is not None:
            skip_at(self.report, self.path, line, reason)
            return False
        self.texts.append(body)
        self.labels.append(tag)
        self.report.rows_kept += 1
        return True


def split_names(split: str) -> list[str]:
    """The splits of a ``+``-joined split name, in order (``dev+test`` → ``[dev, test]``)."""
    parts = [part.strip() for part in split.split("+") if part.strip()]
    if not parts:
        raise ValueError(f"empty split name {split!r}")
    return parts


def _tsv_labelled(
    path: Path, report: ReadReport, text_names: list[str], label_names: list[str]
) -> LabelCollector:
    """Rows of a header TSV (quotes are text) with a text and a label column."""
    header, records = csv_records(path, report, delimiter="\t", quoted=False)
    assert header is not None
    text_col = find_column(header, text_names, path)
    label_col = find_column(header, label_names, path)
    rows = LabelCollector(report, path)
    for line, fields in records:
        if len(fields) != len(header):
            skip_at(
                report, path, line, f"{MALFORMED}: {len(fields)} fields, header has {len(header)}"
            )
            continue
        rows.add(line, fields[text_col], fields[label_col])
    return rows


def _read_splits(
    name: str,
    lang: str,
    split: str,
    train_split: str | None,
    read_one: Callable[[str, ReadReport], tuple[LabelCollector, Path]],
    report_path: str,
) -> LabelledSet:
    report = ReadReport(report_path)
    files: list[str] = []

    def collect(joined: str) -> tuple[list[str], list[str]]:
        texts: list[str] = []
        labels: list[str] = []
        for part in split_names(joined):
            rows, path = read_one(part, report)
            files.append(str(path))
            texts += rows.texts
            labels += rows.labels
        return texts, labels

    texts, labels = collect(split)
    train_texts, train_labels = collect(train_split) if train_split else ([], [])
    return LabelledSet(
        name=name,
        lang=lang,
        texts=texts,
        labels=labels,
        train_texts=train_texts,
        train_labels=train_labels,
        split=split,
        train_split=train_split,
        files=files,
        report=report,
    )


def read_sib200_topics(
    root: str | Path, lang: str, split: str = "test", train_split: str | None = "train"
) -> LabelledSet:
    """Read SIB-200 topic labels: ``{split}.tsv`` (``index_id, category, text``) of a language.

    ``root`` is the SIB-200 folder (or its ``annotated/``); ``lang`` an ISO 639-3 code or a
    folder name (``hau_Latn``). ``train_split=None`` reads no training split (clustering).
    """
    folder = sib200_folder(root, lang)
    code = _iso(lang)

    def read_one(part: str, report: ReadReport) -> tuple[LabelCollector, Path]:
        part = "dev" if part in DEV_SPLITS else part
        path = require_file(folder / f"{part}.tsv", "SIB-200 split")
        return _tsv_labelled(path, report, ["text"], ["category"]), path

    return _read_splits(
        f"sib200-{code}-{split}", code, split, train_split, read_one, str(folder / f"{split}.tsv")
    )


def read_afrisenti(
    root: str | Path, lang: str, split: str = "test", train_split: str | None = "train"
) -> LabelledSet:
    """Read AfriSenti tweets (``<root>/<lang>/{train,dev,test}.tsv``: ``tweet, label``).

    ``lang`` is the folder name (``hau``, ``amh``, ``swa``…; ISO 639-3 except ``pcm``-style
    names already are). Quotes are text (tweets quote freely), so fields split on tabs only.
    """
    root = Path(root)
    folder = root / lang
    if not folder.is_dir() and (root / "afrisenti" / lang).is_dir():
        folder = root / "afrisenti" / lang
    if not folder.is_dir():
        known = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        raise FileNotFoundError(
            f"no AfriSenti folder {folder}; languages here: {', '.join(known) or 'none'}"
        )

    def read_one(part: str, report: ReadReport) -> tuple[LabelCollector, Path]:
        part = "dev" if part in DEV_SPLITS else part
        path = require_file(folder / f"{part}.tsv", "AfriSenti split")
        if path.stat().st_size == 0:
            return LabelCollector(report, path), path  # released empty (orm, tir train)
        return _tsv_labelled(path, report, ["tweet", "text"], ["label"]), path

    code = _iso(lang)
    return _read_splits(
        f"afrisenti-{code}-{split}",
        code,
        split,
        train_split,
        read_one,
        str(folder / f"{split}.tsv"),
    )


def read_nusax_senti(
    root: str | Path, lang: str, split: str = "test", train_split: str | None = "train"
) -> LabelledSet:
    """Read NusaX sentiment (``<root>/sentiment/<language>/{train,valid,test}.csv``).

    Columns ``id, text, label``; ``lang`` is an ISO 639-3 code (``ace``, ``bbc``…) or the
    NusaX folder name (``acehnese``).
    """
    column = _nusax_column(lang)
    root = Path(root)
    folder = next(
        (p for p in (root / "sentiment" / column, root / column) if p.is_dir()),
        root / "sentiment" / column,
    )
    if not folder.is_dir():
        raise FileNotFoundError(f"NusaX sentiment folder not found: {folder}")

    def read_one(part: str, report: ReadReport) -> tuple[LabelCollector, Path]:
        part = "valid" if part in DEV_SPLITS else part
        path = require_file(folder / f"{part}.csv", "NusaX sentiment split")
        header, records = csv_records(path, report)
        assert header is not None
        text_col = find_column(header, ["text"], path)
        label_col = find_column(header, ["label"], path)
        rows = LabelCollector(report, path)
        for line, fields in records:
            if len(fields) != len(header):
                skip_at(
                    report,
                    path,
                    line,
                    f"{MALFORMED}: {len(fields)} fields, header has {len(header)}",
                )
                continue
            rows.add(line, fields[text_col], fields[label_col])
        return rows, path

    code = {name: iso for iso, name in NUSAX_COLUMNS.items()}[column]
    return _read_splits(
        f"nusax-senti-{code}-{split}",
        code,
        split,
        train_split,
        read_one,
        str(folder / f"{split}.csv"),
    )
