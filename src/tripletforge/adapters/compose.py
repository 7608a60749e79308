"""AdaMergeX-style adapter arithmetic: ``task_en + λ·(lang_tgt − lang_en)``, done exactly.

A LoRA adapter changes a weight by ``ΔW = s·B·A`` (``s = α/r``, or ``α/√r`` with rsLoRA).
ΔW is bilinear in (A, B), so a weighted sum of ΔWs is *not* the LoRA of weighted sums of A and B.
It is, however, exactly a LoRA of the concatenated ranks::

    A_new = [A_task; λ·A_tgt; −λ·A_en]            (rows,    r_new = r_task + r_tgt + r_en)
    B_new = [s_task·B_task, s_tgt·B_tgt, s_en·B_en]  (columns, lora_alpha = r_new → scaling 1)
    B_new·A_new = ΔW_task + λ·ΔW_tgt − λ·ΔW_en

``method="explicit"`` (default) builds this from the saved tensors alone (no base model needed;
a module missing from one adapter contributes zeros). Why not ``add_weighted_adapter``:

* ``linear`` / ``ties`` / ``dare_*`` combine the A matrices and the B matrices separately, so
  the result is ``(Σ√w_i A_i)ᵀ(Σ√w_i B_i)``, with cross terms ``B_i A_j``: not ``Σ w_i ΔW_i``
  (peft issues #1907, #3004); negative weights go through ``sqrt(|w|)`` with the sign put on
  A only, and all ranks must be equal.
* ``cat`` is exact (the same rank concatenation) but needs the base model loaded in memory.

Both are offered for comparison (``method="cat"|"linear"``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tripletforge.adapters.train import PROVENANCE_FILE, read_provenance
from tripletforge.data.jsonl import strict_dumps

if TYPE_CHECKING:
    import torch

ComposeMethod = Literal["explicit", "cat", "linear"]
COMPOSE_METHODS: tuple[ComposeMethod, ...] = ("explicit", "cat", "linear")
_WEIGHTS = "adapter_model.safetensors"
_KEY = re.compile(r"^(?P<module>.+)\.lora_(?P<which>[AB])\.weight$")


def _scaling(config: dict[str, Any], module: str) -> float:
    r = config["r"]
    alpha = config["lora_alpha"]
    for pattern, value in (config.get("rank_pattern") or {}).items():
        if re.search(rf"(^|\.){pattern}$", module):
            r = value
    for pattern, value in (config.get("alpha_pattern") or {}).items():
        if re.search(rf"(^|\.){pattern}$", module):
            alpha = value
    return alpha / math.sqrt(r) if config.get("use_rslora") else alpha / r


def lora_rank(adapter_dir: str | Path) -> int:
    """The largest LoRA rank of a PEFT adapter folder (``r`` and any ``rank_pattern`` value).

    A composed adapter's rank is the sum of its parts' ranks. Raises ``OSError`` when the
    folder has no ``adapter_config.json`` and ``ValueError`` when it is not valid JSON.
    """
    config = json.loads((Path(adapter_dir) / "adapter_config.json").read_text(encoding="utf-8"))
    ranks = [int(config.get("r") or 8), *map(int, (config.get("rank_pattern") or {}).values())]
    return max(ranks)


def load_lora(
    adapter_dir: str | Path,
) -> tuple[dict[str, Any], dict[str, tuple[torch.Tensor, torch.Tensor, float]]]:
    """Read a PEFT LoRA folder: its config and ``{module: (A, B, scaling)}``."""
    from safetensors.torch import load_file

    adapter_dir = Path(adapter_dir)
    config = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    if config.get("peft_type") != "LORA":
        raise ValueError(
            f"{adapter_dir} is not a LoRA adapter (peft_type={config.get('peft_type')})"
        )
    if config.get("use_dora") or config.get("bias", "none") != "none":
        raise ValueError(f"{adapter_dir}: DoRA and LoRA biases cannot be composed")
    tensors = load_file(str(adapter_dir / _WEIGHTS))
    parts: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        match = _KEY.match(key)
        if match is None:
            raise ValueError(
                f"{adapter_dir}: cannot compose parameter {key!r} (only lora_A/lora_B)"
            )
        parts.setdefault(match["module"], {})[match["which"]] = value
    modules = {module: (ab["A"], ab["B"], _scaling(config, module)) for module, ab in parts.items()}
    return config, modules


def compose_lora_tensors(
    adapters: Sequence[dict[str, tuple[torch.Tensor, torch.Tensor, float]]],
    weights: Sequence[float],
) -> tuple[dict[str, torch.Tensor], int]:
    """Concatenate ranks so that ``B_new·A_new = Σ w_i·s_i·B_i·A_i``; return tensors and r_new.

    Modules absent from an adapter get zero blocks, so every module has the same rank.
    """
    import torch

    ranks = [next(iter(a.values()))[0].shape[0] for a in adapters]
    r_new = sum(ranks)
    modules = sorted(set().union(*(a.keys() for a in adapters)))
    out: dict[str, torch.Tensor] = {}
    for module in modules:
        present = next(a[module] for a in adapters if module in a)
        d_in, d_out = present[0].shape[1], present[1].shape[0]
        blocks_a, blocks_b = [], []
        for adapter, weight, rank in zip(adapters, weights, ranks, strict=True):
            if module in adapter:
                a, b, scale = adapter[module]
                if a.shape[0] != rank:
                    raise ValueError(f"{module}: per-module ranks (rank_pattern) are not supported")
                blocks_a.append(a.float() * weight)
                blocks_b.append(b.float() * scale)
            else:
                blocks_a.append(torch.zeros(rank, d_in))
                blocks_b.append(torch.zeros(d_out, rank))
        out[f"{module}.lora_A.weight"] = torch.cat(blocks_a, dim=0).contiguous()
        out[f"{module}.lora_B.weight"] = torch.cat(blocks_b, dim=1).contiguous()
    return out, r_new


def _target_names(modules: Sequence[str]) -> list[str]:
    """Module paths as peft writes them in ``target_modules`` (without the peft prefix)."""
    prefix = "base_model.model."
    return sorted(m[len(prefix) :] if m.startswith(prefix) else m for m in modules)


def _compose_explicit(dirs: Sequence[Path], weights: Sequence[float], out: Path) -> dict[str, Any]:
    from peft import LoraConfig
    from safetensors.torch import save_file

    loaded = [load_lora(d) for d in dirs]
    tensors, r_new = compose_lora_tensors([m for _, m in loaded], weights)
    base = dict(loaded[0][0])
    modules = sorted({k.rsplit(".lora_", 1)[0] for k in tensors})
    config = LoraConfig(
        task_type=base.get("task_type") or "CAUSAL_LM",
        base_model_name_or_path=base.get("base_model_name_or_path"),
        r=r_new,
        lora_alpha=r_new,
        lora_dropout=base.get("lora_dropout", 0.0),
        target_modules=_target_names(modules),
        use_rslora=False,
    )
    out.mkdir(parents=True, exist_ok=True)
    config.save_pretrained(str(out))
    save_file(tensors, str(out / _WEIGHTS), metadata={"format": "pt"})
    return {"r": r_new}


def _compose_peft(
    dirs: Sequence[Path], weights: Sequence[float], out: Path, method: str, base_model: str
) -> dict[str, Any]:
    import tempfile

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base_model, dtype=torch.float32)
    names = [f"a{i}" for i in range(len(dirs))]
    peft_model = PeftModel.from_pretrained(model, str(dirs[0]), adapter_name=names[0])
    for name, path in zip(names[1:], dirs[1:], strict=True):
        peft_model.load_adapter(str(path), adapter_name=name)
    peft_model.add_weighted_adapter(names, list(weights), "composed", combination_type=method)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        peft_model.save_pretrained(tmp, selected_adapters=["composed"])
        saved = Path(tmp) / "composed"
        out.mkdir(parents=True, exist_ok=True)
        for file in saved.iterdir():
            file.replace(out / file.name)
    return {"r": peft_model.peft_config["composed"].r}


def compose_adapters(
    task: str | Path,
    lang_target: str | Path,
    lang_english: str | Path,
    output_dir: str | Path,
    *,
    lam: float = 1.0,
    method: ComposeMethod = "explicit",
    base_model: str | None = None,
) -> Path:
    """Write ``task + λ·(lang_target − lang_english)`` as a PEFT LoRA folder; return its path.

    ``base_model`` is only needed by ``cat``/``linear`` (default: the task adapter's
    ``base_model_name_or_path``). The composed adapter's provenance records its inputs and λ.
    """
    if method not in COMPOSE_METHODS:
        raise ValueError(f"method must be one of {COMPOSE_METHODS}, got {method!r}")
    dirs = [Path(task), Path(lang_target), Path(lang_english)]
    weights = [1.0, lam, -lam]
    out = Path(output_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    if method == "explicit":
        info = _compose_explicit(dirs, weights, out)
    else:
        from tripletforge.models.generators import resolve_generator

        task_prov = read_provenance(dirs[0])
        config = json.loads((dirs[0] / "adapter_config.json").read_text(encoding="utf-8"))
        base = base_model or task_prov.get("base_model") or config["base_model_name_or_path"]
        info = _compose_peft(dirs, weights, out, method, resolve_generator(base))
    sources = [read_provenance(d) for d in dirs]
    task_prov = sources[0]
    provenance = {
        "adapter_type": "composed",
        "polarity": task_prov.get("polarity"),
        "lang": sources[1].get("lang"),
        "base_model": base_model or task_prov.get("base_model"),
        "prompt_id": task_prov.get("prompt_id"),
        "method": method,
        "lambda": lam,
        "formula": "task + lambda * (lang_target - lang_english)",
        "inputs": {
            role: {
                "path": str(d.resolve()),
                "adapter_type": p.get("adapter_type", p.get("kind")),
                "lang": p.get("lang"),
                "data_sha256": (p.get("data") or {}).get("sha256"),
            }
            for role, d, p in zip(
                ("task", "lang_target", "lang_english"), dirs, sources, strict=True
            )
        },
        **info,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (out / PROVENANCE_FILE).write_text(
        strict_dumps(provenance, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return out
