"""Run one suite data set: check it can be scored, score it with mteb, add geometry.

:func:`run_dataset` turns a data set into the mteb task of its type
(:mod:`tripletforge.evaluate.mteb_tasks`), runs that task's own ``evaluate`` with the caching
encoder, and returns mteb's scores (raw, as mteb reports them) with the main score, mteb's
``TaskResult`` and the alignment/uniformity of the embeddings.

Undefined metrics. A metric that cannot be computed on a data set — Spearman of constant gold
scores or of fewer than 3 pairs, classification with fewer than two classes to learn, an empty
set, alignment without positive pairs — is ``None`` (``null`` in JSON), never NaN, and a warning
names the data set and the reason; aggregates skip it and say so.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tripletforge.data.schemas import (
    BitextSet,
    EvalSet,
    LabelledPairSet,
    LabelledSet,
    PairSet,
    RetrievalSet,
)
from tripletforge.evaluate import mteb_tasks as mt
from tripletforge.evaluate.bitext import margin_accuracy
from tripletforge.evaluate.duplicates import dedupe_corpus, dedupe_texts, equivalent_lines
from tripletforge.evaluate.geometry import geometry_scores, label_positive_pairs, positive_mask
from tripletforge.models.prompts import encode_prompt

if TYPE_CHECKING:
    from mteb.models import ModelMeta
    from mteb.results import TaskResult

    from tripletforge.evaluate.cache import CachingEncoder
    from tripletforge.evaluate.suite import DatasetSpec, Suite

log = logging.getLogger("tripletforge.evaluate")

#: Metrics mteb leaves empty by design (AP of a multi-class classifier): null, no warning.
NOT_APPLICABLE = {"classification": ("ap", "ap_weighted")}


@dataclass
class TaskOutcome:
    """What scoring one data set produced."""

    metrics: dict[str, Any]
    main_metric: str
    geometry: dict[str, Any]
    n: int
    split: str
    hf_subset: str
    task_name: str
    task_result: TaskResult | None = None
    task_metadata: Any = None
    notes: list[str] = field(default_factory=list)
    query_prompt: str | None = None
    document_prompt: str | None = None


def finite_or_none(value: Any) -> Any:
    """Floats (numpy too) as Python floats, NaN/±inf as None; containers recursively."""
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_none(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _undefined_keys(raw: dict[str, Any], skip: tuple[str, ...]) -> list[str]:
    keys = []
    for key, value in raw.items():
        if key in skip:
            continue
        if isinstance(value, float | np.floating) and not math.isfinite(float(value)):
            keys.append(key)
    return keys


class _Run:
    """State of one data set's evaluation (helpers share it)."""

    def __init__(self, encoder: CachingEncoder, spec: DatasetSpec, data: EvalSet, suite: Suite,
                 meta: ModelMeta, revision: str) -> None:  # fmt: skip
        self.encoder, self.spec, self.data, self.suite, self.meta = encoder, spec, data, suite, meta
        self.revision = revision
        self.query_prompt: str | None = None
        self.document_prompt: str | None = None
        self.task = spec.task
        self.main_metric = spec.main_score or mt.MAIN_SCORES[self.task]
        if self.task == "retrieval" and spec.main_score is None:
            self.main_metric = f"ndcg_at_{suite.retrieval_k}"
        self.split = mt.hf_split(spec.split or getattr(data, "split", None))
        self.subset = spec.hf_subset or "default"
        self.name = spec.mteb_task or spec.name
        self.notes: list[str] = []
        self.seed = suite.seed

    def note(self, message: str) -> None:
        text = f"data set {self.spec.name!r}: {message}"
        log.warning(text)
        self.notes.append(message)

    def metadata(self, languages: list[str]):
        return mt.task_metadata(
            self.name,
            self.task,
            languages,
            self.split,
            self.main_metric,
            hf_subset=self.subset,
            revision=self.revision,
        )

    def evaluate(self, task: Any) -> dict[str, Any]:
        """mteb's scores of the one subset (warnings of undefined statistics silenced)."""
        wrapper = mt.cached_encoder(self.encoder, self.meta)
        kwargs = {"batch_size": self.encoder.batch_size, "show_progress_bar": False}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores = task.evaluate(wrapper, self.split, encode_kwargs=kwargs)
        return dict(scores[self.subset])

    def prompt(self, prompt_type: str | None = None):
        return encode_prompt(self.encoder.model, self.task, prompt_type, self.name)


def _undefined(run: _Run, reason: str, n: int) -> tuple[dict[str, Any], None]:
    run.note(f"{run.main_metric} is undefined ({reason}); reported as null")
    return {run.main_metric: None, "main_score": None}, None


def _sts(run: _Run, data: PairSet) -> tuple[dict[str, Any], Any, dict[str, Any]]:
    if len(data) < 3:
        return (*_undefined(run, f"{len(data)} pairs, Spearman needs at least 3", len(data)), {})
    if len(set(data.scores)) < 2:
        return (*_undefined(run, "all gold scores are equal", len(data)), _sts_geometry(run, data))
    task = mt.sts_task(run.metadata([data.lang, *([data.lang2] if data.lang2 else [])]),
                       data.sentence1, data.sentence2, data.scores, run.seed)  # fmt: skip
    return run.evaluate(task), task, _sts_geometry(run, data)


def _sts_geometry(run: _Run, data: PairSet) -> dict[str, Any]:
    n = len(data)
    emb = run.encoder.encode(data.sentence1 + data.sentence2, run.prompt(), desc=run.spec.name)
    e1, e2 = emb[:n], emb[n:]
    geometry = run.suite.geometry
    mask = positive_mask(data.scores, geometry.positive_threshold, geometry.positive_quantile)
    return geometry_scores(e1[mask], e2[mask], population=emb, max_samples=geometry.max_samples)


def _bitext(run: _Run, data: BitextSet) -> tuple[dict[str, Any], Any, dict[str, Any]]:
    if len(data) == 0:
        return (*_undefined(run, "no translation pairs", 0), {})
    langs = [data.source_lang, data.target_lang]
    forward_valid = equivalent_lines(data.source, data.target)
    backward_valid = equivalent_lines(data.target, data.source)
    forward = mt.bitext_task(run.metadata(langs), data.source, data.target, forward_valid,
                             run.seed)  # fmt: skip
    scores = run.evaluate(forward)
    reverse = mt.bitext_task(run.metadata(langs[::-1]), data.target, data.source,
                             backward_valid, run.seed)  # fmt: skip
    back = run.evaluate(reverse)
    for key in ("precision", "recall", "f1", "accuracy"):
        scores[f"{key}_tgt2src"] = back[key]
    prompt = run.prompt()
    src = run.encoder.encode(data.source, prompt, desc=run.spec.name)
    tgt = run.encoder.encode(data.target, prompt, desc=run.spec.name)
    k = run.suite.bitext_k
    scores["margin_accuracy"] = margin_accuracy(src, tgt, forward_valid, k)
    scores["margin_accuracy_tgt2src"] = margin_accuracy(tgt, src, backward_valid, k)
    geometry = run.suite.geometry
    return scores, forward, geometry_scores(src, tgt, max_samples=geometry.max_samples)


def _parallel_as_retrieval(run: _Run, data: BitextSet) -> RetrievalSet:
    """One side as queries, the other (deduplicated) as corpus.

    A query's relevant documents are its own line's other side and those of the lines
    :func:`~tripletforge.evaluate.duplicates.equivalent_lines` deems equivalent.
    """
    flip = run.spec.query_side == "target"
    queries, docs = (data.target, data.source) if flip else (data.source, data.target)
    unique, ids = dedupe_texts(docs)
    valid = equivalent_lines(queries, docs)
    lang = data.target_lang if flip else data.source_lang
    return RetrievalSet(
        name=data.name,
        lang=lang,
        corpus={f"d{i}": text for i, text in enumerate(unique)},
        queries={f"q{i}": text for i, text in enumerate(queries)},
        qrels={f"q{i}": {f"d{ids[j]}": 1 for j in sorted(valid[i])} for i in range(len(queries))},
        files=data.files,
        report=data.report,
    )


def _retrieval(run: _Run, data: RetrievalSet | BitextSet) -> tuple[dict[str, Any], Any, dict]:
    langs = [data.source_lang, data.target_lang] if isinstance(data, BitextSet) else [data.lang]
    if isinstance(data, BitextSet):
        data = _parallel_as_retrieval(run, data)
    corpus, qrels, top, merged = dedupe_corpus(data.corpus, data.qrels, data.top_ranked,
                                               data.titles)  # fmt: skip
    if merged:
        log.info("data set %r: %d duplicate documents merged", run.spec.name, merged)
    if not data.queries or not corpus:
        return (*_undefined(run, "no judged queries or an empty corpus", len(data.queries)), {})
    if run.task == "reranking" and not top:
        return (*_undefined(run, "no reranking candidates", len(data.queries)), {})
    task = mt.retrieval_task(
        run.metadata(langs), corpus, data.queries, qrels, data.titles,
        top if run.task == "reranking" else None, seed=run.seed,
    )  # fmt: skip
    scores = run.evaluate(task)
    scores["corpus_size"] = len(corpus)
    q_prompt, d_prompt = run.prompt("query"), run.prompt("document")
    qids = list(data.queries)
    q = run.encoder.encode([data.queries[i] for i in qids], q_prompt, desc=run.spec.name)
    dids = list(corpus)
    docs = [(data.titles.get(d, "") + " " + corpus[d]).strip() for d in dids]
    c = run.encoder.encode(docs, d_prompt, desc=run.spec.name)
    where = {d: i for i, d in enumerate(dids)}
    best = [where[max(qrels[qid], key=qrels[qid].get)] for qid in qids]
    geometry = geometry_scores(q, c[best], population=np.concatenate([q, c]),
                               max_samples=run.suite.geometry.max_samples)  # fmt: skip
    run.query_prompt, run.document_prompt = q_prompt.text, d_prompt.text
    return scores, task, geometry


def _classification(run: _Run, data: LabelledSet) -> tuple[dict[str, Any], Any, dict]:
    train_classes = set(data.train_labels)
    if not data.texts:
        return (*_undefined(run, "the evaluated split is empty", 0), {})
    if len(train_classes) < 2:
        why = f"the training split has {len(train_classes)} class(es), a classifier needs 2"
        return (*_undefined(run, why, len(data)), _label_geometry(run, data))
    _, (train_ids, ids) = mt.label_ids(data.train_labels, data.labels)
    task = mt.classification_task(
        run.metadata([data.lang]), data.train_texts, train_ids, data.texts, ids,
        n_experiments=run.spec.n_experiments, samples_per_label=run.spec.samples_per_label,
        seed=run.seed,
    )  # fmt: skip
    scores = run.evaluate(task)
    scores.pop("scores_per_experiment", None)
    return scores, task, _label_geometry(run, data)


def _clustering(run: _Run, data: LabelledSet) -> tuple[dict[str, Any], Any, dict]:
    if len(data) < 2 or len(set(data.labels)) < 2:
        why = f"{len(data)} texts with {len(set(data.labels))} label(s); clustering needs 2 of each"
        return (*_undefined(run, why, len(data)), _label_geometry(run, data) if data.texts else {})
    _, (ids,) = mt.label_ids(data.labels)
    task = mt.clustering_task(run.metadata([data.lang]), data.texts, ids, run.seed)
    scores = run.evaluate(task)
    for key in ("v_measures", "ami_scores"):
        scores.pop(key, None)
    return scores, task, _label_geometry(run, data)


def _label_geometry(run: _Run, data: LabelledSet) -> dict[str, Any]:
    emb = run.encoder.encode(data.texts, run.prompt(), desc=run.spec.name)
    max_samples = run.suite.geometry.max_samples
    left, right = label_positive_pairs(data.labels, max_samples, seed=run.seed)
    return geometry_scores(emb[left], emb[right], population=emb, max_samples=max_samples)


def _pair_classification(run: _Run, data: LabelledPairSet) -> tuple[dict[str, Any], Any, dict]:
    if len(set(data.labels)) < 2:
        why = f"{len(data)} pairs with {len(set(data.labels))} label value(s), AP needs both"
        return (*_undefined(run, why, len(data)), {})
    task = mt.pair_classification_task(run.metadata([data.lang]), data.sentence1,
                                       data.sentence2, data.labels, run.seed)  # fmt: skip
    scores = run.evaluate(task)
    n = len(data)
    emb = run.encoder.encode(data.sentence1 + data.sentence2, run.prompt(), desc=run.spec.name)
    mask = np.asarray(data.labels) == 1
    geometry = geometry_scores(emb[:n][mask], emb[n:][mask], population=emb,
                               max_samples=run.suite.geometry.max_samples)  # fmt: skip
    return scores, task, geometry


_RUNNERS = {
    "sts": _sts,
    "bitext": _bitext,
    "retrieval": _retrieval,
    "reranking": _retrieval,
    "classification": _classification,
    "clustering": _clustering,
    "pair_classification": _pair_classification,
}


def run_dataset(
    encoder: CachingEncoder,
    spec: DatasetSpec,
    data: EvalSet,
    suite: Suite,
    meta: ModelMeta,
    files: list[dict[str, str]] | None = None,
) -> TaskOutcome:
    """Score one data set with mteb's task of its type; see the module docstring."""
    from mteb.results import TaskResult

    run = _Run(encoder, spec, data, suite, meta, mt.data_revision(files or []))
    started = time.perf_counter()
    raw, task, geometry = _RUNNERS[spec.task](run, data)
    seconds = time.perf_counter() - started
    if run.main_metric not in raw:
        known = ", ".join(sorted(k for k in raw if k != "main_score"))
        raise ValueError(
            f"data set {spec.name!r}: main_score {run.main_metric!r} is not a metric of "
            f"{spec.task}; choose one of {known}"
        )
    undefined = _undefined_keys(raw, NOT_APPLICABLE.get(spec.task, ()))
    if undefined and task is not None:
        shown = ", ".join(undefined[:6]) + (" …" if len(undefined) > 6 else "")
        run.note(f"undefined metric(s) {shown} (constant scores or one class); reported as null")
    metrics = finite_or_none(raw)
    metrics["main_score"] = metrics.get(run.main_metric)
    geometry = finite_or_none(geometry)
    for key in ("alignment", "uniformity"):
        if key in geometry and geometry[key] is None:
            run.note(f"{key} is undefined (no positive pairs or fewer than 2 texts); null")
    result = None
    if task is not None:
        result = TaskResult.from_task_results(
            task, {run.split: {run.subset: metrics}}, evaluation_time=seconds
        )
    return TaskOutcome(
        metrics=metrics,
        main_metric=run.main_metric,
        geometry=geometry,
        n=len(data),
        split=run.split,
        hf_subset=run.subset,
        task_name=run.name,
        task_result=result,
        task_metadata=task.metadata if task is not None else None,
        notes=run.notes,
        query_prompt=run.query_prompt,
        document_prompt=run.document_prompt,
    )
