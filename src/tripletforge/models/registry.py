"""Built-in offline models and the one function that turns a model name into an encoder.

Anywhere tripletforge takes an encoder, it accepts a built-in name (``e5-small``), a local
sentence-transformers folder, or a Hugging Face hub id (online users).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tripletforge.paths import models_dir

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


#: File inside a built model folder that records which build recipe wrote it (hidden, so
#: model fingerprints ignore it).
BUILD_STAMP = ".tripletforge-build.json"


@dataclass(frozen=True)
class BuiltinModel:
    """A model rebuilt locally from a PyPI package the first time it is used.

    ``build_version`` is the version of the build recipe: a cached folder stamped with another
    version is rebuilt on next use (a folder without a stamp predates stamps and counts as
    version 1). Bump it whenever the recipe changes what the folder holds (weights,
    tokenizer, prompts).
    """

    name: str
    role: str  # "encoder" | "generator"
    description: str
    source: str  # where the weights come from
    build: Callable[[Path], Path]  # writes the model folder (or file) and returns its path
    build_version: int = 1
    hub_id: str | None = None  # the Hugging Face model it reproduces (model-card base_model)
    license: str | None = None  # licence of the weights (model-card licence of derived models)

    @property
    def path(self) -> Path:
        return models_dir() / self.name

    def built_version(self) -> int | None:
        """The recipe version stamped in the cached folder (None = not built)."""
        if not self.path.is_dir():
            return None
        try:
            return int(json.loads((self.path / BUILD_STAMP).read_text())["build_version"])
        except FileNotFoundError:
            return 1  # built before stamps existed
        except (OSError, ValueError, KeyError, TypeError):
            return 0  # unreadable stamp: rebuild

    def is_built(self) -> bool:
        """Whether the cache holds a build of the current recipe."""
        return self.built_version() == self.build_version

    def ensure(self) -> Path:
        """Build the model into the cache if needed and return its path.

        The build goes to a private temporary folder that is renamed into place, so a crash
        leaves no half-built model and concurrent first uses cannot clash. An outdated build
        is replaced the same way: the new folder is complete before the old one is renamed
        aside (each rename is atomic) and deleted.
        """
        if self.is_built():
            return self.path
        staging = self.path.with_name(f".{self.name}.building-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        self.build(staging)
        stamp = {"build_version": self.build_version, "source": self.source}
        (staging / BUILD_STAMP).write_text(json.dumps(stamp) + "\n")
        if self.path.is_dir() and not self.is_built():  # outdated: swap it out
            old = self.path.with_name(f".{self.name}.old-{os.getpid()}")
            try:
                self.path.rename(old)
            except OSError:  # another process swapped it already
                pass
            else:
                shutil.rmtree(old, ignore_errors=True)
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
    """Turn a built-in name into its cached path (building it on first use); else pass through.

    Raises ``FileNotFoundError`` for a name that can only be a local path (absolute, relative
    with ``./``/``../``/``~``, or with more than one ``/``, which no hub id has) and does not
    exist, instead of letting the hub client reject it as an id.
    """
    if name in BUILTIN_MODELS:
        return str(BUILTIN_MODELS[name].ensure())
    looks_local = name.startswith(("/", "./", "../", "~")) or name.count("/") > 1
    if looks_local and not Path(name).expanduser().exists():
        raise FileNotFoundError(
            f"model {name!r}: no such folder; give a built-in name "
            f"({', '.join(sorted(BUILTIN_MODELS))}), a local sentence-transformers folder, "
            "or a Hugging Face hub id (org/name)"
        )
    return str(Path(name).expanduser()) if name.startswith("~") else name


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
    types = [str(m.get("type", "")) for m in json.loads(modules_file.read_text())]
    own = [t for t in types if t.startswith(OWN_MODULE_PREFIX)]
    return bool(own) and all(
        t.startswith(("sentence_transformers.", OWN_MODULE_PREFIX)) for t in types
    )


def load_encoder(name: str = DEFAULT_ENCODER, device: str | None = None) -> SentenceTransformer:
    """Load an encoder by built-in name, local path or hub id as a ``SentenceTransformer``.

    E5-style models carry ``query: ``/``passage: `` prompts in their saved config (no default
    prompt); callers never add prefixes themselves but ask
    :func:`tripletforge.models.prompts.encode_prompt` which one applies. Folders built from
    tripletforge's own modules (:func:`uses_own_modules`) load with ``trust_remote_code=True``.
    """
    from sentence_transformers import SentenceTransformer

    path = resolve_model_path(name)
    trust = uses_own_modules(path)
    return SentenceTransformer(path, device=device or "cpu", trust_remote_code=trust)
