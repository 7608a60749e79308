"""Merge sentence-transformers folders into one standard folder, after checking they match."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tripletforge.data.jsonl import strict_dumps
from tripletforge.merge import methods
from tripletforge.models.registry import resolve_model_path


class IncompatibleModelsError(ValueError):
    """The models differ in architecture, pooling or tokenizer and cannot be merged."""


def _module_signature(path: Path) -> dict[str, Any]:
    """Module types, each non-transformer module's config, and the tokenizer's hash."""
    modules = json.loads((path / "modules.json").read_text())
    signature: dict[str, Any] = {"modules": [m["type"].rsplit(".", 1)[-1] for m in modules]}
    for module in modules:
        folder = path / module["path"]
        if module["path"] and (folder / "config.json").exists():
            signature[f"config:{module['path']}"] = json.loads((folder / "config.json").read_text())
    tokenizer = next((p for p in (path / "tokenizer.json",) if p.exists()), None)
    if tokenizer is None:
        tokenizer = next(path.glob("*/tokenizer.json"), None)
    signature["tokenizer"] = _tokenizer_hash(tokenizer) if tokenizer else None
    return signature


def _tokenizer_hash(path: Path) -> str:
    """Hash of a tokenizer.json without its runtime truncation/padding settings.

    Encoding with a max length (as training does) stores those settings in the saved file;
    they do not change the vocabulary, so a fine-tuned model still merges with its base.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k not in ("truncation", "padding")}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def check_compatible(paths: Sequence[str]) -> None:
    """Raise :class:`IncompatibleModelsError` naming what differs between the model folders."""
    reference_path = Path(paths[0])
    reference = _module_signature(reference_path)
    for other_path in paths[1:]:
        other = _module_signature(Path(other_path))
        for key in sorted(set(reference) | set(other)):
            if reference.get(key) != other.get(key):
                what = "tokenizer" if key == "tokenizer" else key
                raise IncompatibleModelsError(
                    f"cannot merge {other_path} into {reference_path}: their {what} differ "
                    f"({reference.get(key)!r} vs {other.get(key)!r}). Merge only models "
                    "fine-tuned from the same base with the same pooling and tokenizer."
                )


def local_model_folder(name: str) -> str:
    """A sentence-transformers folder for ``name``: a built-in name (built on first use), a
    local folder, or a Hugging Face hub id (downloaded, or taken from the cache offline).

    Raises:
        FileNotFoundError: no such model, naming what ``name`` may be.
        ValueError: a folder that is not a sentence-transformers model (no ``modules.json``).
    """
    from tripletforge.models.registry import BUILTIN_MODELS

    path = resolve_model_path(name)
    if Path(path).is_dir():
        if not (Path(path) / "modules.json").is_file():
            raise ValueError(
                f"model {name!r}: {path} is not a sentence-transformers folder (no modules.json); "
                "give a folder written by `tripletforge train` or SentenceTransformer.save()"
            )
        return path
    try:
        from huggingface_hub import snapshot_download

        return snapshot_download(path)
    except Exception as exc:  # offline, unknown id, no access: one message either way
        raise FileNotFoundError(
            f"model {name!r}: not a built-in name ({', '.join(sorted(BUILTIN_MODELS))}), not a "
            f"local folder, and not a Hugging Face hub id that could be fetched "
            f"({type(exc).__name__}); check the name or path"
        ) from None


def _load(path: str):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(path, device="cpu")


def _check_parameters(states: Sequence[methods.StateDict], paths: Sequence[str]) -> None:
    reference = {k: tuple(v.shape) for k, v in states[0].items()}
    for state, path in zip(states[1:], paths[1:], strict=True):
        shapes = {k: tuple(v.shape) for k, v in state.items()}
        if shapes != reference:
            diff = sorted(set(shapes.items()) ^ set(reference.items()))[:3]
            raise IncompatibleModelsError(
                f"cannot merge {path}: parameter names or shapes differ from {paths[0]} "
                f"(e.g. {diff})"
            )


def merge_models(
    method: str,
    models: Sequence[str],
    out: str | Path,
    *,
    base: str | None = None,
    alpha: float = 0.5,
    weights: Sequence[float] | None = None,
    density: float = 0.2,
    scale: float = 1.0,
    provenance: dict[str, Any] | None = None,
) -> Path:
    """Merge ``models`` (built-in names, folders or hub ids) with ``method``; save to ``out``.

    - ``linear``: ``(1 − alpha)·base + alpha·models[0]`` (WiSE-FT);
    - ``average``: weighted mean of ``models`` (a soup; ``weights`` default uniform);
    - ``slerp``: spherical interpolation from ``models[0]`` to ``models[1]`` at ``alpha``;
    - ``task_arithmetic`` / ``ties``: ``base`` plus the (trimmed, sign-elected) differences.
    """
    if method not in methods.MERGE_METHODS:
        raise ValueError(f"unknown merge method {method!r}; choose from {methods.MERGE_METHODS}")
    needs_base = method in ("linear", "task_arithmetic", "ties")
    if needs_base and base is None:
        raise ValueError(f"merge method {method!r} needs a base model (--base)")
    if method == "linear" and len(models) != 1:
        raise ValueError("linear merging takes exactly one fine-tuned model besides the base")
    if method == "slerp" and len(models) != 2:
        raise ValueError("slerp merges exactly two models")
    paths = [local_model_folder(m) for m in ([base] if needs_base else []) + list(models)]
    check_compatible(paths)
    loaded = [_load(p) for p in paths]
    states = [m.state_dict() for m in loaded]
    _check_parameters(states, paths)

    if method == "linear":
        merged = methods.linear(states[0], states[1], alpha)
    elif method == "average":
        merged = methods.weighted_average(states, weights)
    elif method == "slerp":
        merged = methods.slerp(states[0], states[1], alpha)
    elif method == "task_arithmetic":
        merged = methods.task_arithmetic(states[0], states[1:], weights, scale)
    else:
        merged = methods.ties(states[0], states[1:], density, scale)

    target = loaded[0]
    target.load_state_dict(merged)
    record = merge_record(
        method, base, models, alpha=alpha, weights=weights, density=density, scale=scale,
        provenance=provenance,
    )  # fmt: skip
    return save_merged(target, out, record)


def merge_record(
    method: str,
    base: str | None,
    models: Sequence[str],
    *,
    alpha: float = 0.5,
    weights: Sequence[float] | None = None,
    density: float = 0.2,
    scale: float = 1.0,
    provenance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What ``tripletforge_merge.json`` records about a merge."""
    return {
        "method": method,
        "base": base,
        "models": list(models),
        "alpha": alpha,
        "weights": list(weights) if weights is not None else None,
        "density": density,
        "scale": scale,
        **(provenance or {}),
    }


def save_merged(model: Any, out: str | Path, record: dict[str, Any]) -> Path:
    """Save a merged model with its ``tripletforge_merge.json`` record and its card."""
    out = Path(out)
    model.save(str(out))
    (out / "tripletforge_merge.json").write_text(strict_dumps(record, indent=2) + "\n")
    _write_merge_card(out, record)
    return out


def _write_merge_card(out: Path, record: dict[str, Any]) -> Path:
    """The merged model's card: its parts, method and the fine-tuned model's data provenance."""
    from tripletforge.cards import ModelCardInfo, command_line, read_model_card, write_model_card

    parts = [read_model_card(local_model_folder(m))[0] for m in record["models"]]
    known = [p for p in parts if p is not None]
    languages = sorted({lang for p in known for lang in p.languages})
    training: dict[str, Any] = {}
    for name, part in zip(record["models"], parts, strict=True):
        if part is not None and part.training_data:
            training[f"from {Path(name).name}"] = part.training_data.get("by_strategy") or {
                "triplets": part.training_data.get("triplets")
            }
    details = {
        k: record[k] for k in ("method", "base", "models", "alpha", "weights") if k in record
    }
    info = ModelCardInfo(
        model_name=out.resolve().name,
        origin="merged",
        base_model=record["base"] or record["models"][0],
        languages=languages,
        command=command_line(),
        training_data=training,
        details=details,
    )
    return write_model_card(out, info)
