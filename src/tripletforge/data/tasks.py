"""The shape of training rows per task: which column is a query, which a document.

Every training row follows the triplet contract (``anchor, positive, negative``; see
:mod:`tripletforge.data.schemas`) and may say which **task** it belongs to in a ``task`` column
(absent = ``nli``, the rows tripletforge wrote before tasks existed). A task's shape tells
every encode of such rows — the teacher filters, hard-negative mining, training prompts —
how each column is encoded, following MTEB's prompt protocol
(:mod:`tripletforge.models.prompts`):

=============  ===================================  =========================================
task           columns                              encoding
=============  ===================================  =========================================
``nli``        anchor, entailment, contradiction    symmetric (mteb's ``STS`` prompt: none
                                                    for e5)
``paraphrase`` anchor, paraphrase, related           symmetric
               non-paraphrase (STS-shaped)
``sts``        sentence1, sentence2 (as anchor,     symmetric; trained with CoSENT on the
               positive) and a gold ``score``       gold score (:mod:`tripletforge.data.
                                                    scored`)
``retrieval``  query, relevant passage, hard-       ``anchor`` as a retrieval **query**
               negative passage                     (``query: `` for e5), ``positive`` and
                                                    ``negative`` as **documents**
                                                    (``passage: `` for e5)
=============  ===================================  =========================================

For retrieval rows the ``lang`` column is the query's language and ``positive_lang`` the
passages' (an English query for a Hausa passage: ``lang: eng``, ``positive_lang: hau``).

A plugin adds a task shape with :func:`register_task_shape` (the generation task registry,
:mod:`tripletforge.generate.tasks`, holds the prompts and parsers of the built-in ones).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["query", "document"]
#: The task of a row without a ``task`` column.
DEFAULT_TASK = "nli"


@dataclass(frozen=True)
class TaskShape:
    """How the columns of a task's rows are encoded.

    ``roles`` maps a column to ``"query"`` or ``"document"`` (asymmetric, retrieval-shaped) or
    ``None`` (symmetric); columns not listed are symmetric. ``mteb_type`` is the MTEB task
    type whose prompts apply (``"STS"`` for symmetric tasks, ``"Retrieval"`` otherwise).
    """

    name: str
    roles: Mapping[str, Role | None] = field(default_factory=dict)
    description: str = ""

    @property
    def symmetric(self) -> bool:
        return not any(self.roles.values())

    @property
    def mteb_type(self) -> str:
        return "STS" if self.symmetric else "Retrieval"

    def role(self, column: str) -> Role | None:
        return self.roles.get(column)


TASK_SHAPES: dict[str, TaskShape] = {
    "nli": TaskShape("nli", {}, "anchor, entailment, contradiction"),
    "paraphrase": TaskShape("paraphrase", {}, "anchor, paraphrase, related non-paraphrase"),
    "sts": TaskShape("sts", {}, "sentence1, sentence2 (anchor, positive) with a gold score"),
    "retrieval": TaskShape(
        "retrieval",
        {"anchor": "query", "positive": "document", "negative": "document"},
        "query, relevant passage, hard-negative passage",
    ),
}


def register_task_shape(shape: TaskShape) -> TaskShape:
    """Add a task shape; ``ValueError`` when its name is taken with other column roles."""
    known = TASK_SHAPES.get(shape.name)
    if known is not None and dict(known.roles) != dict(shape.roles):
        raise ValueError(
            f"task {shape.name!r} is already registered with the roles {dict(known.roles)}"
        )
    TASK_SHAPES[shape.name] = shape
    return shape


def task_shape(name: str) -> TaskShape:
    """The shape of task ``name``; ``ValueError`` listing the known tasks for another name."""
    if name not in TASK_SHAPES:
        raise ValueError(f"unknown task {name!r}; known: {', '.join(sorted(TASK_SHAPES))}")
    return TASK_SHAPES[name]


def task_of(row: Mapping[str, Any]) -> str:
    """The task of a training row (its ``task`` column; ``nli`` when absent or empty)."""
    value = row.get("task")
    return str(value) if isinstance(value, str) and value.strip() else DEFAULT_TASK
