"""LUSIFER: connect a frozen multilingual encoder to an English-centric embedding model.

Man et al., 2025, "Language Universal Space Integration for Enhanced Multilingual Embeddings
with Large Language Models" (arXiv 2501.00874). A small connector maps the multilingual
encoder's token states into the target's input-embedding space; trained on English only
(alignment, then contrastive fine-tuning), the target then embeds every language the encoder
knows. See docs/connect.md.

Modules: :mod:`~tripletforge.connect.settings` (pydantic settings),
:mod:`~tripletforge.connect.connector` (the MLP + learned tokens),
:mod:`~tripletforge.connect.module` (the sentence-transformers module; save/load),
:mod:`~tripletforge.connect.targets` (loading encoder and target),
:mod:`~tripletforge.connect.build` (assembling the model),
:mod:`~tripletforge.connect.english` (the English-only guard),
:mod:`~tripletforge.connect.data` (English training data),
:mod:`~tripletforge.connect.align` (stage a), :mod:`~tripletforge.connect.finetune` (stage b),
:mod:`~tripletforge.connect.trainer` (:func:`train_connected`, both stages with resume).

The settings import nothing heavy, so the CLI can derive its options from them; the rest
(torch, transformers, sentence-transformers) loads on first use.
"""

from typing import Any

from tripletforge.connect.settings import (
    AlignSettings,
    ConnectorSettings,
    ConnectSettings,
    FinetuneSettings,
    SettingsError,
    parse_settings,
)

#: Names loaded on first use, and the module each comes from.
_LAZY = {
    "ConnectedModel": "build",
    "build_connected_model": "build",
    "Connector": "connector",
    "EnglishGuard": "english",
    "english_problem": "english",
    "ConnectedEncoder": "module",
    "ConnectResult": "trainer",
    "finished": "trainer",
    "train_connected": "trainer",
}

__all__ = [
    "AlignSettings",
    "ConnectResult",
    "ConnectSettings",
    "ConnectedEncoder",
    "ConnectedModel",
    "Connector",
    "ConnectorSettings",
    "EnglishGuard",
    "FinetuneSettings",
    "SettingsError",
    "build_connected_model",
    "english_problem",
    "finished",
    "parse_settings",
    "train_connected",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"tripletforge.connect.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
