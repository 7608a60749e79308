"""Generator files for the generation backends: GGUF paths and model provenance (hashes).

The built-in offline generators (``smollm2-135m``, ``gemma3-270m``) are defined once, in
:mod:`tripletforge.models.generators`; this module resolves their GGUF files for llama.cpp and
hashes whatever model file a backend loads. Any other name is passed through as a path or hub id.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tripletforge.data.jsonl import strict_dumps
from tripletforge.data.schemas import sha256_file
from tripletforge.models.generators import GGUF_GENERATORS, generator_gguf_path
from tripletforge.paths import cache_dir


def resolve_gguf(name: str) -> str:
    """A built-in generator's GGUF file, or ``name`` unchanged (path or hub id)."""
    if name in GGUF_GENERATORS:
        return str(generator_gguf_path(name))
    return name


def model_sha256(path: str) -> str | None:
    """SHA-256 of a model file, or of a model folder's ``config.json``; cached by size+mtime."""
    p = Path(path)
    target = p if p.is_file() else p / "config.json"
    if not target.is_file():
        return None
    stat = target.stat()
    key = hashlib.sha256(
        f"{target.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()
    ).hexdigest()
    cache = cache_dir() / "hashes.json"
    try:
        known = json.loads(cache.read_text()) if cache.exists() else {}
    except (OSError, ValueError):
        known = {}
    if key not in known:
        known[key] = sha256_file(target)
        tmp = cache.with_suffix(f".{hashlib.sha256(key.encode()).hexdigest()[:8]}.tmp")
        tmp.write_text(strict_dumps(known))
        tmp.replace(cache)
    return known[key]
