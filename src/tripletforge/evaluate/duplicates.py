"""Evaluation data that is not one-to-one: identical texts are the same item.

Several sources may share one translation, and a corpus may hold the same document twice. A
retrieved or mined item whose text equals the gold item's text is a hit, in every direction
and metric. Two texts are the same when they are equal after Unicode NFC normalisation and
stripping leading and trailing whitespace (:func:`text_key`); nothing else is folded (case,
punctuation and inner spaces still distinguish texts).

For parallel text this means: line ``j`` is a correct match for the query of line ``i`` when
``target[j]`` is the same text as ``target[i]``, or when ``source[j]`` is the same text as
``source[i]`` (the query itself occurs again with another translation) — see
:func:`equivalent_lines`. Retrieval corpora are deduplicated (:func:`dedupe_corpus`), so a
judgement on any copy of a document counts for all copies.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence


def text_key(text: str) -> str:
    """The identity of an evaluation text: NFC, without leading/trailing whitespace."""
    return unicodedata.normalize("NFC", text).strip()


def canonical_indices(texts: Sequence[str]) -> list[int]:
    """For each text, the index of the first text with the same key."""
    first: dict[str, int] = {}
    return [first.setdefault(text_key(t), i) for i, t in enumerate(texts)]


def equivalent_lines(queries: Sequence[str], gold: Sequence[str]) -> list[set[int]]:
    """For each line ``i`` of a parallel set, the lines whose ``gold`` side is a correct match
    for ``queries[i]``: same gold text, or same query text (see the module docstring)."""
    by_query: dict[str, list[int]] = {}
    by_gold: dict[str, list[int]] = {}
    for i, (q, g) in enumerate(zip(queries, gold, strict=True)):
        by_query.setdefault(text_key(q), []).append(i)
        by_gold.setdefault(text_key(g), []).append(i)
    return [
        set(by_query[text_key(q)]) | set(by_gold[text_key(g)])
        for q, g in zip(queries, gold, strict=True)
    ]


def dedupe_texts(texts: Sequence[str]) -> tuple[list[str], list[int]]:
    """Unique texts (first-seen order, first spelling kept) and each input's index among them."""
    index: dict[str, int] = {}
    unique: list[str] = []
    ids = []
    for text in texts:
        key = text_key(text)
        if key not in index:
            index[key] = len(unique)
            unique.append(text)
        ids.append(index[key])
    return unique, ids


def dedupe_corpus(
    corpus: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    top_ranked: Mapping[str, Sequence[str]] | None = None,
    titles: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], dict[str, dict[str, int]], dict[str, list[str]] | None, int]:
    """Merge documents with the same (title and) text into the first one's id.

    Relevance judgements move to the kept id (the highest grade wins) and reranking
    candidates are mapped and deduplicated, so retrieving any copy of a relevant document is a
    hit under mteb's metric code. Returns ``(corpus, qrels, top_ranked, merged)`` where
    ``merged`` counts the documents folded into another.
    """
    titles = titles or {}
    keep: dict[tuple[str, str], str] = {}
    alias: dict[str, str] = {}
    out: dict[str, str] = {}
    for doc_id, text in corpus.items():
        key = (text_key(titles.get(doc_id, "")), text_key(text))
        alias[doc_id] = keep.setdefault(key, doc_id)
        if alias[doc_id] == doc_id:
            out[doc_id] = text
    new_qrels: dict[str, dict[str, int]] = {}
    for qid, docs in qrels.items():
        judged: dict[str, int] = {}
        for doc_id, grade in docs.items():
            target = alias.get(doc_id, doc_id)
            judged[target] = max(grade, judged.get(target, grade))
        new_qrels[qid] = judged
    new_top = None
    if top_ranked is not None:
        new_top = {q: list(dict.fromkeys(alias.get(d, d) for d in docs))
                   for q, docs in top_ranked.items()}  # fmt: skip
    return out, new_qrels, new_top, len(corpus) - len(out)
