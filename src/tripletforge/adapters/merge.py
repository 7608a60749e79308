"""Fold a LoRA adapter into its base weights and save a plain transformers folder.

Backends that cannot apply a PEFT adapter at run time (vLLM without LoRA, or a GGUF export
through llama.cpp's ``convert_hf_to_gguf.py``) load the merged folder like any other model.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tripletforge.adapters.train import PROVENANCE_FILE, read_provenance


def adapter_base_model(adapter_dir: str | Path) -> str:
    """The base model an adapter was trained on (provenance name, else ``adapter_config``)."""
    prov = read_provenance(adapter_dir)
    if prov.get("base_model"):
        return str(prov["base_model"])
    config = json.loads((Path(adapter_dir) / "adapter_config.json").read_text(encoding="utf-8"))
    return str(config["base_model_name_or_path"])


def load_with_adapter(adapter_dir: str | Path, base_model: str | None = None, merge: bool = False):
    """Load ``(model, tokenizer)``: the base causal LM with the adapter applied (or merged)."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from tripletforge.adapters.train import load_tokenizer
    from tripletforge.models.generators import resolve_generator

    base_path = resolve_generator(base_model or adapter_base_model(adapter_dir))
    model = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32)
    model = PeftModel.from_pretrained(model, str(adapter_dir))
    if merge:
        model = model.merge_and_unload()
    return model.eval(), load_tokenizer(base_path)


def merge_adapter(
    adapter_dir: str | Path, output_dir: str | Path, base_model: str | None = None
) -> Path:
    """Save base + adapter merged (``merge_and_unload``) as a safetensors folder."""
    model, tokenizer = load_with_adapter(adapter_dir, base_model, merge=True)
    out = Path(output_dir)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    if (Path(adapter_dir) / PROVENANCE_FILE).is_file():
        shutil.copy(Path(adapter_dir) / PROVENANCE_FILE, out / "merged_from_adapter.json")
    return out
