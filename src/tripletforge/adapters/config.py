"""Typed settings of adapter training: the LoRA shape, the optimisation and the data source.

One pydantic class each; ``tripletforge adapters train`` derives its options from them and a
``--config`` YAML may set any of their fields.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

AdapterType = Literal["task", "language", "xlora"]
ADAPTER_TYPES: tuple[AdapterType, ...] = ("task", "language", "xlora")
#: Kinds trained on premise → hypothesis pairs with a polarity (the others: raw text).
SUPERVISED_TYPES = ("task", "xlora")


class LoraSettings(BaseModel):
    """LoRA shape: rank, alpha, dropout and target modules (peft names or ``all-linear``)."""

    model_config = ConfigDict(extra="forbid")

    r: int = Field(8, ge=1, description="LoRA rank")
    alpha: int = Field(16, ge=1, description="LoRA alpha (scaling = alpha / r)")
    dropout: float = Field(0.05, ge=0, lt=1, description="LoRA dropout")
    target_modules: str | list[str] = Field(
        "all-linear", description="'all-linear' or module names (comma-separated)"
    )

    def to_peft(self) -> Any:
        from peft import LoraConfig, TaskType

        return LoraConfig(
            task_type=TaskType.CAUSAL_LM,
            r=self.r,
            lora_alpha=self.alpha,
            lora_dropout=self.dropout,
            target_modules=self.target_modules,
        )


class AdapterTrainSettings(BaseModel):
    """Optimisation: one step is ``grad_accum`` micro-batches of ``batch_size`` examples."""

    model_config = ConfigDict(extra="forbid")

    max_steps: int | None = Field(None, ge=1, description="optimiser steps (default: epochs)")
    epochs: float = Field(1.0, gt=0, description="epochs when max_steps is not set")
    batch_size: int = Field(4, ge=1, description="examples per micro-batch")
    grad_accum: int = Field(1, ge=1, description="micro-batches per step")
    learning_rate: float = Field(2e-4, gt=0, description="AdamW learning rate")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay")
    scheduler: str = Field("linear", description="any transformers.get_scheduler name")
    warmup_steps: int = Field(0, ge=0, description="learning-rate warm-up steps")
    max_grad_norm: float = Field(1.0, gt=0, description="gradient clipping norm")
    max_length: int = Field(256, ge=8, description="max tokens per example (longer: skipped)")
    save_steps: int = Field(50, ge=1, description="checkpoint every N steps (resume granularity)")
    keep_checkpoints: int = Field(1, ge=1, description="checkpoints kept")
    seed: int = Field(0, description="random seed (data order, initialisation, subset)")
    eval_examples: int = Field(
        0,
        ge=0,
        description="hold out N examples (seeded; at most half) for the loss before "
        "and after training",
    )
    device: str | None = Field(
        None, description="cpu or cuda (default: cuda if available; several GPUs: torchrun)"
    )
    quantization: Literal["none", "4bit"] = Field(
        "none", description="4bit: QLoRA, the base in bitsandbytes NF4 (CUDA, extra 'qlora')"
    )
    bf16: bool = Field(False, description="bfloat16 mixed precision (QLoRA: compute dtype)")
    gradient_checkpointing: bool = Field(
        False, description="recompute activations in the backward pass (less memory, slower)"
    )

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class AdapterData(BaseModel):
    """Where an adapter's examples come from (what ``adapters train`` reads)."""

    model_config = ConfigDict(extra="forbid")

    adapter_type: AdapterType = Field(
        description="task: English NLI; language: raw text; xlora: cross-lingual NLI pairs"
    )
    polarity: Literal["positive", "negative"] | None = Field(
        None,
        description="task/xlora: entailment (positive) or contradiction (negative)",
        validate_default=True,
    )
    snli: list[Path] = Field(
        default_factory=list, description="task: e-SNLI folders (s1/s2/labels.<split>)"
    )
    snli_splits: list[str] = Field(
        default_factory=lambda: ["dev", "test"], description="task: SNLI splits to read"
    )
    xnli: list[Path] = Field(
        default_factory=list, description="task: XNLI TSV files/folders with *_en columns"
    )
    pairs: Path | None = Field(None, description="xlora: folder with *_pos.csv/*_neg.csv, or a CSV")
    triplets: Path | None = Field(
        None,
        description="task/xlora: a triplet file (anchor, positive, negative): anchor → the "
        "positive (positive polarity) or the negative",
    )
    text: Path | None = Field(
        None, description="language: one sentence per line, or a table with a text column"
    )
    lang: str | None = Field(None, description="language of the data (task: eng)")
    limit: int | None = Field(None, ge=1, description="use a seeded sample of N examples")

    @field_validator("lang")
    @classmethod
    def _known_lang(cls, lang: str | None) -> str | None:
        """Any spelling (``HAU``, ``ha-NG``, ``hau_Latn``) → the ISO 639-3 code."""
        from tripletforge.data.languages import canonical_code

        return canonical_code(lang) if lang else lang

    @field_validator("polarity")
    @classmethod
    def _polarity_for_pairs(cls, polarity: str | None, info: ValidationInfo) -> str | None:
        if polarity is None and info.data.get("adapter_type") in SUPERVISED_TYPES:
            raise ValueError("required for task and xlora adapters: positive or negative")
        return polarity

    @model_validator(mode="after")
    def _has_data(self) -> AdapterData:
        if self.adapter_type == "task" and not (self.snli or self.xnli or self.triplets):
            raise ValueError(
                "task adapters train on English NLI: give snli and/or xnli data, or triplets"
            )
        if self.adapter_type == "xlora" and self.pairs is None and self.triplets is None:
            raise ValueError(
                "xlora adapters train on XL-LoRA pairs: give pairs (CSV or folder) or triplets"
            )
        if self.adapter_type == "language" and self.text is None:
            raise ValueError("language adapters train on raw text: give text (one per line)")
        return self
