"""The library entry point: :func:`evaluate_model` (the CLI is a thin driver around it)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tripletforge.data.schemas import BitextSet
from tripletforge.evaluate import score_cache
from tripletforge.evaluate.cache import CachingEncoder, EmbeddingCache
from tripletforge.evaluate.datasets import LoadedDataset, check_paths, load_dataset
from tripletforge.evaluate.fingerprint import model_fingerprint
from tripletforge.evaluate.lazy import LazyEncoder
from tripletforge.evaluate.results import DatasetResult, EvaluationResult
from tripletforge.evaluate.suite import DatasetSpec, Suite, load_suite
from tripletforge.evaluate.tasks import log, run_dataset
from tripletforge.progress import quiet_library_bars

if TYPE_CHECKING:
    from mteb.models import ModelMeta
    from rich.console import Console
    from sentence_transformers import SentenceTransformer


ENCODER_BACKENDS = ("auto", "torch", "openvino")


def choose_backend(backend: str, source: str, fingerprint: str) -> str:
    """``torch`` or ``openvino`` for encoding a model folder (see :func:`evaluate_model`).

    ``auto``: OpenVINO when it is installed and the folder already holds an IR exported from
    these weights (by an earlier ``backend="openvino"`` run), else PyTorch; ``auto`` never
    converts a model by itself. Raises ``ValueError`` for an unknown backend, or for
    ``openvino`` when the package is not installed.
    """
    from tripletforge.models.openvino import has_ir, openvino_available

    if backend not in ENCODER_BACKENDS:
        raise ValueError(f"unknown encoder backend {backend!r}; use one of {ENCODER_BACKENDS}")
    if backend == "openvino" and not openvino_available():
        raise ValueError(
            "encoder backend 'openvino' needs the openvino package: "
            "pip install 'tripletforge[openvino]'"
        )
    if backend != "auto":
        return backend
    return "openvino" if openvino_available() and has_ir(source, fingerprint) else "torch"


def resolve_encoder(
    model: str | Path | SentenceTransformer,
    model_id: str | None = None,
    backend: str = "torch",
) -> tuple[SentenceTransformer | LazyEncoder, str, str]:
    """(encoder, display id, fingerprint) for a model name, folder, hub id or loaded encoder.

    A model folder (or built-in name) is fingerprinted from its files and loaded lazily, on
    the backend :func:`choose_backend` picks; other models run on PyTorch.
    """
    if isinstance(model, str | Path):
        from tripletforge.models import load_encoder, resolve_model_path

        name = str(model)
        source = resolve_model_path(name)
        if Path(source).is_dir():
            lazy = LazyEncoder(name, source)
            fingerprint = model_fingerprint(lazy, source)
            lazy.backend = choose_backend(backend, source, fingerprint)
            lazy.fingerprint = fingerprint
            return lazy, model_id or name, fingerprint
        encoder = load_encoder(name)
        return encoder, model_id or name, model_fingerprint(encoder, source)
    card = getattr(model, "model_card_data", None)
    default_id = getattr(card, "model_id", None) or getattr(card, "base_model", None)
    return model, model_id or default_id or "in-memory", model_fingerprint(model)


def _backend_used(encoder: Any) -> str | None:
    """What encoded: ``torch``/``openvino``, or None when nothing was encoded (all cached)."""
    if isinstance(encoder, LazyEncoder):
        return encoder.backend_used
    return "torch"


def mteb_model_name(display_id: str) -> str:
    """The model name in MTEB result files: a hub id or built-in name as is, a folder as
    ``local/<folder name>`` (the revision, our fingerprint, tells folders apart)."""
    path = Path(display_id).expanduser()
    if path.is_dir() or display_id.startswith((".", "/", "~")):
        return f"local/{path.name or 'model'}"
    return display_id


def prompt_summary(model: Any) -> dict[str, str]:
    """The prompt text the policy applies per task type (and retrieval side), for the record."""
    from tripletforge.models.prompts import MTEB_TASK_TYPES, encode_prompt

    out = {}
    for task in MTEB_TASK_TYPES:
        if task in ("retrieval", "reranking"):
            for side in ("query", "document"):
                out[f"{task}.{side}"] = encode_prompt(model, task, side).text  # type: ignore[arg-type]
        else:
            out[task] = encode_prompt(model, task).text
    return out


def _progress(enabled: bool, console: Console | None) -> Any:
    if not enabled:
        return nullcontext(None)
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

    from tripletforge.progress import make_progress

    return make_progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def _languages(spec: DatasetSpec, data: Any) -> tuple[str, str | None]:
    """(language, target language) of a data set as the tables show them."""
    if isinstance(data, BitextSet):
        lang, target = data.source_lang, data.target_lang
        if spec.task == "retrieval" and spec.query_side == "target":
            lang, target = target, lang
        return lang, target
    lang = getattr(data, "lang", None) or spec.language
    return lang, getattr(data, "lang2", None)


def evaluate_loaded(
    encoder: CachingEncoder,
    loaded: Sequence[LoadedDataset],
    suite: Suite,
    meta: ModelMeta | None = None,
    reuse_scores: bool = True,
) -> list[DatasetResult]:
    """Score already-read data sets with an encoder (the core of :func:`evaluate_model`).

    ``meta`` names the model in mteb's result objects (default: an anonymous model). With the
    encoder's cache and ``reuse_scores``, a data set whose scores are stored under the same
    key (:mod:`tripletforge.evaluate.score_cache`) is not scored again; its notes on
    undefined values are logged again.
    """
    from tripletforge.evaluate.mteb_tasks import model_meta

    meta = meta or model_meta("in-memory", "unknown")
    store = encoder.cache if reuse_scores else None
    results = []
    for item in loaded:
        spec, data = item.spec, item.data
        key = score_cache.score_key(spec, data, suite) if encoder.cache is not None else None
        stored = store.get_score(key) if store is not None and key else None
        if stored is not None:
            result = score_cache.load_result(stored, item.files)
            for note in result.notes:
                log.warning("data set %r: %s", spec.name, note)
            results.append(result)
            continue
        started = time.perf_counter()
        outcome = run_dataset(encoder, spec, data, suite, meta, item.files)
        lang, target = _languages(spec, data)
        report = getattr(data, "report", None)
        result = DatasetResult(
            name=spec.name,
            task=spec.task,
            format=spec.format,
            lang=lang,
            target_lang=target,
            n=outcome.n,
            metrics=outcome.metrics,
            geometry=outcome.geometry,
            main_metric=outcome.main_metric,
            split=outcome.split,
            hf_subset=outcome.hf_subset,
            mteb_task=outcome.task_name,
            files=item.files,
            seconds=round(time.perf_counter() - started, 3),
            skipped_rows=len(report.bad_rows) if report is not None else 0,
            notes=outcome.notes,
            prompts=_prompts(outcome),
            task_result=outcome.task_result,
            task_metadata=outcome.task_metadata,
        )
        if encoder.cache is not None and key:
            encoder.cache.put_score(key, score_cache.dump_result(result))
        results.append(result)
    return results


def _prompts(outcome: Any) -> dict[str, str | None]:
    if outcome.query_prompt is None and outcome.document_prompt is None:
        return {}
    return {"query": outcome.query_prompt, "document": outcome.document_prompt}


def evaluate_model(
    model: str | Path | SentenceTransformer,
    suite: Suite | str | Path,
    *,
    datasets: list[str] | None = None,
    data_root: str | Path | None = None,
    cache: bool = True,
    reuse_scores: bool = True,
    cache_dir: str | Path | None = None,
    batch_size: int = 32,
    limit: int | None = None,
    model_id: str | None = None,
    progress: bool = False,
    console: Console | None = None,
    backend: str = "auto",
) -> EvaluationResult:
    """Evaluate an encoder on every (selected) data set of a suite.

    Args:
        model: built-in name (``e5-small``), local folder, hub id, or a ``SentenceTransformer``.
        suite: a :class:`Suite`, a YAML path or a built-in suite name (``shared-dev``).
        datasets: glob patterns of data-set names to keep (default: all).
        data_root: folder that ``{data_root}`` and relative paths in the suite refer to.
        cache: read/write the on-disk embedding cache (keyed by model fingerprint).
        reuse_scores: with the cache, reuse a data set's stored scores when nothing that
            determines them changed (:mod:`tripletforge.evaluate.score_cache`); False
            rescores from cached embeddings.
        cache_dir: cache folder (default :func:`tripletforge.paths.embeddings_cache_dir`).
        limit: keep at most this many pairs per data set (quick runs).
        progress: show rich progress bars while encoding.
        backend: ``torch``, ``openvino`` (the transformer on OpenVINO, fp32, its IR exported
            into the model folder once; :mod:`tripletforge.models.openvino`) or ``auto``
            (OpenVINO only where that IR already exists; :func:`choose_backend`). Embeddings
            agree within 1e-4 cosine distance (checked on every load), so both share one
            embedding cache; ``results.json`` records the one used (``settings.encoder_backend``,
            null when every embedding came from the cache). Raises ``ValueError`` for an
            unknown backend or ``openvino`` without the package.
    """
    suite = suite if isinstance(suite, Suite) else load_suite(suite)
    specs = suite.select(datasets)
    check_paths(suite, specs, data_root)
    loaded = [load_dataset(spec, suite, data_root, limit) for spec in specs]
    encoder_model, display_id, fingerprint = resolve_encoder(model, model_id, backend)
    store = EmbeddingCache(fingerprint, cache_dir) if cache else None
    from tripletforge.evaluate.mteb_tasks import model_meta

    similarity = getattr(encoder_model, "similarity_fn_name", None)
    meta = model_meta(mteb_model_name(display_id), fingerprint[:16], similarity)
    started = time.perf_counter()
    with _progress(progress, console) as bar, quiet_library_bars():
        encoder = CachingEncoder(encoder_model, store, batch_size=batch_size, progress=bar)
        results = evaluate_loaded(encoder, loaded, suite, meta, reuse_scores)
    stats = encoder.stats
    return EvaluationResult(
        model=display_id,
        fingerprint=fingerprint,
        suite=suite.name,
        suite_source=suite.source,
        datasets=results,
        settings={
            "protocol": "mteb",
            "prompts": prompt_summary(encoder_model),
            "bitext_k": suite.bitext_k,
            "retrieval_k": suite.retrieval_k,
            "seed": suite.seed,
            "geometry": suite.geometry.model_dump(),
            "data_root": str(root) if (root := suite.data_root_path(data_root)) else None,
            "limit": limit,
            "batch_size": batch_size,
            "encoder_backend": _backend_used(encoder_model),
        },
        model_meta=meta,
        encoding={
            "cache": str(store.path) if store is not None else None,
            "texts": stats.requested,
            "cache_hits": stats.cache_hits,
            "encoded": stats.encoded,
            "reused_scores": sum(r.reused for r in results),
            "encode_seconds": round(stats.seconds, 3),
            "total_seconds": round(time.perf_counter() - started, 3),
        },
    )
