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
"""

from tripletforge.connect.build import ConnectedModel, build_connected_model
from tripletforge.connect.connector import Connector
from tripletforge.connect.english import EnglishGuard, english_problem
from tripletforge.connect.module import ConnectedEncoder
from tripletforge.connect.settings import (
    AlignSettings,
    ConnectorSettings,
    ConnectSettings,
    FinetuneSettings,
    SettingsError,
    parse_settings,
)
from tripletforge.connect.trainer import ConnectResult, finished, train_connected

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
