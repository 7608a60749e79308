"""Assemble a connected model: encoder + connector + target + the target's own pooling.

>>> from tripletforge.connect import ConnectSettings, build_connected_model
>>> built = build_connected_model(ConnectSettings())  # doctest: +SKIP
>>> built.model.encode(["Ina son karanta littafi."]).shape  # doctest: +SKIP
(1, 384)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from tripletforge.connect.connector import Connector
from tripletforge.connect.module import ConnectedEncoder
from tripletforge.connect.settings import ConnectSettings
from tripletforge.connect.targets import LoadedTransformer, load_transformer

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


#: Inference length cap when ``max_seq_length`` is left to ``None`` (encoder tokens).
AUTO_MAX_SEQ_LENGTH = 256


@dataclass
class ConnectedModel:
    """The connected ``SentenceTransformer`` and the target it was built on.

    ``model`` is ``[ConnectedEncoder, *target pooling modules]``; ``target`` holds the same
    target weights with the target's own tokenizer, so ``target.embed(texts, n)`` gives the
    target-alone embeddings (the alignment teacher) without a second copy of the weights.
    """

    model: SentenceTransformer
    target: LoadedTransformer

    @property
    def module(self) -> ConnectedEncoder:
        return self.model[0]


def resolve_device(device: str) -> str:
    """``auto`` → ``cuda`` when available, else ``cpu``."""
    if device != "auto":
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def build_connected_model(settings: ConnectSettings) -> ConnectedModel:
    """A fresh (untrained connector) connected model from the settings' encoder and target.

    Raises:
        ValueError: a target without a usable transformer, or ``max_seq_length`` plus the
            learned tokens beyond the target's position limit.
    """
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(settings.seed)
    encoder = load_transformer(settings.encoder, with_tail=False)
    target = load_transformer(settings.target, pooling=settings.target_pooling)
    k = settings.connector.num_learned_tokens
    limit = target.max_seq_length or getattr(target.model.config, "max_position_embeddings", None)
    max_seq_length = settings.max_seq_length
    if max_seq_length is None:
        candidates = [AUTO_MAX_SEQ_LENGTH, encoder.max_seq_length, limit and limit - k]
        max_seq_length = min(c for c in candidates if c)
    elif limit is not None and max_seq_length + k > limit:
        raise ValueError(
            f"max_seq_length {max_seq_length} + {k} learned tokens exceeds the target's "
            f"{limit} positions; lower max_seq_length"
        )
    word_std = float(target.model.get_input_embeddings().weight.detach().float().std())
    connector = Connector(
        encoder.hidden_size,
        target.hidden_size,
        hidden_dim=settings.connector.hidden_dim,
        num_learned_tokens=k,
        activation=settings.connector.activation,
        output_std=word_std,
    )
    target.model.requires_grad_(False)
    module = ConnectedEncoder(
        encoder.model,
        encoder.tokenizer,
        target.model,
        connector,
        target_tokenizer=target.tokenizer,
        encoder_layer=settings.connector.encoder_layer,
        max_seq_length=max_seq_length,
        target_kind=target.kind,
    )
    model = SentenceTransformer(
        modules=[module, *target.tail], device=resolve_device(settings.device)
    )
    return ConnectedModel(model, target)
