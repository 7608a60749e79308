"""Round-trip consistency of generated retrieval pairs (Promptagator, Dai et al. 2022,
arXiv 2209.11755; Gecko, Lee et al. 2024, arXiv 2403.20327).

A generated query is kept only when the teacher encoder, searching the passage pool with it,
ranks the passage the query was written for within the top ``consistency_k``. The pool is every
distinct passage (positive and negative, deduplicated by
:func:`tripletforge.data.text.text_key`) of the retrieval rows filtered together — for a
pipeline arm, the language's kept seed passages and their mined negatives. Queries are
encoded with the teacher's query prompt and passages with its document prompt
(:mod:`tripletforge.filter.encoding`; ``query: `` / ``passage: `` for e5). Ties count against
the query: the rank is 1 + the number of *other* pool passages scoring at least as high.
Promptagator keeps top-1 only; the default ``consistency_k: 3`` is looser because seed
corpora hold near-duplicate passages on one topic.

Rows of other tasks (no query column) pass untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tripletforge.data.tasks import task_of, task_shape
from tripletforge.data.text import text_key
from tripletforge.filter.base import Row, register_filter
from tripletforge.filter.config import FilterConfig

if TYPE_CHECKING:
    import torch


def passage_ranks(queries: torch.Tensor, pool: torch.Tensor, positives: Sequence[int]) -> list[int]:
    """1-based rank of each query's own passage in the pool, ties counted against it.

    ``queries`` ``(n, d)`` and ``pool`` ``(m, d)`` are L2-normalised embeddings;
    ``positives[i]`` is the pool index of query *i*'s passage. Returns ``n`` ranks in 1..m.
    """
    import torch

    if len(positives) == 0:
        return []
    scores = queries @ pool.T  # (n, m) cosines
    own = scores[torch.arange(len(positives)), torch.as_tensor(list(positives))]
    at_least = (scores >= own[:, None]).sum(-1)  # includes the passage itself
    return [int(r) for r in at_least.tolist()]


def _is_retrieval(row: Row) -> bool:
    try:
        return task_shape(task_of(row)).role("anchor") == "query"
    except ValueError:
        return False


@register_filter("consistency")
class ConsistencyFilter:
    """Rejects ``passage not in teacher's top K (rank R of M)`` for retrieval rows."""

    name = "consistency"

    def __init__(self, config: FilterConfig, model: Any = None) -> None:
        self.teacher = config.teacher
        self.k = config.consistency_k
        self.batch_size = config.teacher_batch_size
        self._model = model
        self.details: dict[str, Any] = {}

    @property
    def model(self) -> Any:
        if self._model is None:
            if not self.teacher:
                raise ValueError("consistency needs a teacher encoder (config.teacher)")
            from tripletforge.models import load_encoder

            self._model = load_encoder(str(self.teacher))
        return self._model

    def __call__(self, rows: Sequence[Row]) -> list[str | None]:
        from tripletforge.filter.encoding import column_prompt, encode_texts

        out: list[str | None] = [None] * len(rows)
        members = [i for i, row in enumerate(rows) if _is_retrieval(row)]
        if not members:
            self.details = {}
            return out
        pool_index: dict[str, int] = {}
        pool: list[str] = []
        for i in members:
            for column in ("positive", "negative"):
                text = rows[i].get(column)
                if isinstance(text, str) and text.strip() and text_key(text) not in pool_index:
                    pool_index[text_key(text)] = len(pool)
                    pool.append(text)
        task = task_of(rows[members[0]])
        query_prompt = column_prompt(self.model, task, "anchor")
        passage_prompt = column_prompt(self.model, task, "positive")
        queries = encode_texts(
            self.model, [(query_prompt, str(rows[i]["anchor"])) for i in members], self.batch_size
        )
        passages = encode_texts(self.model, [(passage_prompt, t) for t in pool], self.batch_size)
        own = [pool_index[text_key(str(rows[i]["positive"]))] for i in members]
        ranks = passage_ranks(queries, passages, own)
        for i, rank in zip(members, ranks, strict=True):
            if rank > self.k:
                out[i] = f"passage not in teacher's top {self.k} (rank {rank} of {len(pool)})"
        self.details = {
            "k": self.k,
            "pool": len(pool),
            "queries": len(members),
            "rank_counts": {str(r): ranks.count(r) for r in sorted(set(ranks)) if r <= 10},
        }
        return out
