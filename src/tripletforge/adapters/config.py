"""Typed settings of adapter training (LoRA shape and optimisation)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

AdapterKind = Literal["task", "language", "xlora"]
ADAPTER_KINDS: tuple[AdapterKind, ...] = ("task", "language", "xlora")
#: Kinds trained on premise → hypothesis pairs with a polarity (the others: raw text).
SUPERVISED_KINDS = ("task", "xlora")


@dataclass
class LoraSettings:
    """LoRA shape: rank, alpha, dropout and target modules (peft names or ``all-linear``)."""

    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: str | list[str] = "all-linear"

    def to_peft(self) -> Any:
        from peft import LoraConfig, TaskType

        return LoraConfig(
            task_type=TaskType.CAUSAL_LM,
            r=self.r,
            lora_alpha=self.alpha,
            lora_dropout=self.dropout,
            target_modules=self.target_modules,
        )


@dataclass
class TrainSettings:
    """Optimisation: one step is ``grad_accum`` micro-batches of ``batch_size`` examples."""

    max_steps: int | None = None  # None: derived from ``epochs``
    epochs: float = 1.0
    batch_size: int = 4
    grad_accum: int = 1
    lr: float = 2e-4
    weight_decay: float = 0.0
    scheduler: str = "linear"  # any transformers.get_scheduler name
    warmup_steps: int = 0
    max_grad_norm: float = 1.0
    max_length: int = 256
    save_steps: int = 50
    keep_checkpoints: int = 1
    seed: int = 0
    device: str | None = None  # None: cuda if available, else cpu
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
