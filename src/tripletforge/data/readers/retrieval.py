"""Reader for retrieval and reranking data in the BEIR/MTEB layout.

A data set folder holds::

    corpus.jsonl          {"_id": "d1", "title": "optional", "text": "document text"}
    queries.jsonl         {"_id": "q1", "text": "query text"}
    qrels/<split>.tsv     query-id <TAB> corpus-id <TAB> score   (header line; score ≥ 0,
                          > 0 = relevant, higher = more relevant)
    top_ranked/<split>.tsv   query-id <TAB> corpus-id   (reranking only: the candidates
                          of each query, one per line, header line)

These are the files of BEIR (Thakur et al., 2021) and of MTEB's retrieval data sets;
``corpus.jsonl``/``queries.jsonl`` may also be ``.tsv`` files with ``_id`` and ``text``
(and ``title``) columns. Rows with an empty text, a missing or repeated id, or judgements
that name an unknown id are skipped and reported with file, line and reason; queries
without any judgement cannot be scored and are reported as ``no judgement``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tripletforge.data.jsonl import iter_jsonl
from tripletforge.data.readers._common import (
    BAD_SCORE,
    DUPLICATE_ID,
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
from tripletforge.data.readers.bitext import _iso
from tripletforge.data.readers.labelled import DEV_SPLITS
from tripletforge.data.schemas import ReadReport, RetrievalSet

UNKNOWN_ID = "unknown id"
NO_JUDGEMENT = "no judgement"


def _records(path: Path, report: ReadReport) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line, row)`` of a JSONL file or a header TSV (``_id``/``id``, ``text``, ``title``)."""
    if path.suffix == ".jsonl":
        scratch = ReadReport(str(path))
        for row in iter_jsonl(path, scratch):
            yield scratch.rows_read, {k: row.get(k) for k in ("_id", "id", "text", "title")}
        report.rows_read += scratch.rows_read
        report.bad_rows.extend(scratch.bad_rows)
        return
    header, records = csv_records(path, report, delimiter="\t", quoted=False)
    assert header is not None
    lowered = [h.lower() for h in header]
    for line, fields in records:
        if len(fields) != len(header):
            skip_at(
                report, path, line, f"{MALFORMED}: {len(fields)} fields, header has {len(header)}"
            )
            continue
        yield line, dict(zip(lowered, fields, strict=True))


def _texts(
    path: Path, report: ReadReport, what: str
) -> tuple[dict[str, str], dict[str, str], dict[str, int]]:
    """``{id: text}``, ``{id: title}`` and ``{id: line}`` of a corpus or queries file."""
    texts: dict[str, str] = {}
    titles: dict[str, str] = {}
    first: dict[str, int] = {}
    for line, row in _records(path, report):
        key = clean(row.get("_id") if row.get("_id") is not None else row.get("id"))
        text, title = clean(row.get("text")), clean(row.get("title"))
        reason = utf8_error(key, text, title)
        if reason is None and not key:
            reason = f"{MISSING_FIELD}: _id"
        if reason is None and not text:
            reason = f"{EMPTY_TEXT}: {what} text"
        if reason is None and key in texts:
            reason = f"{DUPLICATE_ID}: {what} {key} first on line {first[key]}"
        if reason is not None:
            skip_at(report, path, line, reason)
            continue
        texts[key], first[key] = text, line
        if title:
            titles[key] = title
        report.rows_kept += 1
    return texts, titles, first


def _find(folder: Path, stem: str) -> Path:
    for suffix in (".jsonl", ".tsv"):
        if (folder / f"{stem}{suffix}").is_file():
            return folder / f"{stem}{suffix}"
    return require_file(folder / f"{stem}.jsonl", f"BEIR {stem} file", "Expected .jsonl or .tsv")


def _split_file(folder: Path, sub: str, split: str) -> Path | None:
    names = [split] + (list(DEV_SPLITS) if split in DEV_SPLITS else [])
    return next((folder / sub / f"{n}.tsv" for n in names if (folder / sub / f"{n}.tsv").is_file()),
                None)  # fmt: skip


def read_beir(
    root: str | Path, split: str = "test", lang: str | None = None, reranking: bool = False
) -> RetrievalSet:
    """Read a BEIR/MTEB retrieval folder (see the module docstring) for one split.

    ``reranking=True`` requires ``top_ranked/<split>.tsv``; without it the file is ignored.
    ``lang`` (ISO 639-3) labels the set; ``und`` when not given.
    """
    folder = Path(root)
    if not folder.is_dir():
        raise FileNotFoundError(f"BEIR folder not found: {folder}")
    qrels_path = _split_file(folder, "qrels", split)
    if qrels_path is None:
        found = sorted(p.name for p in (folder / "qrels").glob("*.tsv"))
        raise FileNotFoundError(
            f"no qrels/{split}.tsv in {folder}; qrels files here: {', '.join(found) or 'none'}"
        )
    corpus_path, queries_path = _find(folder, "corpus"), _find(folder, "queries")
    report = ReadReport(str(qrels_path))
    corpus, titles, _ = _texts(corpus_path, report, "document")
    queries, _, query_lines = _texts(queries_path, report, "query")
    qrels: dict[str, dict[str, int]] = {}
    header, records = csv_records(qrels_path, report, delimiter="\t", quoted=False)
    assert header is not None
    q_col = find_column(header, ["query-id", "query_id", "qid"], qrels_path)
    d_col = find_column(header, ["corpus-id", "corpus_id", "doc-id", "docid"], qrels_path)
    s_col = find_column(header, ["score", "relevance"], qrels_path)
    for line, fields in records:
        if len(fields) != len(header):
            report.skip(line, f"{MALFORMED}: {len(fields)} fields, header has {len(header)}")
            continue
        qid, did, raw = fields[q_col].strip(), fields[d_col].strip(), fields[s_col].strip()
        try:
            score = int(float(raw))
        except ValueError:
            report.skip(line, f"{BAD_SCORE}: {raw[:20]!r} is not a number")
            continue
        if score < 0:
            report.skip(line, f"{BAD_SCORE}: {score} is negative")
            continue
        if qid not in queries or did not in corpus:
            which = f"query {qid}" if qid not in queries else f"document {did}"
            report.skip(line, f"{UNKNOWN_ID}: {which}")
            continue
        qrels.setdefault(qid, {})[did] = score
        report.rows_kept += 1
    files = [corpus_path, queries_path, qrels_path]
    top_ranked = None
    if reranking:
        top_path = _split_file(folder, "top_ranked", split)
        if top_path is None:
            raise FileNotFoundError(
                f"reranking needs {folder / 'top_ranked' / (split + '.tsv')} "
                "(query-id <TAB> corpus-id candidates)"
            )
        files.append(top_path)
        top_ranked = {}
        header, records = csv_records(top_path, report, delimiter="\t", quoted=False)
        assert header is not None
        q_col = find_column(header, ["query-id", "query_id", "qid"], top_path)
        d_col = find_column(header, ["corpus-id", "corpus_id", "doc-id", "docid"], top_path)
        for line, fields in records:
            if len(fields) != len(header):
                msg = f"{MALFORMED}: {len(fields)} fields, header has {len(header)}"
                skip_at(report, top_path, line, msg)
                continue
            qid, did = fields[q_col].strip(), fields[d_col].strip()
            if qid not in queries or did not in corpus:
                which = f"query {qid}" if qid not in queries else f"document {did}"
                skip_at(report, top_path, line, f"{UNKNOWN_ID}: {which}")
                continue
            top_ranked.setdefault(qid, []).append(did)
            report.rows_kept += 1
    judged = {qid: text for qid, text in queries.items() if qrels.get(qid)}
    for qid in queries.keys() - judged.keys():
        line = query_lines[qid]
        skip_at(report, queries_path, line, f"{NO_JUDGEMENT}: query {qid} has no qrels in {split}")
        report.rows_kept -= 1
    if top_ranked is not None:
        top_ranked = {qid: docs for qid, docs in top_ranked.items() if qid in judged}
    code = _iso(lang) if lang else "und"
    return RetrievalSet(
        name=f"{folder.name}-{split}",
        lang=code,
        corpus=corpus,
        queries=judged,
        qrels={qid: qrels[qid] for qid in judged},
        titles=titles,
        top_ranked=top_ranked,
        split=split,
        files=[str(p) for p in files],
        report=report,
    )
