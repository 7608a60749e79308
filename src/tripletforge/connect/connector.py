"""The LUSIFER connector: encoder token states → the target's input-embedding space.

LUSIFER (Man et al., 2025, "Language Universal Space Integration for Enhanced Multilingual
Embeddings with Large Language Models", arXiv 2501.00874) joins a frozen multilingual encoder
to an English-centric embedding model with "a minimal set of trainable parameters": a small
feed-forward network applied to every token state of the encoder, plus a few learnable tokens
appended to the sequence. The target then reads the projected vectors as its input embeddings
(``inputs_embeds``), in place of its own word embeddings.

Layout. Every row of the output is ``[projected tokens, learned tokens, padding]``: the learned
tokens follow each sequence's own last token, so a row's positions (and hence its embedding)
do not depend on how much padding the batch needed; a decoder target's last-token pooling
lands on the last learned token, which has seen the whole text.
"""

from __future__ import annotations

import math

import torch
from torch import nn

#: Activations of the connector's hidden layer (the paper's code uses ReLU).
ACTIVATIONS: dict[str, type[nn.Module]] = {"gelu": nn.GELU, "relu": nn.ReLU, "tanh": nn.Tanh}


class Connector(nn.Module):
    """Token-wise MLP ``d_in → hidden → d_out`` plus ``num_learned_tokens`` trainable vectors.

    Args:
        in_dim: hidden size of the multilingual encoder (``d_in``).
        out_dim: input-embedding size of the target (``d_out``).
        hidden_dim: width of the MLP's hidden layer (default: ``in_dim``, as in the paper).
        num_learned_tokens: trainable vectors appended after each sequence (``k``; 0: none).
        activation: ``gelu``, ``relu`` or ``tanh``.
        output_std: standard deviation the projected vectors start with (match the target's
            word-embedding rows so that its first layer sees inputs of the usual scale).
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hidden_dim: int | None = None,
        num_learned_tokens: int = 4,
        activation: str = "gelu",
        output_std: float = 0.05,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; use one of {sorted(ACTIVATIONS)}")
        hidden_dim = hidden_dim or in_dim
        self.in_dim, self.out_dim, self.hidden_dim = in_dim, out_dim, hidden_dim
        self.num_learned_tokens = num_learned_tokens
        self.activation = activation
        self.norm = nn.LayerNorm(in_dim)
        self.mlp = nn.Sequential(
            nn.Linear(in_dim, hidden_dim), ACTIVATIONS[activation](), nn.Linear(hidden_dim, out_dim)
        )
        # LayerNorm'd inputs and the default init give hidden units of about unit scale; the
        # output layer is scaled so the projected vectors start near ``output_std``.
        out = self.mlp[-1]
        nn.init.normal_(out.weight, std=output_std / math.sqrt(hidden_dim / 2))
        nn.init.zeros_(out.bias)
        self.learned_tokens = nn.Parameter(torch.randn(num_learned_tokens, out_dim) * output_std)

    def forward(
        self, hidden: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Project token states and append the learned tokens.

        Args:
            hidden: encoder token states, ``(batch, n, d_in)``.
            attention_mask: ``(batch, n)``, 1 for real tokens; right-padded (real tokens first).

        Returns:
            ``(embeds, mask)``: ``(batch, n + k, d_out)`` and ``(batch, n + k)``, each row laid out
            as ``[projected tokens, learned tokens, padding]``; padding positions are zero.
        """
        batch, n, _ = hidden.shape
        k = self.num_learned_tokens
        mask = attention_mask.to(hidden.dtype)
        projected = self.mlp(self.norm(hidden)) * mask.unsqueeze(-1)  # (batch, n, d_out)
        lengths = attention_mask.long().sum(dim=1)  # (batch,)
        embeds = torch.cat([projected, projected.new_zeros(batch, k, self.out_dim)], dim=1)
        if k:
            slots = lengths.unsqueeze(1) + torch.arange(k, device=hidden.device)  # (batch, k)
            index = slots.unsqueeze(-1).expand(batch, k, self.out_dim)
            learned = self.learned_tokens.to(embeds.dtype).unsqueeze(0).expand(batch, k, -1)
            embeds = embeds.scatter(1, index, learned)
        positions = torch.arange(n + k, device=hidden.device).unsqueeze(0)  # (1, n + k)
        new_mask = (positions < (lengths + k).unsqueeze(1)).to(attention_mask.dtype)
        return embeds, new_mask
