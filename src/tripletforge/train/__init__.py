"""Train stage: supervised SimCSE on triplets, pooling choices, hard-negative mining."""

from tripletforge.train.config import MineConfig, TrainConfig, TrainSettings
from tripletforge.train.trainer import PROVENANCE_FILE, train_encoder

__all__ = ["PROVENANCE_FILE", "MineConfig", "TrainConfig", "TrainSettings", "train_encoder"]
