"""Loading an encoder by built-in name, local folder or hub id."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


def load_model(name: str, device: str = "cpu") -> SentenceTransformer:
    """Load a local folder directly, anything else via ``tripletforge.models.load_encoder``."""
    if Path(name).is_dir():
        from sentence_transformers import SentenceTransformer

        from tripletforge.models.registry import uses_own_modules

        trust = uses_own_modules(name)
        return SentenceTransformer(str(name), device=device, trust_remote_code=trust)
    from tripletforge.models import load_encoder

    return load_encoder(name, device=device)
