"""Loading the two ends of a connection: the multilingual encoder and the target embedder.

Both accept a built-in name (``e5-small``, ``minilm-en``, ``smollm2-135m``), a local folder or a
Hugging Face hub id. A sentence-transformers folder contributes its first module's transformer
and tokenizer, and — for the target — the modules after it (pooling, normalisation), which the
connected model reuses unchanged. A plain transformers model (e.g. a decoder LLM) gets a
sentence-transformers ``Pooling`` built from the requested mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

#: Pooling modes a plain transformers target can get (sentence-transformers' names).
POOLING_MODES = ("mean", "lasttoken", "cls")


@dataclass
class LoadedTransformer:
    """A transformers base model with its tokenizer, and the modules that pool its output.

    ``kind`` is ``encoder`` (bidirectional) or ``decoder`` (causal LM); ``tail`` holds the
    sentence-transformers modules after the transformer (empty for the multilingual encoder).
    """

    model: nn.Module
    tokenizer: Any
    kind: str
    source: str
    tail: list[nn.Module] = field(default_factory=list)
    max_seq_length: int | None = None

    @property
    def hidden_size(self) -> int:
        return int(self.model.config.hidden_size)

    def embed(self, texts: list[str], max_length: int) -> torch.Tensor:
        """The model's own sentence embeddings of ``texts``, ``(len(texts), d)``, with gradient
        tracking as the caller's context decides (the target-alone teacher of alignment)."""
        enc = self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt"
        )
        device = next(self.model.parameters()).device
        enc = {k: v.to(device) for k, v in enc.items()}
        out = self.model(**enc, return_dict=True)
        features = {
            "token_embeddings": out.last_hidden_state,
            "attention_mask": enc["attention_mask"],
        }
        for module in self.tail:
            features = module(features)
        return features["sentence_embedding"]


def _is_decoder(config: Any) -> bool:
    """A causal LM: flagged as a decoder, saved as ``*ForCausalLM``, or an architecture that
    has a causal-LM head but no masked-LM head in transformers (Llama, Mistral, Qwen, ...)."""
    from transformers import MODEL_FOR_CAUSAL_LM_MAPPING, MODEL_FOR_MASKED_LM_MAPPING

    if getattr(config, "is_decoder", False):
        return True
    if any(a.endswith("ForCausalLM") for a in getattr(config, "architectures", None) or []):
        return True
    kind = type(config)
    return kind in MODEL_FOR_CAUSAL_LM_MAPPING and kind not in MODEL_FOR_MASKED_LM_MAPPING


def load_transformer(name: str, pooling: str = "auto", with_tail: bool = True) -> LoadedTransformer:
    """Load a model by built-in name, folder or hub id as a :class:`LoadedTransformer`.

    Args:
        name: built-in name, local folder or hub id.
        pooling: ``auto`` keeps a sentence-transformers folder's own pooling (``mean`` for a
            plain transformers model); ``mean``, ``lasttoken`` or ``cls`` replace it.
        with_tail: build the pooling modules (False for the multilingual encoder).

    Raises:
        ValueError: an unknown pooling mode, or a sentence-transformers folder whose first
            module is not a ``Transformer``.
    """
    from tripletforge.models import resolve_model_path

    if pooling != "auto" and pooling not in POOLING_MODES:
        raise ValueError(f"unknown pooling {pooling!r}; use auto, {', '.join(POOLING_MODES)}")
    source = resolve_model_path(name)
    if (Path(source) / "modules.json").is_file():
        return _from_sentence_transformers(source, pooling, with_tail)
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    config = AutoConfig.from_pretrained(source)
    model = AutoModel.from_pretrained(source)
    tokenizer = AutoTokenizer.from_pretrained(source)
    kind = "decoder" if _is_decoder(config) else "encoder"
    _ensure_pad_token(tokenizer)
    limit = getattr(config, "max_position_embeddings", None)
    tail: list[nn.Module] = []
    if with_tail:
        from sentence_transformers.sentence_transformer.modules import Pooling

        tail = [
            Pooling(int(config.hidden_size), pooling_mode="mean" if pooling == "auto" else pooling)
        ]
    return LoadedTransformer(model, tokenizer, kind, str(source), tail, limit)


def _ensure_pad_token(tokenizer: Any) -> None:
    """Decoder tokenizers often lack a pad token: use EOS; pad on the right."""
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"


def _from_sentence_transformers(source: str, pooling: str, with_tail: bool) -> LoadedTransformer:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer

    st = SentenceTransformer(source, device="cpu")
    modules = list(st)
    first = modules[0]
    if not isinstance(first, Transformer):
        raise ValueError(
            f"{source}: the first module is {type(first).__name__}, not a Transformer; "
            "connect needs a transformer whose input embeddings can be replaced"
        )
    model = first.auto_model
    kind = "decoder" if _is_decoder(model.config) else "encoder"
    _ensure_pad_token(first.tokenizer)
    tail: list[nn.Module] = []
    if with_tail:
        tail = modules[1:]
        if pooling != "auto":
            hidden = first.get_embedding_dimension()
            tail = [
                Pooling(hidden, pooling_mode=pooling) if isinstance(m, Pooling) else m for m in tail
            ]
            if not any(isinstance(m, Pooling) for m in tail):
                tail.insert(0, Pooling(hidden, pooling_mode=pooling))
    return LoadedTransformer(model, first.tokenizer, kind, source, tail, st.max_seq_length)


def standalone_model(name: str, pooling: str = "auto") -> Any:
    """One end of a connection on its own, pooled as the connected model pools it.

    The "target alone" row of a comparison: a sentence-transformers folder with ``auto``
    pooling is returned as its path (evaluated exactly as ``tripletforge evaluate -m NAME``);
    otherwise a CPU ``SentenceTransformer`` of its transformer and the pooling
    :func:`load_transformer` gives it (a plain transformers model: mean, or ``pooling``; a
    decoder's tokenizer pads with EOS on the right, as in training).

    Raises:
        ValueError: an unknown pooling mode.
    """
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer

    from tripletforge.models import resolve_model_path

    if pooling != "auto" and pooling not in POOLING_MODES:
        raise ValueError(f"unknown pooling {pooling!r}; use auto, {', '.join(POOLING_MODES)}")
    source = resolve_model_path(name)
    if (Path(source) / "modules.json").is_file():
        if pooling == "auto":
            return source
        st = SentenceTransformer(source, device="cpu")
        first, tail = st[0], list(st)[1:]
    else:
        first, tail = Transformer(source), []
    hidden = first.get_embedding_dimension()
    pooled = [Pooling(hidden, pooling_mode="mean" if pooling == "auto" else pooling)]
    tail = [pooled[0] if isinstance(m, Pooling) else m for m in tail] or pooled
    if not any(isinstance(m, Pooling) for m in tail):
        tail.insert(0, pooled[0])
    _ensure_pad_token(first.tokenizer)
    return SentenceTransformer(modules=[first, *tail], device="cpu")
