"""Train stage: supervised SimCSE on triplets, pooling choices, hard-negative mining.

The settings (:mod:`tripletforge.train.config`) import nothing heavy, so the CLI can derive its
options from them; the trainer (torch, sentence-transformers) loads on first use.
"""

from typing import Any

from tripletforge.train.config import MineConfig, TrainConfig, TrainSettings

__all__ = ["PROVENANCE_FILE", "MineConfig", "TrainConfig", "TrainSettings", "train_encoder"]


def __getattr__(name: str) -> Any:
    if name in ("PROVENANCE_FILE", "train_encoder"):
        from tripletforge.train import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
