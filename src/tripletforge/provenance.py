"""Provenance shared by every stage's artifacts: the versions of the libraries involved."""

from __future__ import annotations

import platform
from importlib import metadata

#: Libraries whose versions shape generated data, trained models and scores.
LIBRARIES = (
    "tripletforge",
    "torch",
    "transformers",
    "sentence-transformers",
    "peft",
    "trl",
    "datasets",
    "numpy",
    "mteb",
)


def library_versions() -> dict[str, str]:
    """Python's version and each of :data:`LIBRARIES`' installed versions."""
    out = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
