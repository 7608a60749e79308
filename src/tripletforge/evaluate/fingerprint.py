"""Model fingerprints: a stable id of an encoder's weights and config, used to key the cache.

* a local folder: SHA-256 over the relative path and bytes of every file in it (hidden files and
  READMEs excepted); file digests are memoised by (path, size, mtime) so re-runs are instant;
* a hub id: the id plus the resolved snapshot revision (commit) when known offline;
* an in-memory ``SentenceTransformer``: its source folder when known, else a hash of its
  parameters; the prompts and ``max_seq_length`` are always mixed in.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tripletforge.data.jsonl import strict_dumps
from tripletforge.data.schemas import sha256_file
from tripletforge.paths import embeddings_cache_dir

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

_SKIP = {"README.md", ".complete"}


def _memo_path() -> Path:
    return embeddings_cache_dir() / "file-digests.json"


def folder_fingerprint(folder: str | Path) -> str:
    """SHA-256 over every (relative path, file digest) under ``folder``."""
    root = Path(folder)
    memo_file = _memo_path()
    try:
        memo: dict[str, Any] = json.loads(memo_file.read_text())
    except (OSError, ValueError):
        memo = {}
    digest = hashlib.sha256()
    changed = False
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if path.name in _SKIP or any(part.startswith(".") for part in Path(rel).parts):
            continue
        stat = path.stat()
        key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
        if key not in memo:
            stale = [k for k in memo if k.rsplit("|", 2)[0] == str(path.resolve())]
            for old in stale:  # keep one entry per file
                del memo[old]
            memo[key] = sha256_file(path)
            changed = True
        digest.update(f"{rel}\0{memo[key]}\n".encode())
    if changed:
        tmp = memo_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(strict_dumps(memo))
        tmp.replace(memo_file)
    return digest.hexdigest()


def hub_fingerprint(model_id: str, revision: str | None = None) -> str:
    """Hash of a hub id and its revision (the cached snapshot's commit when available)."""
    if revision is None:
        try:
            from huggingface_hub import snapshot_download

            revision = Path(snapshot_download(model_id, local_files_only=True)).name
        except Exception:
            revision = "unknown"
    return hashlib.sha256(f"hub:{model_id}@{revision}".encode()).hexdigest()


def parameters_fingerprint(model: SentenceTransformer) -> str:
    """Hash of all parameter and buffer tensors (name, dtype, shape, bytes)."""
    import torch

    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        arr = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{arr.dtype}|{tuple(arr.shape)}\n".encode())
        digest.update(arr.view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def model_fingerprint(model: Any, source: str | None = None) -> str:
    """Fingerprint of an encoder loaded from ``source`` (folder or hub id), or of its weights."""
    if source is not None and Path(source).is_dir():
        base = folder_fingerprint(source)
    elif source is not None:
        base = hub_fingerprint(source)
    else:
        base = parameters_fingerprint(model)
    extra = json.dumps(
        {
            "prompts": dict(getattr(model, "prompts", {}) or {}),
            "default_prompt_name": getattr(model, "default_prompt_name", None),
            "max_seq_length": getattr(model, "max_seq_length", None),
        },
        sort_keys=True,
    )
    return hashlib.sha256(f"{base}\n{extra}".encode()).hexdigest()
