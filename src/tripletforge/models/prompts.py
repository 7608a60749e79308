"""The one prompt policy of tripletforge: prompts are chosen exactly as mteb chooses them.

Every encode in the package — evaluation, the teacher-margin filter, hard-negative mining and
the merge dev scorers — asks :func:`encode_prompt` which text to prepend. The answer follows
mteb's ``SentenceTransformerEncoderWrapper`` (mteb 2.26, ``mteb/models/abs_encoder.py::
get_prompt_name`` and ``sentence_transformer_wrapper.py``) for a model whose prompts are its
sentence-transformers ``prompts`` (a model folder carries them in
``config_sentence_transformers.json``):

1. The model's prompt names are filtered to those mteb accepts: MTEB task types (``STS``,
   ``Retrieval``, …), prompt types (``query``, ``document``), MTEB task names and
   ``"{task or type}-{query|document}"``. Other names (``passage``) are ignored by mteb.
2. mteb picks the first name present among: ``{task name}-{prompt type}``, ``{task name}``,
   ``{task type}-{prompt type}``, ``{task type}``, ``{prompt type}``.
3. If none is present, sentence-transformers falls back inside the method mteb calls:
   ``encode_query`` (retrieval queries) uses ``prompts["query"]``, ``encode_document``
   (retrieval documents) the first of ``document``/``passage``/``corpus``, and ``encode``
   (every symmetric input) the model's ``default_prompt_name``.

For the built-in e5 encoders (prompts ``query: `` / ``document: passage: ``, no default) this
gives ``query: `` on retrieval and reranking queries, ``passage: `` on their documents, and
**no prompt** for STS, bitext mining, classification, clustering and pair classification —
the protocol of the published MTEB (MMTEB) numbers.

Training-data tools compare anchors, positives and negatives symmetrically, so the
teacher-margin filter and mining encode as :data:`SYMMETRIC` (mteb's ``STS`` type); the merge
dev scorers encode as the task of their dev data.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Literal

import numpy as np

log = logging.getLogger(__name__)

Role = Literal["query", "document"]

#: tripletforge task name → MTEB task type (``TaskMetadata.type``).
MTEB_TASK_TYPES: dict[str, str] = {
    "sts": "STS",
    "bitext": "BitextMining",
    "retrieval": "Retrieval",
    "reranking": "Reranking",
    "classification": "Classification",
    "clustering": "Clustering",
    "pair_classification": "PairClassification",
}
#: The task type the training-data tools (teacher margin, mining) encode as.
SYMMETRIC = "STS"
#: Prompts every loaded ``SentenceTransformer`` has even when its folder names none
#: (``SentenceTransformer._default_prompts``; ``None`` becomes ``""`` on load).
ST_DEFAULT_PROMPTS: dict[str, str] = {"query": "", "document": ""}
_DOCUMENT_FALLBACK = ("document", "passage", "corpus")


@dataclass(frozen=True)
class EncodePrompt:
    """What one encode call prepends, and which sentence-transformers method it goes through.

    ``text`` is the literal prefix (``""`` = none); ``role`` selects ``encode_query``
    (``"query"``), ``encode_document`` (``"document"``) or ``encode`` (``None``), which matters
    for models with a query/document router; ``name`` is the prompt name chosen, if any.
    """

    text: str = ""
    role: Role | None = None
    name: str | None = None

    @property
    def key(self) -> str:
        """The embedding-cache key of this prompt (role and text)."""
        return self.text if self.role is None else f"[{self.role}]{self.text}"


def model_prompts(model: Any) -> dict[str, str]:
    """A model's (or lazily read folder's) prompts as a loaded sentence-transformer has them."""
    prompts = dict(ST_DEFAULT_PROMPTS)
    prompts.update({k: (v or "") for k, v in (getattr(model, "prompts", None) or {}).items()})
    return prompts


def mteb_prompt_names(prompts: Mapping[str, str]) -> dict[str, str]:
    """The prompts whose names mteb accepts (others are ignored by mteb, as here)."""
    if not prompts:
        return {}
    from mteb.models.abs_encoder import AbsEncoder

    mteb_log = logging.getLogger("mteb.models.abs_encoder")
    level = mteb_log.level
    mteb_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            valid, invalid = AbsEncoder.validate_task_to_prompt_name(
                dict(prompts), raise_for_invalid_keys=False
            )
    finally:
        mteb_log.setLevel(level)
    if invalid:
        log.debug("prompt names mteb ignores: %s", sorted(set(prompts) - set(valid or {})))
    return dict(valid or {})


def encode_prompt(
    model: Any,
    task_type: str,
    prompt_type: Role | None = None,
    task_name: str | None = None,
) -> EncodePrompt:
    """The prompt mteb applies for ``model`` on a task of MTEB type ``task_type``.

    Args:
        model: a ``SentenceTransformer`` or anything with ``prompts`` and
            ``default_prompt_name`` (e.g. :class:`tripletforge.evaluate.lazy.LazyEncoder`).
        task_type: an MTEB task type (``"STS"``, ``"Retrieval"``…) or a tripletforge task name
            (``"sts"``, ``"pair_classification"``…, see :data:`MTEB_TASK_TYPES`).
        prompt_type: ``"query"`` or ``"document"`` for the two sides of retrieval/reranking,
            None for symmetric inputs.
        task_name: the task's name (a model may carry a prompt for one named task).
    """
    from mteb.models.abs_encoder import get_prompt_name
    from mteb.types import PromptType

    task_type = MTEB_TASK_TYPES.get(task_type, task_type)
    prompts = model_prompts(model)
    valid = mteb_prompt_names(prompts)
    metadata = SimpleNamespace(name=task_name or "", type=task_type)
    mteb_type = PromptType(prompt_type) if prompt_type else None
    name = get_prompt_name(valid or None, metadata, mteb_type)  # type: ignore[arg-type]
    if name is not None:
        return EncodePrompt(valid[name], prompt_type, name)
    # mteb passes prompt=None; sentence-transformers then falls back per method
    if prompt_type == "query" and "query" in prompts:
        return EncodePrompt(prompts["query"], "query", "query")
    if prompt_type == "document":
        fallback = next((p for p in _DOCUMENT_FALLBACK if p in prompts), None)
        if fallback is not None:
            return EncodePrompt(prompts[fallback], "document", fallback)
    default = getattr(model, "default_prompt_name", None)
    if default:
        return EncodePrompt(prompts.get(default) or "", prompt_type, default)
    return EncodePrompt("", prompt_type, None)


def symmetric_prompt(model: Any) -> EncodePrompt:
    """The prompt of symmetric comparisons (teacher margin, mining): mteb's STS prompt."""
    return encode_prompt(model, SYMMETRIC)


def encode_with_prompt(
    model: Any, texts: Sequence[str], prompt: EncodePrompt, **kwargs: Any
) -> np.ndarray:
    """Encode ``texts`` as mteb does: the method of ``prompt.role`` with ``prompt=prompt.text``.

    Keyword arguments go to the sentence-transformers method (``batch_size``,
    ``normalize_embeddings``, ``convert_to_tensor``…). Returns ``(len(texts), d)``.
    """
    method = {"query": "encode_query", "document": "encode_document"}.get(prompt.role or "")
    encode = getattr(model, method) if method and hasattr(model, method) else model.encode
    kwargs.setdefault("show_progress_bar", False)
    return encode(list(texts), prompt=prompt.text, **kwargs)
