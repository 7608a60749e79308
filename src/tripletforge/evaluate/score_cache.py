"""Reuse of a data set's scores when nothing that determines them has changed.

Scoring is deterministic given the model, the data, the suite settings, the library versions
and the evaluation code, so — like mteb's own results cache, which skips tasks already
evaluated — a repeated evaluation reuses the stored scores of a data set. The key is a SHA-256
over: the model (the cache file is the model fingerprint's), the data set's contents (every
text, score and label after reading and ``limit``), its suite entry, the suite settings
(seed, cut-offs, geometry), the versions of python, torch, transformers,
sentence-transformers, numpy, scikit-learn and mteb, and the source of the evaluation code
(``tripletforge.evaluate``, the prompt policy and the readers). Any change recomputes.
``evaluate_model(reuse_scores=False)`` (``--rescore``) recomputes from cached embeddings;
``--no-cache`` uses neither cache.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.metadata
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tripletforge.data.jsonl import strict_dumps

if TYPE_CHECKING:
    from tripletforge.data.schemas import EvalSet
    from tripletforge.evaluate.results import DatasetResult
    from tripletforge.evaluate.suite import DatasetSpec, Suite

#: Bump when the stored layout changes.
SCORE_CACHE_VERSION = 1
_SOURCES = ("evaluate", "models/prompts.py", "data/readers", "data/schemas.py")


@functools.cache
def code_hash() -> str:
    """SHA-256 over the source files that compute scores."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for part in _SOURCES:
        path = root / part
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            digest.update(file.relative_to(root).as_posix().encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


@functools.cache
def _versions() -> dict[str, str]:
    from tripletforge.provenance import library_versions

    versions = dict(library_versions())
    try:
        versions["scikit-learn"] = importlib.metadata.version("scikit-learn")
    except importlib.metadata.PackageNotFoundError:
        versions["scikit-learn"] = "none"
    return versions


def data_digest(data: EvalSet) -> str:
    """SHA-256 of a data set's contents (texts, scores, labels; not its report or files)."""
    content = {
        f.name: getattr(data, f.name)
        for f in dataclasses.fields(data)  # type: ignore[arg-type]
        if f.name not in ("report", "files")
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def score_key(spec: DatasetSpec, data: EvalSet, suite: Suite) -> str:
    """The key of a data set's scores (see the module docstring)."""
    settings = {
        "version": SCORE_CACHE_VERSION,
        "code": code_hash(),
        "libraries": _versions(),
        "spec": spec.model_dump(mode="json"),
        "suite": suite.model_dump(mode="json", exclude={"datasets", "name", "description"}),
        "data": data_digest(data),
    }
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def dump_result(result: DatasetResult) -> str:
    """A data set's result (with mteb's TaskResult and TaskMetadata) as strict JSON."""
    return strict_dumps(
        {
            "result": result.to_dict(),
            "task_result": result.task_result.model_dump(mode="json")
            if result.task_result is not None
            else None,
            "task_metadata": result.task_metadata.model_dump(mode="json")
            if result.task_metadata is not None
            else None,
        }
    )


def load_result(text: str, files: list[dict[str, str]]) -> DatasetResult:
    """Rebuild a stored result; ``files`` are the hashes of this run's data files."""
    from mteb.abstasks.task_metadata import TaskMetadata
    from mteb.results import TaskResult

    from tripletforge.evaluate.results import DatasetResult

    stored: dict[str, Any] = json.loads(text)
    fields = {k: v for k, v in stored["result"].items() if k != "main_score"}
    result = DatasetResult(**fields)
    result.files = files
    result.reused = True
    if stored["task_result"] is not None:
        result.task_result = TaskResult.model_validate(stored["task_result"])
    if stored["task_metadata"] is not None:
        result.task_metadata = TaskMetadata.model_validate(stored["task_metadata"])
    return result
