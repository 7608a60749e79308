"""``ConnectedEncoder``: the sentence-transformers module of a LUSIFER-connected model.

One input module runs the whole token path of LUSIFER (Man et al., 2025, "Language Universal
Space Integration for Enhanced Multilingual Embeddings with Large Language Models"):

    text ─ encoder tokenizer ─▶ frozen multilingual encoder ─▶ token states (batch, n, d_enc)
         ─▶ :class:`~tripletforge.connect.connector.Connector` ─▶ (batch, n + k, d_tgt)
         ─▶ target transformer (``inputs_embeds``) ─▶ ``token_embeddings`` (batch, n + k, d_tgt)

and the modules after it are the target's own (``Pooling``, ``Normalize``, ...), so the
sentence embedding is pooled exactly as the target pools its own text.

Saved layout (``save_in_root``; weights are safetensors only)::

    connect_config.json        this module's settings
    encoder/                   the multilingual encoder and its tokenizer (transformers folder)
    target/                    the target transformer (and its tokenizer)
    target_lora/               only while LoRA adapters are attached (peft adapter folder)
    connector.safetensors      the connector's MLP and learned tokens

Loading: ``modules.json`` names this class (``tripletforge.connect.module.ConnectedEncoder``),
which is not part of sentence-transformers, so plain sentence-transformers (and mteb through
it) needs ``tripletforge`` installed and ``trust_remote_code=True``;
:func:`tripletforge.models.load_encoder` (``tripletforge evaluate``, training) passes that flag
itself for folders whose modules are all sentence-transformers' or tripletforge's own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import torch
from sentence_transformers.base.modules import InputModule

from tripletforge.connect.connector import Connector

ENCODER_DIR, TARGET_DIR, LORA_DIR = "encoder", "target", "target_lora"
CONNECTOR_FILE = "connector.safetensors"


class ConnectedEncoder(InputModule):
    """Frozen encoder → connector → target transformer; outputs ``token_embeddings``.

    Args:
        encoder: a transformers model returning ``last_hidden_state``/``hidden_states``
            (e.g. the ``BertModel`` of multilingual-e5-small); frozen and kept in eval mode.
        tokenizer: the encoder's tokenizer (right padding is enforced).
        target: the target's transformers base model; must accept ``inputs_embeds`` (BERT-style
            encoders and decoder LLMs do). May be wrapped by peft LoRA.
        connector: the trainable :class:`Connector` (``d_enc → d_tgt``).
        target_tokenizer: the target's own tokenizer (used for the target-alone teacher and the
            reconstruction objective; saved with the target).
        encoder_layer: which encoder layer's token states are projected (``-1``: the last).
        max_seq_length: encoder tokens per text (longer texts are truncated).
        target_kind: ``encoder`` (bidirectional) or ``decoder`` (causal LLM); informational.
    """

    config_file_name = "connect_config.json"
    config_keys: ClassVar[list[str]] = [
        "encoder_layer",
        "max_seq_length",
        "target_kind",
        "connector_config",
    ]
    save_in_root = True

    def __init__(
        self,
        encoder: torch.nn.Module,
        tokenizer: Any,
        target: torch.nn.Module,
        connector: Connector,
        target_tokenizer: Any = None,
        encoder_layer: int = -1,
        max_seq_length: int = 256,
        target_kind: str = "encoder",
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.tokenizer.padding_side = "right"
        self.target = target
        self.target_tokenizer = target_tokenizer
        self.connector = connector
        self.encoder_layer = encoder_layer
        self.max_seq_length = max_seq_length
        self.target_kind = target_kind
        self.encoder.requires_grad_(False)
        self.encoder.eval()
        if hasattr(self.target, "config"):
            self.target.config.use_cache = False

    # -- configuration -------------------------------------------------------------------
    @property
    def connector_config(self) -> dict[str, Any]:
        """The connector's shape, as saved in ``connect_config.json``."""
        c = self.connector
        return {
            "in_dim": c.in_dim,
            "out_dim": c.out_dim,
            "hidden_dim": c.hidden_dim,
            "num_learned_tokens": c.num_learned_tokens,
            "activation": c.activation,
        }

    @property
    def auto_model(self) -> torch.nn.Module:
        """The target transformer (what sentence-transformers' ``Transformer.auto_model`` is)."""
        return self.target

    def get_embedding_dimension(self) -> int:
        """Width of the token embeddings handed to pooling (the target's hidden size)."""
        return self.connector.out_dim

    def train(self, mode: bool = True) -> ConnectedEncoder:
        """Switch train/eval mode; the frozen encoder always stays in eval mode (no dropout)."""
        super().train(mode)
        self.encoder.eval()
        return self

    # -- inputs --------------------------------------------------------------------------
    def preprocess(
        self, inputs: list[str], prompt: str | None = None, **kwargs: Any
    ) -> dict[str, torch.Tensor]:
        """Tokenize texts for the encoder: ``input_ids``/``attention_mask`` ``(batch, n)``.

        ``max_length`` (keyword) overrides :attr:`max_seq_length` for this call.
        """
        texts = [str(t) for t in inputs]
        if prompt:
            texts = [prompt + t for t in texts]
        encoded = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=kwargs.get("max_length") or self.max_seq_length,
            return_tensors="pt",
        )
        return {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}

    # -- forward -------------------------------------------------------------------------
    def encoder_states(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Token states of the frozen encoder, ``(batch, n, d_enc)`` (no gradient)."""
        with torch.no_grad():
            out = self.encoder(
                input_ids=input_ids,
                attention_mask=attention_mask,
                output_hidden_states=self.encoder_layer != -1,
                return_dict=True,
            )
        if self.encoder_layer == -1:
            return out.last_hidden_state
        return out.hidden_states[self.encoder_layer]

    def connect(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The target's input embeddings ``(batch, n + k, d_tgt)`` and mask ``(batch, n + k)``."""
        states = self.encoder_states(input_ids, attention_mask)
        return self.connector(states, attention_mask)

    def forward(self, features: dict[str, torch.Tensor], **kwargs: Any) -> dict[str, torch.Tensor]:
        """Add ``token_embeddings`` ``(batch, n + k, d_tgt)``; replace ``attention_mask``.

        ``features`` holds ``input_ids``/``attention_mask`` ``(batch, n)``, or precomputed
        ``encoder_states`` ``(batch, n, d_enc)`` with their ``attention_mask`` (the frozen
        encoder's output does not change, so alignment computes it once per text).
        """
        if "encoder_states" in features:
            embeds, mask = self.connector(features["encoder_states"], features["attention_mask"])
        else:
            embeds, mask = self.connect(features["input_ids"], features["attention_mask"])
        out = self.target(inputs_embeds=embeds, attention_mask=mask, return_dict=True)
        features["token_embeddings"] = out.last_hidden_state
        features["attention_mask"] = mask
        return features

    # -- LoRA ----------------------------------------------------------------------------
    @property
    def has_lora(self) -> bool:
        """Whether peft LoRA adapters are attached to the target."""
        from peft import PeftModel

        return isinstance(self.target, PeftModel)

    def add_lora(self, r: int, alpha: int, dropout: float, target_modules: str | list[str]) -> None:
        """Attach trainable LoRA adapters to the target (the paper's stage-2 LoRA)."""
        from peft import LoraConfig, get_peft_model

        if self.has_lora:
            raise ValueError("the target already has LoRA adapters")
        config = LoraConfig(
            r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=target_modules
        )
        self.target = get_peft_model(self.target, config)

    def merge_lora(self) -> None:
        """Fold LoRA adapters into the target's weights (no-op without adapters)."""
        if self.has_lora:
            self.target = self.target.merge_and_unload()

    # -- save / load ---------------------------------------------------------------------
    def get_config_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.config_keys}

    def save(self, output_path: str, *args: Any, safe_serialization: bool = True, **kwargs: Any):
        """Write the layout described in the module docstring (safetensors only)."""
        from safetensors.torch import save_file

        out = Path(output_path)
        out.mkdir(parents=True, exist_ok=True)
        self.save_config(str(out))
        self.encoder.save_pretrained(out / ENCODER_DIR, safe_serialization=True)
        self.tokenizer.save_pretrained(out / ENCODER_DIR)
        if self.has_lora:
            base = self.target.get_base_model()
            state = {
                key.replace(".base_layer", ""): value
                for key, value in base.state_dict().items()
                if "lora_" not in key
            }
            base.save_pretrained(out / TARGET_DIR, state_dict=state, safe_serialization=True)
            self.target.save_pretrained(out / LORA_DIR, safe_serialization=True)
        else:
            self.target.save_pretrained(out / TARGET_DIR, safe_serialization=True)
            if (out / LORA_DIR).is_dir():  # a stale adapter from an earlier save
                import shutil

                shutil.rmtree(out / LORA_DIR)
        if self.target_tokenizer is not None:
            self.target_tokenizer.save_pretrained(out / TARGET_DIR)
        state = {k: v.detach().contiguous() for k, v in self.connector.state_dict().items()}
        save_file(state, str(out / CONNECTOR_FILE))

    @classmethod
    def load(
        cls,
        model_name_or_path: str,
        subfolder: str = "",
        token: bool | str | None = None,
        cache_folder: str | None = None,
        revision: str | None = None,
        local_files_only: bool = False,
        **kwargs: Any,
    ) -> ConnectedEncoder:
        """Rebuild the module from a saved folder (local path or hub id)."""
        folder = cls.load_dir_path(
            model_name_or_path,
            subfolder=subfolder,
            token=token,
            cache_folder=cache_folder,
            revision=revision,
            local_files_only=local_files_only,
        )
        return load_connected_module(Path(folder))


def load_connected_module(folder: Path) -> ConnectedEncoder:
    """Build a :class:`ConnectedEncoder` from the files ``save`` wrote into ``folder``."""
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoTokenizer

    config = json.loads((folder / ConnectedEncoder.config_file_name).read_text())
    encoder = AutoModel.from_pretrained(folder / ENCODER_DIR)
    tokenizer = AutoTokenizer.from_pretrained(folder / ENCODER_DIR)
    target = AutoModel.from_pretrained(folder / TARGET_DIR)
    target_tokenizer = None
    if (folder / TARGET_DIR / "tokenizer_config.json").is_file():
        target_tokenizer = AutoTokenizer.from_pretrained(folder / TARGET_DIR)
    if (folder / LORA_DIR).is_dir():
        from peft import PeftModel

        target = PeftModel.from_pretrained(target, folder / LORA_DIR)
    connector = Connector(**config["connector_config"])
    connector.load_state_dict(load_file(str(folder / CONNECTOR_FILE)))
    return ConnectedEncoder(
        encoder,
        tokenizer,
        target,
        connector,
        target_tokenizer=target_tokenizer,
        encoder_layer=config["encoder_layer"],
        max_seq_length=config["max_seq_length"],
        target_kind=config["target_kind"],
    )
