"""Train stage: supervised SimCSE on triplets, pooling choices, hard-negative mining."""

from tripletforge.train.config import TrainConfig
from tripletforge.train.trainer import PROVENANCE_FILE, train_encoder

__all__ = ["PROVENANCE_FILE", "TrainConfig", "train_encoder"]
