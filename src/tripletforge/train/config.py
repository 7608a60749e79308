"""Settings of the train and mine stages: one pydantic class each, YAML-friendly.

:class:`TrainSettings` holds how an encoder is trained (objective, model handling,
optimisation, checkpoints); it is the pipeline's ``train:`` section, and ``tripletforge
train`` derives its options from it. :class:`TrainConfig` adds one run's model, files, dev
and leakage sets. :class:`MineConfig` is hard-negative mining, for the pipeline's ``mine:``
section, ``tripletforge mine`` and :func:`tripletforge.train.mine.mine_negatives` alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Pooling = Literal["model", "mean", "cls", "avg_first_last"]
Loss = Literal["mnrl", "cached_mnrl", "gist", "cached_gist"]
Mixing = Literal["proportional", "round_robin", "weighted"]
PromptPolicy = Literal["none", "query", "auto"]
ColumnRole = Literal["query", "document", "symmetric"]


class TrainSet(BaseModel):
    """One named training dataset of a mixture (see :mod:`tripletforge.train.mixture`).

    Its rows come from ``files`` (any triplet/pair table, or an XL-LoRA folder); ``columns``
    are the text columns trained on, in order (MultipleNegativesRankingLoss: anchor, positive,
    then any hard negatives). Each column's prompt is ``prompts[column]`` when given, else
    that of its role (``roles[column]``, else the role of the same position in ``task``'s
    shape: retrieval = query, document, document; nli/paraphrase = symmetric) under the
    encoder's prompt policy (``query: `` / ``passage: `` / none for e5). ``weight`` is the
    set's share of batches under ``mixing: weighted``; batches never mix sets. A set with a
    ``score_column`` is a scored set: two text columns and a gold similarity, trained with
    CoSENT (sentence-transformers' ``CoSENTLoss``) while the other sets keep MNRL.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="the set's name")
    files: list[Path] = Field(min_length=1, description="files the rows are read from")
    columns: list[str] = Field(
        default_factory=lambda: ["anchor", "positive", "negative"],
        min_length=2,
        description="text columns trained on, in order: anchor, positive, [negatives...]",
    )
    task: str | None = Field(
        None,
        description="task whose row shape gives the default roles (nli, retrieval, paraphrase); "
        "default: the rows' task column (nli when absent)",
    )
    roles: dict[str, ColumnRole] = Field(
        default_factory=dict, description="column → query | document | symmetric"
    )
    prompts: dict[str, str] = Field(
        default_factory=dict, description="column → literal prompt text (beats roles)"
    )
    weight: float = Field(1.0, gt=0, description="share of batches under mixing: weighted")
    limit: int | None = Field(None, ge=1, description="use only the first N rows")
    score_column: str | None = Field(
        None,
        description="a scored set: the column of each pair's gold similarity; the set's two "
        "text columns then train with CoSENT (Su 2022) on it instead of MNRL, in batches of "
        "their own (rows without a finite number there are skipped and counted)",
    )

    @model_validator(mode="after")
    def _scored_pairs(self) -> TrainSet:
        if self.score_column is not None and len(self.columns) != 2:
            raise ValueError(
                f"training set {self.name!r}: a scored set (score_column) has exactly two text "
                f"columns, got {self.columns}"
            )
        if self.score_column is not None and self.score_column in self.columns:
            raise ValueError(f"score_column {self.score_column!r} is also a text column")
        return self


class TrainSettings(BaseModel):
    """Supervised SimCSE on (anchor, positive, negative) triplets: how to train."""

    model_config = ConfigDict(extra="forbid")

    # objective
    loss: Loss = Field("mnrl", description="mnrl | cached_mnrl | gist | cached_gist")
    scale: float = Field(20.0, gt=0, description="similarity scale = 1 / temperature (20 ≙ 0.05)")
    mini_batch_size: int = Field(32, ge=1, description="cached losses: chunk size of the forward")
    guide: str | None = Field(
        None, description="GIST guide model (default: a frozen copy of the model)"
    )
    # model
    pooling: Pooling = Field("model", description="'model' keeps the model's own pooling")
    freeze_embeddings: bool = Field(True, description="freeze the word-embedding matrix")
    max_seq_length: int = Field(64, ge=8, description="max tokens per text while training")
    save_max_seq_length: int | None = Field(
        None, ge=8, description="max tokens saved with the model (default: the base model's)"
    )
    prompt: str | None = Field(
        None,
        description="prefix for all training texts; unset: the prompt policy's symmetric prompt",
    )
    prompt_policy: PromptPolicy = Field(
        "none",
        description="prompt of symmetric training text (NLI, paraphrase, parallel): none = the "
        "evaluation's symmetric prompt (mteb's STS prompt; nothing for e5), query = the "
        "encoder's query prompt ('query: ' for e5), auto = a short trial of both, scored on dev "
        "data, keeps the better (recorded with both dev scores)",
    )
    prompt_trial_steps: int = Field(
        20, ge=1, description="prompt_policy auto: training steps of each trial"
    )
    # optimisation
    batch_size: int = Field(32, ge=2, description="triplets per batch (per process under DDP)")
    epochs: float = Field(1.0, gt=0, description="training epochs")
    max_steps: int = Field(-1, description="stop after this many steps (-1: epochs decide)")
    learning_rate: float = Field(5e-5, gt=0, description="peak learning rate")
    warmup_ratio: float = Field(0.1, ge=0, le=1, description="share of steps spent warming up")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay")
    no_duplicates: bool = Field(True, description="no-duplicates batch sampler")
    mixing: Mixing = Field(
        "proportional",
        description="several training sets: batches drawn in proportion to set sizes, "
        "round-robin, or by set weight; a batch never mixes sets",
    )
    # checkpoints, hardware
    save_steps: int = Field(100, ge=1, description="checkpoint every N steps (resume granularity)")
    logging_steps: int = Field(10, ge=1, description="log the loss every N steps")
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="auto: CUDA when available (NCCL for DDP), else CPU (gloo)"
    )
    gather_across_devices: bool | None = Field(
        None, description="DDP: in-batch negatives from all processes (default: on when >1)"
    )
    threads: int | None = Field(None, ge=1, description="torch CPU threads (default: torch's)")

    @model_validator(mode="after")
    def _one_prompt_choice(self) -> TrainSettings:
        if self.prompt is not None and self.prompt_policy != "none":
            raise ValueError(
                f"prompt {self.prompt!r} and prompt_policy {self.prompt_policy!r} both choose the "
                "training prompt; keep one of them"
            )
        return self


class TrainConfig(TrainSettings):
    """One training run: :class:`TrainSettings` plus the model, files, dev and leakage sets."""

    model: str = Field("e5-small", description="built-in name, local folder or hub id")
    train_files: list[Path] = Field(
        default_factory=list,
        description="triplet files (JSONL/Parquet/CSV/TSV or an XL-LoRA folder); rows of "
        "several tasks (their task column) become one training set per task",
    )
    train_sets: list[TrainSet] = Field(
        default_factory=list,
        description="named training sets with their own columns, prompts and weights "
        "(instead of train_files)",
    )
    output_dir: Path = Field(description="output model folder")
    seed: int = Field(0, description="random seed (data order, initialisation of new layers)")
    resume: bool = Field(True, description="resume from the latest checkpoint in output_dir")
    # evaluation, checkpoints
    dev_set: str | Path | None = Field(
        None, description="STS pairs (PATH or FORMAT:PATH) for evaluation"
    )
    dev_sets: dict[str, str | Path] = Field(
        default_factory=dict,
        description="named dev STS sets, e.g. one per language ({hau: semrel:PATH}); each is "
        "evaluated and logged, and their mean selects the best checkpoint",
    )
    dev_max_pairs: int = Field(1000, ge=1, description="dev pairs used")
    eval_steps: int = Field(
        100, ge=1, description="evaluate on the dev sets every N steps (a divisor of save_steps)"
    )
    save_total_limit: int | None = Field(
        None, ge=1, description="checkpoints kept (default: 2, or all with keep_checkpoints)"
    )
    keep_checkpoints: bool = Field(False, description="keep checkpoints (for merge soups)")
    # leakage
    leak_check: list[str | Path] = Field(
        default_factory=list, description="eval sets (PATH or FORMAT:PATH)"
    )
    keep_leaks: bool = Field(False, description="only report overlaps with eval sets, keep them")

    @model_validator(mode="after")
    def _one_source(self) -> TrainConfig:
        if bool(self.train_files) == bool(self.train_sets):
            raise ValueError(
                "give training data either as train_files or as train_sets (named sets), "
                "exactly one of them"
            )
        names = [s.name for s in self.train_sets]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"train_sets: the names {twice} appear twice; name each set once")
        return self

    @property
    def checkpoint_dir(self) -> Path:
        return self.output_dir / "checkpoints"


class MineConfig(BaseModel):
    """Hard-negative mining (``sentence_transformers.util.mine_hard_negatives`` settings)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str | None = Field(
        None, description="mining encoder (default: the run's encoder, else e5-small)"
    )
    range_min: int = Field(10, ge=0, description="skip the N most similar candidates")
    range_max: int = Field(50, ge=1, description="consider the top N candidates")
    relative_margin: float | None = Field(
        0.05, description="keep a negative only if its score ≤ positive·(1 − margin)"
    )
    absolute_margin: float | None = Field(
        None, description="keep a negative only if its score ≤ positive − margin"
    )
    max_score: float | None = Field(None, description="largest similarity a negative may have")
    num_negatives: int = Field(1, ge=1, description="negatives per pair")
    sampling_strategy: Literal["top", "random"] = Field(
        "top", description="take the top candidates in the window, or sample them"
    )
    chunk_size: int = Field(4096, ge=1, description="queries per chunk (bounds memory)")
    similarity_budget_bytes: int = Field(
        256 << 20, ge=1, description="memory for one similarity block (bytes)"
    )
    batch_size: int = Field(64, ge=1, description="encoding batch size")
    cache_folder: str | None = Field(None, description="embedding cache (default: temporary)")
