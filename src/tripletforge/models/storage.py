"""Lean storage of fine-tuned model folders: weights left equal to the base are stored once.

Fine-tuning with frozen word embeddings (``freeze_embeddings``, the default of
:class:`~tripletforge.train.config.TrainSettings`) leaves most of a multilingual encoder's
bytes identical to the base model (e5-small's 250k × 384 embedding matrix is 385 of its
470 MB), and a WiSE-FT merge of two such models keeps them identical too.
:func:`share_base_weights` rewrites a saved folder as a standard sharded safetensors checkpoint
(``model.safetensors.index.json``, which transformers and sentence-transformers load as usual):
one shard with the tensors that changed, one with the tensors equal to the base. The second
shard is content-addressed in a store folder (the pipeline's is ``RUN_DIR/.shared-weights``)
and hard-linked into every model folder that has the same unchanged tensors, so a run with
eight trained and merged models holds the embedding matrix once on disk. Copying a folder
(``cp -r``, ``rsync``) copies the shard's bytes, so every folder stays self-contained; where
hard links are not possible the shard is copied.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

WEIGHTS = "model.safetensors"
INDEX = "model.safetensors.index.json"
#: Below this share of unchanged bytes the folder is left as one file.
MIN_SHARED_FRACTION = 0.25


def _tensor_digest(tensor: Any) -> bytes:
    flat = tensor.detach().contiguous().view(-1)
    import torch

    return hashlib.sha256(flat.view(torch.uint8).numpy().tobytes()).digest()


def _base_files(base: Path) -> dict[str, Path]:
    """Tensor name → the safetensors file of ``base`` holding it (single file or sharded)."""
    from safetensors import safe_open

    if (base / WEIGHTS).is_file():
        with safe_open(str(base / WEIGHTS), framework="pt") as handle:
            return dict.fromkeys(handle.keys(), base / WEIGHTS)
    index = base / INDEX
    if not index.is_file():
        return {}
    return {k: base / v for k, v in json.loads(index.read_text())["weight_map"].items()}


def _link_or_copy(source: Path, target: Path) -> None:
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:  # another file system, or no hard links: a copy is still correct
        import shutil

        shutil.copyfile(source, target)


def share_base_weights(
    folder: str | Path,
    base: str | Path,
    store: str | Path,
    min_shared_fraction: float = MIN_SHARED_FRACTION,
) -> dict[str, Any]:
    """Store the tensors of ``folder`` that equal ``base``'s once, in ``store``; see module doc.

    ``folder`` is a saved model folder whose transformer weights are one ``model.safetensors``
    at its root (sentence-transformers' layout for transformer models); ``base`` the model it
    was fine-tuned from. Tensors are compared bit for bit; when the unchanged ones are less
    than ``min_shared_fraction`` of the bytes, the folder is left as it is. Returns what was done:
    ``{"shared_bytes", "own_bytes", "shard"}`` (``shard`` None when nothing was shared).
    Loading the folder gives exactly the same tensors as before.
    """
    import torch
    from safetensors.torch import save_file

    folder, base, store = Path(folder), Path(base), Path(store)
    weights = folder / WEIGHTS
    if not weights.is_file():
        return {"shared_bytes": 0, "own_bytes": 0, "shard": None}
    from safetensors import safe_open

    where = _base_files(base)
    with safe_open(str(weights), framework="pt") as handle:
        metadata = dict(handle.metadata() or {"format": "pt"})
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118
    shared: dict[str, Any] = {}
    for name, tensor in tensors.items():  # one base tensor in memory at a time
        if name not in where:
            continue
        with safe_open(str(where[name]), framework="pt") as handle:
            other = handle.get_tensor(name)
        if (
            other.dtype == tensor.dtype
            and other.shape == tensor.shape
            and torch.equal(other, tensor)
        ):
            shared[name] = tensor
    size = {k: v.numel() * v.element_size() for k, v in tensors.items()}
    shared_bytes = sum(size[k] for k in shared)
    total = sum(size.values())
    if not shared or len(shared) == len(tensors) or shared_bytes < min_shared_fraction * total:
        return {"shared_bytes": 0, "own_bytes": total, "shard": None}
    digest = hashlib.sha256()
    for name in sorted(shared):
        t = shared[name]
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}\n".encode())
        digest.update(_tensor_digest(t))
    store.mkdir(parents=True, exist_ok=True)
    stored = store / f"{digest.hexdigest()[:32]}.safetensors"
    if not stored.is_file():
        tmp = stored.with_name(f".{stored.name}.{os.getpid()}.tmp")
        save_file(shared, str(tmp), metadata=metadata)
        tmp.replace(stored)
    own_name, shared_name = "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"
    own = {k: v for k, v in tensors.items() if k not in shared}
    save_file(own, str(folder / own_name), metadata=metadata)
    _link_or_copy(stored, folder / shared_name)
    index = {
        "metadata": {"total_size": total},
        "weight_map": {k: own_name if k in own else shared_name for k in sorted(tensors)},
    }
    (folder / INDEX).write_text(json.dumps(index, indent=2) + "\n")
    weights.unlink()
    return {"shared_bytes": shared_bytes, "own_bytes": total - shared_bytes, "shard": str(stored)}
