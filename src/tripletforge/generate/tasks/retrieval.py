"""``retrieval``: from a passage, the query a user would type to find it (Promptagator/Gecko).

Each seed row is a passage (a sentence, or a short paragraph when the seed file holds
paragraphs); one pass writes a query in the passage's language (``mode: monolingual``) or in
English (``mode: crosslingual``: cross-lingual retrieval). A row is ``anchor`` = the query,
``positive`` = the passage, with ``lang`` the query's language and ``positive_lang`` the
passage's; the hard negative is mined afterwards from the seed corpus
(:func:`tripletforge.train.mine.mine_negatives` with ``task="retrieval"``, which never takes
the passage again, nor a text with its key). The teacher's round-trip check (the
``consistency`` filter) keeps a pair only when its passage ranks in the top k for its query.

Prompts (``retrieval-query-<format>-v1``): a system message saying what a search query is,
each shot as one exchange (passage → its query), then the passage; completion blocks
``Passage (Hausa): …`` / ``Query (English): …`` ending on the label to complete.

Rejections besides the shared ones: ``query_copies_passage`` (the passage's key inside the
query's, or the query within one word edit of a passage of four or more words) and
``query_too_long`` (more than ``max(8, words of the passage)`` words, and never more than 32).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import ClassVar

from tripletforge.data.schemas import SeedSentence
from tripletforge.data.tasks import Role
from tripletforge.data.text import text_key, token_edits, word_tokens
from tripletforge.generate.parsing import Parsed
from tripletforge.generate.pool import Example
from tripletforge.generate.requests import Pass
from tripletforge.generate.tasks import register_task
from tripletforge.generate.tasks.base import GenerationTask, named

#: Longest query kept (words), whatever the passage's length.
MAX_QUERY_WORDS = 32
#: A query may always have this many words, even for a shorter passage.
MIN_QUERY_LIMIT = 8

_SYSTEM = (
    "You write search queries for a retrieval data set. Given a passage, write one query that a "
    "user would type into a search engine to find this passage: a short question or a few "
    "keywords about what the passage says. Do not copy the passage. Reply with the query only."
)


class RetrievalRejection(StrEnum):
    """Rejections of the retrieval task's parser (counted with the shared ones)."""

    QUERY_COPIES_PASSAGE = "query_copies_passage"
    QUERY_TOO_LONG = "query_too_long"


def _ask(out_lang: str) -> str:
    return f"Write one {named(out_lang)} search query for this passage."


@register_task("retrieval")
class RetrievalTask(GenerationTask):
    """(query, passage) pairs; hard-negative passages are mined from the seed corpus."""

    name = "retrieval"
    description = "query, relevant passage, hard-negative passage"
    passes = ("query",)
    needs_negatives = True
    default_pool = "retrieval-en"
    pool_columns: ClassVar[Mapping[str, str]] = {"anchor": "passage", "positive": "query"}
    rejections = tuple(RetrievalRejection)
    roles: ClassVar[Mapping[str, Role | None]] = {
        "anchor": "query",
        "positive": "document",
        "negative": "document",
    }

    def chat_messages(
        self, pass_: Pass, anchor: str, anchor_lang: str, out_lang: str, shots: Sequence[Example]
    ) -> tuple[dict[str, str], ...]:
        messages: list[dict[str, str]] = [{"role": "system", "content": _SYSTEM}]
        for shot in shots:
            passage = f"Passage ({named(shot.lang)}): {shot.anchor}\n{_ask(shot.out_lang)}"
            messages.append({"role": "user", "content": passage})
            messages.append({"role": "assistant", "content": shot.positive})
        messages.append(
            {
                "role": "user",
                "content": f"Passage ({named(anchor_lang)}): {anchor}\n{_ask(out_lang)}",
            }
        )
        return tuple(messages)

    def completion_text(
        self, pass_: Pass, anchor: str, anchor_lang: str, out_lang: str, shots: Sequence[Example]
    ) -> tuple[str, tuple[str, ...]]:
        header = (
            "Each passage is followed by a short search query that a user would type to find "
            "it.\n\n"
        )
        blocks = "".join(
            f"Passage ({named(s.lang)}): {s.anchor}\nQuery ({named(s.out_lang)}): {s.positive}\n\n"
            for s in shots
        )
        final = f"Passage ({named(anchor_lang)}): {anchor}\nQuery ({named(out_lang)}):"
        return header + blocks + final, ("\n",)

    def parse(
        self, pass_: Pass, raw: str, anchor: str, echo_texts: Iterable[str] = ()
    ) -> dict[str, Parsed]:
        parsed = super().parse(pass_, raw, anchor, echo_texts)[pass_]
        if parsed.ok:
            parsed = check_query(str(parsed.text), anchor)
        return {pass_: parsed}

    def languages(self, seed_lang: str, out_lang: str) -> tuple[str, str]:
        return out_lang, seed_lang  # the anchor column holds the query

    def row(self, seed: SeedSentence, parts: Mapping[str, str]) -> dict[str, str]:
        return {"anchor": parts["query"], "positive": seed.text}


def check_query(query: str, passage: str) -> Parsed:
    """Accept a parsed query, or reject it as a copy of the passage or as too long."""
    q_key, p_key = text_key(query), text_key(passage)
    q_tokens, p_tokens = word_tokens(query), word_tokens(passage)
    if p_key and p_key in q_key:
        return Parsed(None, RetrievalRejection.QUERY_COPIES_PASSAGE)
    if len(p_tokens) >= 4 and token_edits(q_tokens, p_tokens, 1) <= 1:
        return Parsed(None, RetrievalRejection.QUERY_COPIES_PASSAGE)
    limit = min(MAX_QUERY_WORDS, max(MIN_QUERY_LIMIT, len(p_tokens)))
    if len(q_tokens) > limit:
        return Parsed(None, RetrievalRejection.QUERY_TOO_LONG)
    return Parsed(query)
