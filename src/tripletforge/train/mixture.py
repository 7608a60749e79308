"""Training on several named datasets at once: tasks, or sources, that never share a batch.

The data contract
-----------------
A mixture is a list of :class:`~tripletforge.train.config.TrainSet` (one per task — ``nli``,
``retrieval``, ``paraphrase`` — or per data source — XL-LoRA pairs, parallel text with mined
negatives, synthetic triplets, English NLI). Each set has

- a **name** (unique; the dataset name sentence-transformers sees),
- **rows** read from its ``files`` by the careful table reader (rows without a usable text in
  every one of its columns are skipped and counted, with file, line and reason),
- its **columns**, in training order: anchor, positive, then any hard negatives
  (MultipleNegativesRankingLoss takes them by position; a set may have two columns, pairs,
  or three and more),
- a **prompt per column**: ``prompts[column]`` when given; else the prompt of the column's
  role (``roles[column]``, else the role of the same position in the set's task shape,
  :mod:`tripletforge.data.tasks`: retrieval = query, document, document; NLI and paraphrase
  = symmetric) under the encoder's prompt policy (:mod:`tripletforge.models.prompts`): the
  e5 encoders get ``query: `` on queries, ``passage: `` on documents and nothing on
  symmetric text, exactly what mteb applies at evaluation; ``TrainConfig.prompt`` overrides
  the symmetric prompt, as it does for single-set training,
- a **weight**: its share of batches under ``mixing: weighted``.

Batches never mix sets: the sets go to the sentence-transformers trainer as a
``DatasetDict``; each set gets its own batch sampler (no duplicate text within a batch) and the
multi-dataset batch sampler takes every batch whole from one of them —
``proportional`` (sentence-transformers' ``ProportionalBatchSampler``: batches in proportion to
set sizes, every row used once per epoch), ``round_robin`` (its ``RoundRobinBatchSampler``:
one batch of each set in turn until the smallest runs out) or ``weighted``
(:class:`WeightedBatchSampler`: the epoch's batches split by weight, a set that runs out
starting over). Prompts go to the trainer as ``prompts={set: {column: prompt}}``, which its
collator applies to each batch's columns.

One set whose columns share one prompt (plain NLI triplets) trains exactly as before: a plain
``Dataset`` and one prompt. ``train_files`` whose rows belong to several tasks (their ``task``
column) become one set per task (:func:`sets_from_files`).

>>> from tripletforge.train import TrainConfig, train_encoder
>>> from tripletforge.train.config import TrainSet
>>> train_encoder(TrainConfig(output_dir="out", train_sets=[
...     TrainSet(name="nli", files=["nli.jsonl"]),
...     TrainSet(name="retrieval", files=["queries.jsonl"], task="retrieval", weight=2),
... ], mixing="weighted"))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tripletforge.data.schemas import TRIPLET_COLUMNS, ReadReport
from tripletforge.data.tasks import TaskShape, task_of, task_shape
from tripletforge.train.config import TrainConfig, TrainSet

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

Row = dict[str, Any]


@dataclass
class LoadedSet:
    """A training set read from its files, with the prompt of each column once resolved."""

    spec: TrainSet
    rows: list[Row]
    reports: list[ReadReport] = field(default_factory=list)
    prompts: dict[str, str] = field(default_factory=dict)  # column → prompt text ("" = none)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def columns(self) -> list[str]:
        return list(self.spec.columns)

    def task(self) -> str:
        """The set's task: ``spec.task``, else its rows' (one task; ``nli`` when absent)."""
        if self.spec.task:
            return self.spec.task
        tasks = sorted({task_of(r) for r in self.rows}) or ["nli"]
        if len(tasks) > 1:
            raise ValueError(
                f"training set {self.name!r} holds rows of several tasks {tasks}; give it a "
                "`task:` or split it into one set per task"
            )
        return tasks[0]


def read_set_rows(spec: TrainSet) -> tuple[list[Row], list[ReadReport]]:
    """The rows of a set's files that hold usable text in each of its columns (first ``limit``)."""
    from tripletforge.data.readers.table import read_records
    from tripletforge.data.triplets import read_triplets

    rows: list[Row] = []
    reports: list[ReadReport] = []
    for path in spec.files:
        if Path(path).is_dir() or tuple(spec.columns) == TRIPLET_COLUMNS:
            part, report = read_triplets(path)
            missing = [c for c in spec.columns if part and c not in part[0]]
            if missing:
                raise ValueError(f"training set {spec.name!r}: {path} has no column {missing}")
            numbered = list(enumerate(part, start=1))  # triplet files: the row's position
        else:
            records, report = read_records(
                path, text=tuple(spec.columns), what=f"training set {spec.name!r}"
            )
            numbered = [(line, {str(k): v for k, v in row.items()}) for line, row in records]
        if spec.score_column is not None:
            numbered = _scored(numbered, spec.score_column, report)
        rows.extend(row for _, row in numbered)
        reports.append(report)
    if spec.limit is not None:
        rows = rows[: spec.limit]
    return rows, reports


def _scored(
    numbered: list[tuple[int, Row]], column: str, report: ReadReport
) -> list[tuple[int, Row]]:
    """The ``(line, row)`` pairs whose ``column`` holds a finite number (made a float); the
    others are skipped and counted in ``report`` at their line (a table's line number, a
    triplet file's row position)."""
    import math

    kept = []
    for line, row in numbered:
        try:
            value = float(row.get(column))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value):
            report.skip(line, f"no usable score in {column!r}: {row.get(column)!r}")
            report.rows_kept = max(0, report.rows_kept - 1)
            continue
        kept.append((line, row | {column: value}))
    return kept


def sets_from_files(config: TrainConfig) -> list[LoadedSet]:
    """The training sets of a run: ``train_sets`` read, or ``train_files`` split by task.

    ``train_files`` rows of one task are one set named after the task; rows of several tasks
    (their ``task`` column) give one set per task, in order of first appearance.
    """
    if config.train_sets:
        loaded = []
        for spec in config.train_sets:
            rows, reports = read_set_rows(spec)
            loaded.append(LoadedSet(spec, rows, reports))
        return loaded
    from tripletforge.train.data import load_triplet_rows

    rows, reports = load_triplet_rows(config.train_files)
    by_task: dict[str, list[Row]] = {}
    for row in rows:
        by_task.setdefault(task_of(row), []).append(row)
    if len(by_task) <= 1:
        name = next(iter(by_task), "nli")
        return [LoadedSet(TrainSet(name=name, files=config.train_files), rows, reports)]
    return [
        LoadedSet(TrainSet(name=task, files=config.train_files, task=task), part, reports)
        for task, part in by_task.items()
    ]


def column_role(shape: TaskShape, spec: TrainSet, position: int, column: str) -> str | None:
    """``query``, ``document`` or None (symmetric) for a set's column."""
    if column in spec.roles:
        role = spec.roles[column]
        return None if role == "symmetric" else role
    by_position = ("anchor", "positive", "negative")[min(position, 2)]
    return shape.role(by_position)


def resolve_prompts(
    sets: Sequence[LoadedSet], model: SentenceTransformer, symmetric: str | None
) -> None:
    """Fill each set's ``prompts`` (column → text) from its spec, roles, task and the model.

    ``symmetric`` overrides the prompt of symmetric columns (``TrainConfig.prompt``).
    """
    from tripletforge.models.prompts import encode_prompt, symmetric_prompt

    default_symmetric = symmetric if symmetric is not None else symmetric_prompt(model).text
    for item in sets:
        shape = task_shape(item.task())
        prompts = {}
        for position, column in enumerate(item.columns):
            if column in item.spec.prompts:
                prompts[column] = item.spec.prompts[column]
                continue
            role = column_role(shape, item.spec, position, column)
            prompts[column] = (
                default_symmetric if role is None else encode_prompt(model, "Retrieval", role).text
            )
        item.prompts = prompts


def is_single(sets: Sequence[LoadedSet]) -> bool:
    """One set whose columns share one prompt: trained as a plain dataset with one prompt."""
    return len(sets) == 1 and len(set(sets[0].prompts.values())) <= 1


def to_datasets(sets: Sequence[LoadedSet]) -> Any:
    """A ``Dataset`` (one set) or a ``DatasetDict`` of one ``Dataset`` per set (its columns)."""
    from datasets import Dataset, DatasetDict

    def one(item: LoadedSet) -> Dataset:
        data: dict[str, list[Any]] = {c: [str(r[c]) for r in item.rows] for c in item.columns}
        if item.spec.score_column is not None:  # the collator passes "score" on as the label
            data["score"] = [float(r[item.spec.score_column]) for r in item.rows]
        return Dataset.from_dict(data)

    if len(sets) == 1:
        return one(sets[0])
    return DatasetDict({item.name: one(item) for item in sets})


def trainer_prompts(sets: Sequence[LoadedSet]) -> str | dict[str, Any] | None:
    """The ``prompts`` training argument: one string for a single set with one prompt,
    ``{column: prompt}`` for a single set, ``{set: {column: prompt}}`` for a mixture (empty
    prompts left out; None when no text gets a prompt)."""
    if is_single(sets):
        return next(iter(sets[0].prompts.values()), "") or None
    if len(sets) == 1:
        return {c: p for c, p in sets[0].prompts.items() if p} or None
    nested = {item.name: {c: p for c, p in item.prompts.items() if p} for item in sets}
    return nested if any(nested.values()) else None


def largest_remainder(total: int, weights: Sequence[float]) -> list[int]:
    """``total`` split into integer shares proportional to ``weights`` (Hamilton's method;
    ties go to the earlier weight). ``sum(result) == total``."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    shares = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


def _weighted_sampler_class() -> type:
    from sentence_transformers.base.sampler import MultiDatasetDefaultBatchSampler

    class _Weighted(MultiDatasetDefaultBatchSampler):
        """Each epoch has as many batches as all sets together; set *i* gives a share of them
        proportional to ``weights[i]`` (largest remainder), in a seeded random order; a set
        that runs out starts over (the small set is repeated, the large one subsampled)."""

        def __init__(self, dataset: Any, batch_samplers: list, weights: Sequence[float],
                     generator: Any = None, seed: int = 0) -> None:  # fmt: skip
            super().__init__(dataset, batch_samplers, generator=generator, seed=seed)
            if len(weights) != len(batch_samplers):
                raise ValueError("one weight per training set is needed")
            self.weights = list(weights)

        def counts(self) -> list[int]:
            return largest_remainder(len(self), self.weights)

        def __iter__(self) -> Iterator[list[int]]:
            import torch

            if self.generator is not None and self.seed is not None:
                self.generator.manual_seed(self.seed + self.epoch)
            offsets = [0, *accumulate(len(d) for d in self.dataset.datasets)]
            order = [i for i, n in enumerate(self.counts()) for _ in range(n)]
            perm = torch.randperm(len(order), generator=self.generator).tolist()
            iterators = [iter(s) for s in self.batch_samplers]
            for position in perm:
                index = order[position]
                try:
                    batch = next(iterators[index])
                except StopIteration:
                    iterators[index] = iter(self.batch_samplers[index])
                    batch = next(iterators[index])
                yield [i + offsets[index] for i in batch]

        def __len__(self) -> int:
            return sum(len(s) for s in self.batch_samplers)

    return _Weighted


class WeightedBatchSampler:
    """Factory of the weighted multi-dataset batch sampler (see :mod:`this module
    <tripletforge.train.mixture>`): ``WeightedBatchSampler(weights)(dataset, batch_samplers,
    generator=, seed=)`` as sentence-transformers calls a ``multi_dataset_batch_sampler``."""

    def __init__(self, weights: Sequence[float]) -> None:
        self.weights = list(weights)

    def __call__(self, dataset: Any, batch_samplers: list, generator: Any = None,
                 seed: int = 0) -> Any:  # fmt: skip
        return _weighted_sampler_class()(dataset, batch_samplers, self.weights, generator, seed)


def multi_dataset_sampler(mixing: str, sets: Sequence[LoadedSet]) -> Any:
    """The ``multi_dataset_batch_sampler`` training argument of a mixing mode."""
    from sentence_transformers.base.sampler import MultiDatasetBatchSamplers

    if mixing == "weighted":
        return WeightedBatchSampler([s.spec.weight for s in sets])
    if mixing == "round_robin":
        return MultiDatasetBatchSamplers.ROUND_ROBIN
    return MultiDatasetBatchSamplers.PROPORTIONAL


def set_hash(item: LoadedSet) -> str:
    """SHA-256 over a set's column texts in training order."""
    digest = hashlib.sha256()
    columns = [*item.columns, *([item.spec.score_column] if item.spec.score_column else [])]
    for row in item.rows:
        digest.update("\x00".join(str(row[c]) for c in columns).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def mixture_summary(sets: Sequence[LoadedSet], mixing: str) -> dict[str, Any]:
    """The mixture's provenance: per set its files, rows, columns, prompts, weight, task,
    data hash; the mixing mode (None for single-set training)."""
    return {
        "mixing": None if len(sets) == 1 else mixing,
        "sets": [
            {
                "name": item.name,
                "task": item.task(),
                "files": [str(p) for p in item.spec.files],
                "rows": len(item.rows),
                "columns": item.columns,
                "loss": "cosent" if item.spec.score_column else None,
                "prompts": item.prompts,
                "weight": item.spec.weight,
                "data_sha256": set_hash(item),
            }
            for item in sets
        ],
    }
