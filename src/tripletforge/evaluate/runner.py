"""The library entry point: :func:`evaluate_model` (the CLI is a thin driver around it)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tripletforge.evaluate.cache import CachingEncoder, EmbeddingCache
from tripletforge.evaluate.datasets import LoadedDataset, check_paths, load_dataset
from tripletforge.evaluate.fingerprint import model_fingerprint
from tripletforge.evaluate.lazy import LazyEncoder
from tripletforge.evaluate.results import DatasetResult, EvaluationResult
from tripletforge.evaluate.suite import Suite, load_suite
from tripletforge.evaluate.tasks import run_bitext, run_retrieval, run_sts

if TYPE_CHECKING:
    from rich.console import Console
    from sentence_transformers import SentenceTransformer


def resolve_encoder(
    model: str | Path | SentenceTransformer, model_id: str | None = None
) -> tuple[SentenceTransformer | LazyEncoder, str, str]:
    """(encoder, display id, fingerprint) for a model name, folder, hub id or loaded encoder.

    A model folder (or built-in name) is fingerprinted from its files and loaded lazily.
    """
    if isinstance(model, str | Path):
        from tripletforge.models import load_encoder, resolve_model_path

        name = str(model)
        source = resolve_model_path(name)
        if Path(source).is_dir():
            lazy = LazyEncoder(name, source)
            return lazy, model_id or name, model_fingerprint(lazy, source)
        encoder = load_encoder(name)
        return encoder, model_id or name, model_fingerprint(encoder, source)
    card = getattr(model, "model_card_data", None)
    default_id = getattr(card, "model_id", None) or getattr(card, "base_model", None)
    return model, model_id or default_id or "in-memory", model_fingerprint(model)


def _progress(enabled: bool, console: Console | None) -> Any:
    if not enabled:
        return nullcontext(None)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def evaluate_loaded(
    encoder: CachingEncoder,
    loaded: Sequence[LoadedDataset],
    suite: Suite,
) -> list[DatasetResult]:
    """Score already-read data sets with an encoder (the core of :func:`evaluate_model`)."""
    results = []
    for item in loaded:
        spec, data = item.spec, item.data
        started = time.perf_counter()
        if spec.task == "sts":
            metrics, geo = run_sts(encoder, data, suite.geometry, label=spec.name)
            target = getattr(data, "lang2", None)
        elif spec.task == "bitext":
            metrics, geo = run_bitext(encoder, data, suite.geometry, suite.bitext_k, spec.name)
            target = data.target_lang
        else:
            metrics, geo = run_retrieval(
                encoder, data, suite.geometry, suite.retrieval_k, spec.query_side, spec.name
            )
            target = data.target_lang
        lang = getattr(data, "lang", None) or getattr(data, "source_lang", None) or spec.language
        if spec.task == "retrieval" and spec.query_side == "target":
            lang, target = data.target_lang, data.source_lang
        report = getattr(data, "report", None)
        results.append(
            DatasetResult(
                name=spec.name,
                task=spec.task,
                format=spec.format,
                lang=lang,
                target_lang=target,
                n=len(data),
                metrics=metrics,
                geometry=geo,
                files=item.files,
                seconds=round(time.perf_counter() - started, 3),
                skipped_rows=len(report.bad_rows) if report is not None else 0,
            )
        )
    return results


def evaluate_model(
    model: str | Path | SentenceTransformer,
    suite: Suite | str | Path,
    *,
    datasets: list[str] | None = None,
    data_root: str | Path | None = None,
    cache: bool = True,
    cache_dir: str | Path | None = None,
    batch_size: int = 32,
    limit: int | None = None,
    model_id: str | None = None,
    progress: bool = False,
    console: Console | None = None,
) -> EvaluationResult:
    """Evaluate an encoder on every (selected) data set of a suite.

    Args:
        model: built-in name (``e5-small``), local folder, hub id, or a ``SentenceTransformer``.
        suite: a :class:`Suite`, a YAML path or a built-in suite name (``shared-dev``).
        datasets: glob patterns of data-set names to keep (default: all).
        data_root: folder that ``{data_root}`` and relative paths in the suite refer to.
        cache: read/write the on-disk embedding cache (keyed by model fingerprint).
        cache_dir: cache folder (default :func:`tripletforge.paths.embeddings_cache_dir`).
        limit: keep at most this many pairs per data set (quick runs).
        progress: show rich progress bars while encoding.
    """
    suite = suite if isinstance(suite, Suite) else load_suite(suite)
    specs = suite.select(datasets)
    check_paths(suite, specs, data_root)
    loaded = [load_dataset(spec, suite, data_root, limit) for spec in specs]
    encoder_model, display_id, fingerprint = resolve_encoder(model, model_id)
    store = EmbeddingCache(fingerprint, cache_dir) if cache else None
    started = time.perf_counter()
    with _progress(progress, console) as bar:
        encoder = CachingEncoder(encoder_model, store, batch_size=batch_size, progress=bar)
        results = evaluate_loaded(encoder, loaded, suite)
    stats = encoder.stats
    return EvaluationResult(
        model=display_id,
        fingerprint=fingerprint,
        suite=suite.name,
        suite_source=suite.source,
        datasets=results,
        settings={
            "bitext_k": suite.bitext_k,
            "retrieval_k": suite.retrieval_k,
            "geometry": suite.geometry.model_dump(),
            "data_root": str(root) if (root := suite.data_root_path(data_root)) else None,
            "limit": limit,
            "batch_size": batch_size,
        },
        encoding={
            "cache": str(store.path) if store is not None else None,
            "texts": stats.requested,
            "cache_hits": stats.cache_hits,
            "encoded": stats.encoded,
            "encode_seconds": round(stats.seconds, 3),
            "total_seconds": round(time.perf_counter() - started, 3),
        },
    )
