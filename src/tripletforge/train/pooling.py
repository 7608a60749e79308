"""Pooling choices, including the paper's ``avg_first_last`` built from stock modules.

``avg_first_last`` (SimCSE) averages the first and last transformer layers' token states,
then mean-pools them over the attention mask. It is a stock ``WeightedLayerPooling`` with
frozen weights ``[1, 0, …, 0, 1]`` from layer 1 followed by mean ``Pooling``: both are
``sentence_transformers.*`` classes, so the saved folder loads in plain sentence-transformers
(and mteb) without ``trust_remote_code``, which any custom module class would require.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


def first_last_layer_pooling(hidden: int, num_layers: int) -> nn.Module:
    """A ``WeightedLayerPooling`` whose token states are (layer 1 + last layer) / 2, frozen."""
    from sentence_transformers.sentence_transformer.modules import WeightedLayerPooling

    weights = torch.zeros(num_layers)
    weights[0] = 1.0
    weights[-1] = 1.0
    module = WeightedLayerPooling(
        hidden,
        num_hidden_layers=num_layers,
        layer_start=1,
        layer_weights=nn.Parameter(weights, requires_grad=False),
    )
    return module


def set_pooling(model: SentenceTransformer, pooling: str) -> SentenceTransformer:
    """Set the pooling to ``mean``, ``cls`` or ``avg_first_last`` (``model``: keep it)."""
    if pooling == "model":
        return model
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, WeightedLayerPooling

    modules = list(model)
    transformer = modules[0]
    tail = [m for m in modules[1:] if not isinstance(m, Pooling | WeightedLayerPooling)]
    hidden = transformer.get_embedding_dimension()
    config = transformer.auto_model.config
    new: list[nn.Module] = []
    if pooling == "avg_first_last":
        config.output_hidden_states = True
        new.append(first_last_layer_pooling(hidden, config.num_hidden_layers))
        new.append(Pooling(hidden, pooling_mode="mean"))
    elif pooling in ("mean", "cls"):
        config.output_hidden_states = False
        new.append(Pooling(hidden, pooling_mode=pooling))
    else:
        raise ValueError(f"unknown pooling {pooling!r}; use model, mean, cls or avg_first_last")
    rebuilt = SentenceTransformer(
        modules=[transformer, *new, *tail],
        prompts=dict(model.prompts),
        default_prompt_name=model.default_prompt_name,
        similarity_fn_name=model.similarity_fn_name,
        device=str(model.device),
    )
    return rebuilt


def freeze_word_embeddings(model: SentenceTransformer) -> int:
    """Stop gradients into the word-embedding matrix; return the parameters frozen."""
    weight = model[0].auto_model.get_input_embeddings().weight
    weight.requires_grad_(False)
    return weight.numel()
