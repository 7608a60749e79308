"""Where tripletforge keeps its caches (rebuilt models, embedding caches)."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir


def cache_dir() -> Path:
    """Root cache directory: ``$TRIPLETFORGE_HOME`` or the user cache dir."""
    root = os.environ.get("TRIPLETFORGE_HOME") or user_cache_dir("tripletforge")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir() -> Path:
    """Directory of built-in models rebuilt from PyPI packages."""
    path = cache_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def embeddings_cache_dir() -> Path:
    """Directory of the on-disk embedding cache used by evaluation."""
    path = cache_dir() / "embeddings"
    path.mkdir(parents=True, exist_ok=True)
    return path
