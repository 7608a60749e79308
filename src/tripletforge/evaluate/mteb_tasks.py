"""Suite data sets as mteb tasks: local data, mteb's own evaluators and metric code.

Each data set of a suite becomes an instance of the matching mteb abstract task
(``AbsTaskSTS``, ``AbsTaskBitextMining``, ``AbsTaskRetrieval``, ``AbsTaskClassification``,
``AbsTaskClustering``, ``AbsTaskPairClassification``) whose data is already in memory, and is
scored by that task's ``evaluate`` — the code ``mteb.evaluate`` runs. The model is wrapped in
:class:`CachedEncoder`, an mteb encoder that applies the prompt policy of
:mod:`tripletforge.models.prompts` (mteb's) and reads/writes the embedding cache.

Differences from mteb are deliberate and only concern evaluation data that is not
one-to-one (identical texts count as the same item, see :mod:`tripletforge.evaluate.duplicates`):
retrieval corpora are deduplicated and judged before mteb sees them, and a bitext mining
prediction of an equivalent line counts as the gold line before mteb's metric code runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tripletforge.models.prompts import MTEB_TASK_TYPES, encode_prompt

if TYPE_CHECKING:
    from mteb.abstasks import AbsTask
    from mteb.abstasks.task_metadata import TaskMetadata
    from mteb.models import ModelMeta

    from tripletforge.evaluate.cache import CachingEncoder

#: MTEB's main score of each task type (the default of a suite entry's ``main_score``).
MAIN_SCORES: dict[str, str] = {
    "sts": "cosine_spearman",
    "bitext": "f1",
    "retrieval": "ndcg_at_10",
    "reranking": "map_at_1000",
    "classification": "accuracy",
    "clustering": "v_measure",
    "pair_classification": "max_ap",
}
#: Split names as Hugging Face (and so mteb's results) spell them.
HF_SPLITS = {"dev": "validation", "valid": "validation"}
#: Similarity functions mteb's ``AbsEncoder`` computes itself.
_MTEB_SIMILARITIES = ("cosine", "dot")


def hf_split(split: str | None) -> str:
    """The Hugging Face name of a split (``dev`` → ``validation``); ``test`` when unknown."""
    split = (split or "test").strip()
    return HF_SPLITS.get(split, split)


def langscript(code: str | None) -> str:
    """mteb's ``{ISO 639-3}-{ISO 15924}`` tag for a language code (``hau`` → ``hau-Latn``).

    Falls back to the bare code when mteb knows it but not its script, else ``und``.
    """
    from mteb.languages import check_language_code

    from tripletforge.data.languages import UnknownLanguageError, get_language

    candidates: list[str] = []
    if code:
        try:
            lang = get_language(code)
            candidates.append(lang.flores.replace("_", "-"))
            candidates.append(lang.code)
        except UnknownLanguageError:
            pass
        candidates.append(code.replace("_", "-"))
    for candidate in candidates:
        try:
            check_language_code(candidate)
        except ValueError:
            continue
        return candidate
    return "und"


def data_revision(files: Sequence[dict[str, str]]) -> str:
    """A revision id for local data: a hash over the SHA-256 of every file read."""
    digest = hashlib.sha256()
    for item in files:
        digest.update(f"{item.get('sha256', '')}\n".encode())
    return digest.hexdigest()[:16] if files else "local"


def task_metadata(
    name: str,
    task: str,
    languages: Sequence[str],
    split: str,
    main_score: str,
    *,
    hf_subset: str = "default",
    revision: str = "local",
    description: str = "",
) -> TaskMetadata:
    """mteb ``TaskMetadata`` of a local data set (one subset, one split)."""
    from mteb.abstasks.task_metadata import TaskMetadata

    category = "t2c" if task in ("classification", "clustering") else "t2t"
    return TaskMetadata(
        name=name,
        description=description or f"Local {task} data set evaluated by tripletforge.",
        dataset={"path": f"local/{name}", "revision": revision},
        type=MTEB_TASK_TYPES[task],
        category=category,
        modalities=["text"],
        eval_splits=[split],
        eval_langs={hf_subset: [langscript(code) for code in languages]},
        main_score=main_score,
        license="not specified",
        bibtex_citation="",
    )


def _instance(base: type, metadata: TaskMetadata, seed: int, **attrs: Any) -> AbsTask:
    """An instance of a one-off subclass of an mteb abstract task with ``metadata``."""
    cls = type(f"Local{base.__name__.removeprefix('AbsTask')}", (base,), {"metadata": metadata})
    task = cls(seed=seed)
    for key, value in attrs.items():
        setattr(task, key, value)
    return task


def _loaded(task: AbsTask, subset: str, split: str, data: Any) -> AbsTask:
    task.dataset = {subset: {split: data} if not isinstance(data, dict) else data}
    task.data_loaded = True
    return task


def sts_task(metadata: TaskMetadata, s1: list[str], s2: list[str], scores: list[float],
             seed: int = 42) -> AbsTask:  # fmt: skip
    """``AbsTaskSTS`` over scored pairs (gold scores are min–max normalised by mteb)."""
    from datasets import Dataset
    from mteb.abstasks import AbsTaskSTS

    low, high = float(min(scores)), float(max(scores))
    task = _instance(AbsTaskSTS, metadata, seed, min_score=low, max_score=high)
    data = Dataset.from_dict({"sentence1": s1, "sentence2": s2, "score": scores})
    return _loaded(task, metadata.hf_subsets[0], metadata.eval_splits[0], data)


def bitext_task(
    metadata: TaskMetadata, source: list[str], target: list[str], valid: list[set[int]],
    seed: int = 42,
) -> AbsTask:  # fmt: skip
    """``AbsTaskBitextMining``: each ``source`` line finds its ``target`` line (x → y).

    ``valid[i]`` holds the target lines that are correct for source ``i`` besides ``i``
    itself (:func:`~tripletforge.evaluate.duplicates.equivalent_lines`): a prediction among
    them is scored as the gold line before mteb's metric code (precision, recall, F1,
    accuracy) runs, so data that is not one-to-one is scored right and one-to-one data exactly
    as mteb scores it.
    """
    from datasets import Dataset
    from mteb.abstasks import AbsTaskBitextMining

    class LocalBitextMining(AbsTaskBitextMining):
        def _compute_metrics(self, nearest_neighbors, gold):  # type: ignore[no-untyped-def]
            mapped = []
            for (i, j), found in zip(gold, nearest_neighbors, strict=True):
                hit = int(found["corpus_id"]) in valid[i]
                mapped.append({**found, "corpus_id": j if hit else found["corpus_id"]})
            return super()._compute_metrics(mapped, gold)

    LocalBitextMining.metadata = metadata
    task = LocalBitextMining(seed=seed)
    data = Dataset.from_dict({"sentence1": source, "sentence2": target})
    return _loaded(task, metadata.hf_subsets[0], metadata.eval_splits[0], data)


def retrieval_task(
    metadata: TaskMetadata,
    corpus: dict[str, str],
    queries: dict[str, str],
    qrels: dict[str, dict[str, int]],
    titles: dict[str, str] | None = None,
    top_ranked: dict[str, list[str]] | None = None,
    k_values: Sequence[int] | None = None,
    seed: int = 42,
) -> AbsTask:
    """``AbsTaskRetrieval`` (``Reranking`` when ``top_ranked`` lists candidates)."""
    from datasets import Dataset
    from mteb.abstasks import AbsTaskRetrieval

    attrs: dict[str, Any] = {}
    if k_values is not None:
        attrs["k_values"] = tuple(k_values)
    task = _instance(AbsTaskRetrieval, metadata, seed, **attrs)
    if k_values is not None:
        task._top_k = max(k_values)
    titles = titles or {}
    ids = list(corpus)
    corpus_ds = Dataset.from_dict(
        {"id": ids, "text": [corpus[i] for i in ids], "title": [titles.get(i, "") for i in ids]}
    )
    qids = list(queries)
    queries_ds = Dataset.from_dict({"id": qids, "text": [queries[q] for q in qids]})
    split_data = {
        "corpus": corpus_ds,
        "queries": queries_ds,
        "relevant_docs": {q: dict(d) for q, d in qrels.items()},
        "top_ranked": {q: list(d) for q, d in top_ranked.items()} if top_ranked else None,
    }
    task.dataset = {metadata.hf_subsets[0]: {metadata.eval_splits[0]: split_data}}
    task.data_loaded = True
    return task


def classification_task(
    metadata: TaskMetadata,
    train_texts: list[str],
    train_labels: list[int],
    texts: list[str],
    labels: list[int],
    *,
    n_experiments: int | None = None,
    samples_per_label: int | None = None,
    seed: int = 42,
) -> AbsTask:
    """``AbsTaskClassification``: logistic regression on embeddings of sampled training rows.

    ``n_experiments`` and ``samples_per_label`` default to mteb's (10 and 8).
    """
    from datasets import Dataset, DatasetDict
    from mteb.abstasks import AbsTaskClassification

    attrs: dict[str, Any] = {"train_split": "train"}
    if n_experiments is not None:
        attrs["n_experiments"] = n_experiments
    if samples_per_label is not None:
        attrs["samples_per_label"] = samples_per_label
    task = _instance(AbsTaskClassification, metadata, seed, **attrs)
    split = metadata.eval_splits[0]
    data = DatasetDict(
        {
            "train": Dataset.from_dict({"text": train_texts, "label": train_labels}),
            split: Dataset.from_dict({"text": texts, "label": labels}),
        }
    )
    task.dataset = {metadata.hf_subsets[0]: data}
    task.data_loaded = True
    return task


def clustering_task(
    metadata: TaskMetadata, texts: list[str], labels: list[int], seed: int = 42
) -> AbsTask:
    """``AbsTaskClustering`` (mini-batch k-means, V-measure) over every text of the split."""
    from datasets import Dataset
    from mteb.abstasks import AbsTaskClustering

    task = _instance(
        AbsTaskClustering,
        metadata,
        seed,
        max_fraction_of_documents_to_embed=None,
        max_document_to_embed=None,
    )
    data = Dataset.from_dict({"sentences": texts, "labels": labels})
    return _loaded(task, metadata.hf_subsets[0], metadata.eval_splits[0], data)


def pair_classification_task(
    metadata: TaskMetadata, s1: list[str], s2: list[str], labels: list[int], seed: int = 42
) -> AbsTask:
    """``AbsTaskPairClassification``: AP (and F1, accuracy) of similarity as a classifier."""
    from datasets import Dataset
    from mteb.abstasks import AbsTaskPairClassification

    task = _instance(AbsTaskPairClassification, metadata, seed)
    data = Dataset.from_dict({"sentence1": s1, "sentence2": s2, "labels": labels})
    return _loaded(task, metadata.hf_subsets[0], metadata.eval_splits[0], data)


def _encoder_base() -> type:
    from mteb.models.abs_encoder import AbsEncoder

    return AbsEncoder


def model_meta(name: str, revision: str, similarity_fn_name: str | None = None) -> ModelMeta:
    """mteb ``ModelMeta`` naming a model in its result files (``revision``: our fingerprint)."""
    from mteb.models import ModelMeta
    from mteb.models.model_meta import ScoringFunction

    fn = (similarity_fn_name or "cosine").lower()
    scoring = ScoringFunction(fn) if fn in {s.value for s in ScoringFunction} else None
    return ModelMeta.create_empty(
        overwrites={"name": name, "revision": revision, "similarity_fn_name": scoring}
    )


def cached_encoder(encoder: CachingEncoder, meta: ModelMeta) -> Any:
    """An mteb encoder (``AbsEncoder``) over a :class:`CachingEncoder`.

    ``encode`` gathers the texts of mteb's data loader, picks the prompt with
    :func:`tripletforge.models.prompts.encode_prompt` (the choice mteb's sentence-transformers
    wrapper makes) and encodes through the cache. Similarities are mteb's (cosine or dot) or,
    for euclidean/manhattan models, sentence-transformers'.
    """
    base = _encoder_base()

    class CachedEncoder(base):  # type: ignore[misc, valid-type]
        mteb_model_meta = meta

        def __init__(self) -> None:
            self.caching = encoder

        def encode(self, inputs, *, task_metadata, hf_split, hf_subset, prompt_type=None,
                   **kwargs):  # type: ignore[no-untyped-def]  # fmt: skip
            texts = [text for batch in inputs for text in batch["text"]]
            kind = prompt_type.value if prompt_type is not None else None
            prompt = encode_prompt(self.caching.model, task_metadata.type, kind, task_metadata.name)
            label = task_metadata.name + (f" {kind}" if kind else "")
            return self.caching.encode(texts, prompt, desc=label)

        def similarity(self, embeddings1, embeddings2):  # type: ignore[no-untyped-def]
            name = getattr(self.caching.model, "similarity_fn_name", None) or "cosine"
            if name in _MTEB_SIMILARITIES:
                return super().similarity(embeddings1, embeddings2)
            from sentence_transformers import util

            return getattr(util, f"{name}_sim")(embeddings1, embeddings2)

        def similarity_pairwise(self, embeddings1, embeddings2):  # type: ignore[no-untyped-def]
            name = getattr(self.caching.model, "similarity_fn_name", None) or "cosine"
            if name in _MTEB_SIMILARITIES:
                return super().similarity_pairwise(embeddings1, embeddings2)
            from sentence_transformers import util

            return getattr(util, f"pairwise_{name}_sim")(embeddings1, embeddings2)

    return CachedEncoder()


def label_ids(*columns: list[str]) -> tuple[list[str], list[list[int]]]:
    """Sorted label names over all columns and each column as integer ids."""
    names = sorted({label for column in columns for label in column})
    index = {name: i for i, name in enumerate(names)}
    return names, [[index[label] for label in column] for column in columns]


def as_numpy(array: Any) -> np.ndarray:
    """A numpy copy of an mteb/torch array."""
    if hasattr(array, "detach"):
        array = array.detach().cpu().numpy()
    return np.asarray(array)
