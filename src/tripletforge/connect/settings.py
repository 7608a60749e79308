"""Settings of ``tripletforge connect train`` (one pydantic model, YAML-friendly).

Every field is documented in its ``description``; the CLI's flags override a YAML file's
fields, which override these defaults. The defaults are the recipe tuned on dev data (see
docs/connect.md): e5-small → MiniLM-L6 (English), alignment then contrastive fine-tuning on
the shipped English SNLI pool, about 7 minutes on 2 CPU cores (docs/connect.md).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

AlignObjective = Literal["distill", "reconstruct", "distill+reconstruct"]


class ConnectorSettings(BaseModel):
    """Shape of the connector (LUSIFER's MLP plus learnable tokens)."""

    model_config = ConfigDict(extra="forbid")

    hidden_dim: int | None = Field(
        None, ge=1, description="width of the MLP's hidden layer (None: the encoder's width)"
    )
    num_learned_tokens: int = Field(
        4, ge=0, le=64, description="trainable vectors appended after each text's tokens"
    )
    activation: Literal["gelu", "relu", "tanh"] = Field("gelu", description="MLP activation")
    encoder_layer: int = Field(
        -1, description="encoder layer whose token states are projected (-1: the last)"
    )


class AlignSettings(BaseModel):
    """Stage (a), alignment: only the connector trains; encoder and target stay frozen."""

    model_config = ConfigDict(extra="forbid")

    objective: AlignObjective = Field(
        "distill",
        description="distill: the target fed through the connector reproduces the target's own "
        "sentence embedding of the same English text (cosine); reconstruct: a decoder target "
        "given the connector's output predicts the same text token by token (LUSIFER's "
        "alignment task; decoder targets with tied embeddings only); or both summed",
    )
    data: list[Path] = Field(
        default_factory=list,
        description="English text: .txt (one sentence per line) or triplet/table files "
        "(anchor/positive/negative or text columns); empty: the shipped SNLI pool",
    )
    epochs: float = Field(20.0, gt=0, description="passes over the sentences")
    max_steps: int | None = Field(None, ge=1, description="stop after N steps (None: epochs)")
    batch_size: int = Field(32, ge=1, description="sentences per step")
    learning_rate: float = Field(1e-3, gt=0, description="AdamW learning rate")
    warmup_ratio: float = Field(0.05, ge=0, le=1, description="linear warm-up share of steps")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay")
    contrastive_weight: float = Field(
        0.0,
        ge=0,
        description="weight of an in-batch InfoNCE term (connected vs target-alone embeddings, "
        "scale 20) added to the cosine distillation loss",
    )
    max_seq_length: int = Field(64, ge=8, description="encoder tokens per text while aligning")
    log_every: int = Field(10, ge=1, description="write loss and speed every N steps")


class FinetuneSettings(BaseModel):
    """Stage (b), representation fine-tuning: MNRL with hard negatives on English triplets."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="run stage (b) (False: the aligned model is final)")
    data: list[Path] = Field(
        default_factory=list,
        description="English (anchor, positive, negative) triplet files; empty: the shipped "
        "SNLI pool",
    )
    epochs: float = Field(1.0, gt=0, description="passes over the triplets")
    max_steps: int = Field(-1, description="stop after N steps (-1: epochs decide)")
    batch_size: int = Field(32, ge=2, description="triplets per step (in-batch negatives)")
    learning_rate: float = Field(1e-4, gt=0, description="learning rate")
    warmup_ratio: float = Field(0.1, ge=0, le=1, description="warm-up share of steps")
    scale: float = Field(20.0, gt=0, description="MNRL similarity scale (1 / temperature)")
    max_seq_length: int = Field(64, ge=8, description="encoder tokens per text while training")
    train_connector: bool = Field(True, description="keep training the connector")
    lora_r: int = Field(0, ge=0, description="LoRA rank on the target (0: no LoRA)")
    lora_alpha: int = Field(16, ge=1, description="LoRA alpha")
    lora_dropout: float = Field(0.05, ge=0, lt=1, description="LoRA dropout")
    lora_target_modules: str | list[str] = Field(
        "all-linear", description="peft target modules ('all-linear' or module names)"
    )
    save_steps: int = Field(100, ge=1, description="checkpoint every N steps (resume)")

    @model_validator(mode="after")
    def _something_trains(self) -> FinetuneSettings:
        if self.enabled and not self.train_connector and self.lora_r == 0:
            raise ValueError(
                "nothing would train in stage (b): set train_connector: true "
                "(--finetune-train-connector) or lora_r > 0 (--finetune-lora-r), or "
                "enabled: false (--no-finetune)"
            )
        return self


class ConnectSettings(BaseModel):
    """Everything ``train_connected`` needs besides the output folder."""

    model_config = ConfigDict(extra="forbid")

    encoder: str = Field(
        "e5-small",
        description="frozen multilingual encoder: built-in name, local folder or hub id",
    )
    target: str = Field(
        "minilm-en",
        description="English-centric embedding model fed through the connector: built-in name "
        "(minilm-en, smollm2-135m), local folder or hub id",
    )
    target_pooling: Literal["auto", "mean", "lasttoken", "cls"] = Field(
        "auto",
        description="auto: a sentence-transformers target keeps its own pooling, a plain "
        "transformers model (e.g. a decoder LLM) gets mean pooling",
    )
    max_seq_length: int | None = Field(
        None,
        ge=8,
        description="encoder tokens per text saved with the model (inference); None: the "
        "largest both ends allow (the encoder's limit, and the target's limit minus the "
        "learned tokens), at most 256",
    )
    connector: ConnectorSettings = Field(default_factory=ConnectorSettings)
    align: AlignSettings = Field(default_factory=AlignSettings)
    finetune: FinetuneSettings = Field(default_factory=FinetuneSettings)
    english_min_confidence: float = Field(
        0.0,
        ge=0,
        le=1,
        description="refuse a training text when py3langid's top label is not English with at "
        "least this probability (0: any non-English top label refuses)",
    )
    seed: int = Field(42, description="random seed (data order, connector init)")
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="auto: CUDA when available, else CPU"
    )
    keep_stages: bool = Field(
        False, description="keep the stage folders (aligned model, checkpoints) after success"
    )

    def hash(self) -> str:
        """A short hash of the settings that shape the model (``keep_stages`` does not).

        The output folder and its stage folders record it to decide what to redo.
        """
        text = json.dumps(self.model_dump(mode="json", exclude={"keep_stages"}), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


class SettingsError(ValueError):
    """Invalid connect settings; the message names each bad field and the fix."""


def format_settings_error(error: ValidationError, source: str = "connect settings") -> str:
    """One line per problem: ``field.path: what is wrong``."""
    lines = [f"invalid {source}:"]
    for item in error.errors():
        loc = ".".join(str(p) for p in item["loc"]) or "<top>"
        msg = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            msg = "unknown field; see `tripletforge connect train --help` or docs/connect.md"
        elif item["type"] == "missing":
            msg = f"required field is missing; add `{item['loc'][-1]}: ...`"
        elif "input" in item and item["type"] not in ("model_type",):
            msg = f"{msg} (got {item['input']!r})"
        lines.append(f"  {loc}: {msg}")
    return "\n".join(lines)


def parse_settings(data: dict, source: str = "connect settings") -> ConnectSettings:
    """Validate a mapping (raises :class:`SettingsError` naming every bad field)."""
    if not isinstance(data, dict):
        raise SettingsError(f"invalid {source}: expected a mapping of fields")
    try:
        return ConnectSettings.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(format_settings_error(exc, source)) from None
