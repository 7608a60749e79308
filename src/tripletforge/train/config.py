"""Configuration of the train stage (one pydantic model, YAML-friendly)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Pooling = Literal["model", "mean", "cls", "avg_first_last"]
Loss = Literal["mnrl", "cached_mnrl", "gist", "cached_gist"]


class TrainConfig(BaseModel):
    """Supervised SimCSE on (anchor, positive, negative) triplets."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field("e5-small", description="built-in name, local folder or hub id")
    train_files: list[Path] = Field(min_length=1, description="triplet files (JSONL/Parquet/CSV)")
    output_dir: Path
    # objective
    loss: Loss = "mnrl"
    scale: float = Field(20.0, gt=0, description="similarity scale = 1 / temperature (20 ≙ 0.05)")
    mini_batch_size: int = Field(32, ge=1, description="cached losses: chunk size of the forward")
    guide: str | None = Field(
        None, description="GIST guide model (default: a frozen copy of model)"
    )
    # model
    pooling: Pooling = Field("model", description="'model' keeps the model's own pooling")
    freeze_embeddings: bool = Field(True, description="freeze the word-embedding matrix")
    max_seq_length: int = Field(64, ge=8, description="max tokens per text while training")
    save_max_seq_length: int | None = Field(
        None, ge=8, description="max tokens saved with the model (None: the base model's)"
    )
    prompt: str | None = Field(
        None,
        description="prefix for all training texts; None = the prompt policy's symmetric prompt",
    )
    # optimisation
    batch_size: int = Field(32, ge=2)
    epochs: float = Field(1.0, gt=0)
    max_steps: int = Field(-1, description="stop after this many steps (-1: epochs decide)")
    learning_rate: float = Field(5e-5, gt=0)
    warmup_ratio: float = Field(0.1, ge=0, le=1)
    weight_decay: float = Field(0.0, ge=0)
    no_duplicates: bool = Field(True, description="no-duplicates batch sampler")
    seed: int = 42
    # multi-process (torchrun / accelerate launch): batch_size is per process
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="auto: CUDA when available (NCCL for DDP), else CPU (gloo)"
    )
    gather_across_devices: bool | None = Field(
        None,
        description="in-batch negatives from all processes (None: on when world size > 1)",
    )
    # evaluation, checkpoints
    dev_set: str | Path | None = Field(
        None, description="STS pairs (PATH or FORMAT:PATH) for evaluation"
    )
    dev_sets: dict[str, str | Path] = Field(
        default_factory=dict,
        description="named dev STS sets, e.g. one per language ({hau: semrel:PATH}); each is "
        "evaluated and logged, and their mean selects the best checkpoint",
    )
    dev_max_pairs: int = Field(1000, ge=1)
    eval_steps: int = Field(100, ge=1)
    save_steps: int = Field(100, ge=1)
    save_total_limit: int | None = Field(
        None, ge=1, description="checkpoints kept (default: 2, or all with keep_checkpoints)"
    )
    logging_steps: int = Field(10, ge=1)
    resume: bool = Field(True, description="resume from the latest checkpoint in output_dir")
    keep_checkpoints: bool = False
    # leakage
    leak_check: list[str | Path] = Field(
        default_factory=list, description="eval sets (PATH or FORMAT:PATH)"
    )
    keep_leaks: bool = Field(False, description="only report overlaps, do not remove them")

    @property
    def checkpoint_dir(self) -> Path:
        return self.output_dir / "checkpoints"
