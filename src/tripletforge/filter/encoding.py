"""Teacher embeddings of training rows, each column encoded as its task encodes it.

The teacher filters (margin, relevance, consistency) compare columns of rows under the prompt
policy (:mod:`tripletforge.models.prompts`) and the row's task shape
(:mod:`tripletforge.data.tasks`): symmetric tasks with mteb's STS prompt (none for e5),
retrieval rows with the query prompt on the anchor and the document prompt on positive and
negative (``query: `` / ``passage: `` for e5). Each distinct (prompt, text) is encoded once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tripletforge.data.tasks import task_of, task_shape

if TYPE_CHECKING:
    import torch

    from tripletforge.models.prompts import EncodePrompt

Row = dict[str, Any]


def column_prompt(model: Any, task: str, column: str) -> EncodePrompt:
    """The prompt a column of a task's rows is encoded with (``ValueError``: unknown task)."""
    from tripletforge.models.prompts import encode_prompt

    shape = task_shape(task)
    return encode_prompt(model, shape.mteb_type, shape.role(column))


def encode_texts(
    model: Any, items: Sequence[tuple[EncodePrompt, str]], batch_size: int = 64
) -> torch.Tensor:
    """L2-normalised embeddings ``(len(items), d)`` of (prompt, text) items, each distinct
    item encoded once (texts sorted per prompt, so results do not depend on row order)."""
    import torch

    from tripletforge.models.prompts import encode_with_prompt

    by_prompt: dict[EncodePrompt, list[str]] = {}
    for prompt, text in items:
        by_prompt.setdefault(prompt, []).append(text)
    index: dict[tuple[EncodePrompt, str], torch.Tensor] = {}
    for prompt, texts in by_prompt.items():
        order = sorted(set(texts))
        emb = encode_with_prompt(
            model,
            order,
            prompt,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_tensor=True,
        )
        index.update({(prompt, t): emb[i] for i, t in enumerate(order)})
    if not items:
        return torch.zeros((0, 0))
    return torch.stack([index[(p, t)] for p, t in items])


def encode_columns(
    model: Any, rows: Sequence[Row], columns: Sequence[str], batch_size: int = 64
) -> dict[str, torch.Tensor]:
    """Column name → ``(len(rows), d)`` normalised embeddings under each row's task prompts."""
    prompts: dict[tuple[str, str], EncodePrompt] = {}
    items: list[tuple[EncodePrompt, str]] = []
    for column in columns:
        for row in rows:
            key = (task_of(row), column)
            if key not in prompts:
                prompts[key] = column_prompt(model, *key)
            items.append((prompts[key], str(row[column])))
    emb = encode_texts(model, items, batch_size)
    n = len(rows)
    return {column: emb[i * n : (i + 1) * n] for i, column in enumerate(columns)}
