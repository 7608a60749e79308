"""Generator backends behind one interface, registered by name and imported lazily.

==============  =============================================================  ===========
name            runs                                                           needs
==============  =============================================================  ===========
``llamacpp``    GGUF files in-process through ``xllamacpp`` (offline default)  core
``transformers``  Hugging Face causal LMs (local folder, hub id or GGUF)      core
``openai``      any OpenAI-compatible server (vLLM, llama.cpp, TGI, OpenAI)    core
``vllm``        offline batched ``vllm.LLM`` on a GPU                          ``[vllm]``
==============  =============================================================  ===========

Importing this module imports no backend: :func:`get_backend` imports the one it builds, so
CPU installs never touch vLLM (or torch, for llama.cpp and OpenAI runs).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from tripletforge.generate.backends.base import (
    Backend,
    answer_text,
    cut_at_stop,
    prefix_groups,
    thinking_kwargs,
)

#: backend name → "module:Class" (imported on first use).
BACKENDS: dict[str, str] = {
    "llamacpp": "tripletforge.generate.backends.llamacpp:LlamaCppBackend",
    "transformers": "tripletforge.generate.backends.transformers_backend:TransformersBackend",
    "openai": "tripletforge.generate.backends.openai_backend:OpenAIBackend",
    "vllm": "tripletforge.generate.backends.vllm_backend:VllmBackend",
}


def register_backend(name: str, target: str) -> None:
    """Register a backend class given as ``"module:Class"``.

    Raises ``ValueError`` when ``name`` is registered with another target (registering the
    same target again, as a re-imported plugin does, is not an error).
    """
    known = BACKENDS.get(name)
    if known is not None and known != target:
        raise ValueError(
            f"backend {name!r} is already registered ({known}); register yours under another name"
        )
    BACKENDS[name] = target


def backend_class(name: str) -> type[Backend]:
    """Import and return the class registered under ``name``."""
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; known: {', '.join(sorted(BACKENDS))}")
    module, _, cls = BACKENDS[name].partition(":")
    return getattr(import_module(module), cls)


def get_backend(name: str, model: str, **options: Any) -> Backend:
    """Build the backend ``name`` for ``model`` (a built-in generator name, path or hub id)."""
    return backend_class(name)(model, **options)


__all__ = [
    "BACKENDS",
    "Backend",
    "answer_text",
    "backend_class",
    "cut_at_stop",
    "get_backend",
    "prefix_groups",
    "register_backend",
    "thinking_kwargs",
]
