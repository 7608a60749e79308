"""Export a PEFT LoRA adapter as a llama.cpp GGUF LoRA (``xllamacpp`` ``lora_adapters``).

The same job as llama.cpp's ``convert_lora_to_gguf.py``, which does not ship on PyPI. Tensor
names come from ``gguf``'s name map for the base GGUF's architecture; each module ``m`` becomes
``<gguf name>.lora_a`` (r × in) and ``<gguf name>.lora_b`` (out × r). The LoRA scaling is
folded into B and ``adapter.lora.alpha`` is set to r, so llama.cpp's ``alpha / r`` is 1 (this
also covers rsLoRA and composed adapters). For ``llama`` models, llama.cpp stores q/k weights
with rows permuted for its rotary layout; the B matrices of q/k get the same permutation.

llama.cpp loads it with ``CommonParams.lora_adapters = [CommonAdapterLoraInfo(path, scale)]``;
the server's per-request ``"lora": [{"id": i, "scale": s}]`` selects adapters per request.
"""

from __future__ import annotations

from pathlib import Path

from tripletforge.adapters.compose import load_lora

_PEFT_PREFIX = "base_model.model."


def _field(reader, key: str):
    field = reader.fields.get(key)
    return None if field is None else field.contents()


def _permute(weights, n_head: int, n_head_kv: int | None):
    """convert_hf_to_gguf's q/k row permutation (HF rotary layout → llama.cpp)."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    rows = weights.shape[0]
    return (
        weights.reshape(n_head, 2, rows // n_head // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def export_gguf_lora(adapter_dir: str | Path, base_gguf: str | Path, out_file: str | Path) -> Path:
    """Write ``adapter_dir`` as a GGUF LoRA for the model in ``base_gguf``; return the path."""
    import gguf
    import numpy as np

    reader = gguf.GGUFReader(str(base_gguf))
    arch = _field(reader, "general.architecture")
    n_blocks = int(_field(reader, f"{arch}.block_count"))
    n_head = _field(reader, f"{arch}.attention.head_count")
    n_head_kv = _field(reader, f"{arch}.attention.head_count_kv")
    model_arch = next(k for k, v in gguf.MODEL_ARCH_NAMES.items() if v == arch)
    names = gguf.get_tensor_name_map(model_arch, n_blocks)

    _, modules = load_lora(adapter_dir)
    rank = max(a.shape[0] for a, _, _ in modules.values())
    out = Path(out_file)
    writer = gguf.GGUFWriter(str(out), arch)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(rank))
    for module, (a, b, scale) in sorted(modules.items()):
        hf_name = module.removeprefix(_PEFT_PREFIX)
        name = names.get_name(hf_name + ".weight", try_suffixes=(".weight",))
        if name is None:
            raise ValueError(f"no llama.cpp tensor for {hf_name!r} ({arch})")
        a_np = a.float().numpy()
        b_np = b.float().numpy() * np.float32(scale)
        if a_np.shape[0] != rank:  # pad to the common rank (zero blocks add nothing)
            pad = rank - a_np.shape[0]
            a_np = np.concatenate([a_np, np.zeros((pad, a_np.shape[1]), np.float32)])
            b_np = np.concatenate([b_np, np.zeros((b_np.shape[0], pad), np.float32)], 1)
        if arch == "llama" and hf_name.endswith(("q_proj", "k_proj")):
            kv = n_head if hf_name.endswith("q_proj") else n_head_kv
            b_np = _permute(b_np, int(n_head), int(kv))
        writer.add_tensor(f"{name}.lora_a", np.ascontiguousarray(a_np))
        writer.add_tensor(f"{name}.lora_b", np.ascontiguousarray(b_np))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out
