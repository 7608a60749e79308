"""Generation tasks, registered by name (like the strategies and backends).

A task is *what* is generated from a seed — its passes, prompts (chat and completion), parser
rules, rejection reasons and row shape (:class:`~tripletforge.generate.tasks.base.GenerationTask`);
a strategy is *how* prompts are chosen (few-shot examples, adapters), a backend *where* they
run. Shipped tasks, each one module of this package, imported on first use:

- ``nli``: (anchor, entailment, contradiction), the paper's triplets;
- ``retrieval``: (query, passage) pairs for search, hard negatives mined afterwards;
- ``paraphrase``: (anchor, paraphrase, related non-paraphrase), STS-shaped.

A plugin task registers itself the same way (its row shape too)::

    @register_task("summary")
    class SummaryTask(GenerationTask):
        name = "summary"
        passes = ("positive",)
        ...

Registering a name twice (with another class) is an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tripletforge.generate.registry import lookup

if TYPE_CHECKING:
    from tripletforge.generate.tasks.base import GenerationTask

#: task name → class (filled as task modules are imported).
TASKS: dict[str, type[GenerationTask]] = {}
#: tasks shipped as modules of this package.
BUILTIN_TASKS = ("nli", "retrieval", "paraphrase")


def _qualified(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def register_task(name: str) -> Callable[[type], type]:
    """Class decorator that adds a task to :data:`TASKS` and its row shape to
    :data:`tripletforge.data.tasks.TASK_SHAPES`.

    Raises ``ValueError`` when ``name`` is taken by another class.
    """

    def decorate(cls: type) -> type:
        from tripletforge.data.tasks import TaskShape, register_task_shape

        known = TASKS.get(name)
        if known is not None and _qualified(known) != _qualified(cls):
            raise ValueError(
                f"task {name!r} is already registered ({_qualified(known)}); "
                "register yours under another name"
            )
        register_task_shape(TaskShape(name, dict(cls.roles), cls.description))  # type: ignore[attr-defined]
        TASKS[name] = cls
        return cls

    return decorate


def task_class(name: str) -> type[GenerationTask]:
    """The class registered under ``name`` (a shipped task's module is imported on first use).

    Raises ``ValueError`` listing the known tasks for an unknown name.
    """
    return lookup(TASKS, __name__, name, what="task", builtin=BUILTIN_TASKS)


def make_task(name: str, chat: bool) -> GenerationTask:
    """The task ``name`` in chat or completion format."""
    return task_class(name)(chat)


__all__ = ["BUILTIN_TASKS", "TASKS", "make_task", "register_task", "task_class"]
