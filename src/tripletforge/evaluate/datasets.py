"""Turn suite entries into in-memory data sets (the contracts of ``data.schemas``) with hashed
source files."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from tripletforge.data.schemas import (
    BitextSet,
    EvalSet,
    LabelledPairSet,
    LabelledSet,
    PairSet,
    RetrievalSet,
    sha256_file,
)
from tripletforge.evaluate.suite import PATH_FIELDS, DatasetSpec, Suite

#: The data contract each task evaluates.
TASK_SETS: dict[str, tuple[type, ...]] = {
    "sts": (PairSet,),
    "bitext": (BitextSet,),
    "retrieval": (BitextSet, RetrievalSet),
    "reranking": (RetrievalSet,),
    "classification": (LabelledSet,),
    "clustering": (LabelledSet,),
    "pair_classification": (LabelledPairSet,),
}


@dataclass
class LoadedDataset:
    """A suite entry with its data and the SHA-256 of every file it was read from."""

    spec: DatasetSpec
    data: EvalSet
    files: list[dict[str, str]] = field(default_factory=list)


def check_paths(suite: Suite, specs: list[DatasetSpec], data_root: str | Path | None) -> None:
    """Fail before any encoding if a data set's path or root does not exist."""
    missing = []
    for spec in specs:
        for field_name in PATH_FIELDS:
            value = getattr(spec, field_name)
            if value is None:
                continue
            path = suite.resolve_path(value, data_root)
            if not path.exists():
                missing.append(f"  {spec.name}.{field_name}: {path}")
    if missing:
        root = suite.data_root_path(data_root)
        raise FileNotFoundError(
            "data set files not found:\n" + "\n".join(missing) + f"\n(data root is {root}; "
            "pass --data-root DIR, or fix the paths in the suite, or drop those data sets "
            "with --dataset NAME)"
        )


def truncate(data: EvalSet, limit: int | None) -> EvalSet:
    """The first ``limit`` rows of a set (the set itself when ``limit`` is None).

    Rows are pairs (STS, bitext, pair classification), texts of the evaluated split
    (classification, clustering; the training split is kept whole) or queries (retrieval,
    with the judgements and candidates of the kept queries; the corpus is kept whole).
    """
    if limit is None or len(data) <= limit:
        return data
    if isinstance(data, PairSet):
        return replace(
            data,
            sentence1=data.sentence1[:limit],
            sentence2=data.sentence2[:limit],
            scores=data.scores[:limit],
        )
    if isinstance(data, LabelledSet):
        return replace(data, texts=data.texts[:limit], labels=data.labels[:limit])
    if isinstance(data, LabelledPairSet):
        return replace(
            data,
            sentence1=data.sentence1[:limit],
            sentence2=data.sentence2[:limit],
            labels=data.labels[:limit],
        )
    if isinstance(data, RetrievalSet):
        kept = list(data.queries)[:limit]
        top = data.top_ranked
        return replace(
            data,
            queries={q: data.queries[q] for q in kept},
            qrels={q: data.qrels[q] for q in kept},
            top_ranked={q: top[q] for q in kept if q in top} if top is not None else None,
        )
    return replace(data, source=data.source[:limit], target=data.target[:limit])


def hash_files(paths: list[str | Path]) -> list[dict[str, str]]:
    """``[{"path", "sha256"}]`` for each existing regular file, in order, without duplicates."""
    out, seen = [], set()
    for path in paths:
        p = Path(path)
        if p.is_file() and str(p) not in seen:
            seen.add(str(p))
            out.append({"path": str(p), "sha256": sha256_file(p)})
    return out


def load_dataset(
    spec: DatasetSpec, suite: Suite, data_root: str | Path | None = None, limit: int | None = None
) -> LoadedDataset:
    """Read one suite entry with :func:`tripletforge.data.readers.read_dataset`."""
    from tripletforge.data.readers import read_dataset

    def resolve(value: str) -> str:
        return str(suite.resolve_path(value, data_root))

    data = read_dataset(spec.format, **spec.reader_kwargs(resolve))
    expected = TASK_SETS[spec.task]
    if not isinstance(data, expected):
        raise TypeError(
            f"data set {spec.name!r}: format {spec.format!r} gave {type(data).__name__}, "
            f"task {spec.task!r} needs {' or '.join(t.__name__ for t in expected)}"
        )
    if spec.train_path is not None and isinstance(data, LabelledSet):
        train = read_dataset(
            "table", **{**spec.reader_kwargs(resolve), "path": resolve(spec.train_path)}
        )
        assert isinstance(train, LabelledSet)
        data = replace(
            data,
            train_texts=train.texts,
            train_labels=train.labels,
            train_split="train",
            files=[*data.files, *train.files],
        )
        if data.report is not None and train.report is not None:
            data.report.bad_rows.extend(train.report.bad_rows)
            data.report.rows_read += train.report.rows_read
            data.report.rows_kept += train.report.rows_kept
    caps = [c for c in (spec.limit, limit) if c is not None]
    data = truncate(data, min(caps) if caps else None)
    sources = list(data.files) or [resolve(v) for v in (spec.path, spec.gold_path) if v is not None]
    return LoadedDataset(spec=spec, data=data, files=hash_files(sources))
