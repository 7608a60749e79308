"""A stand-in for a model folder that loads the encoder only when something must be encoded.

A fully cached re-evaluation then never pays for loading the weights.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


class LazyEncoder:
    """Exposes the folder's ``prompts``, ``default_prompt_name`` and ``similarity_fn_name``
    (``config_sentence_transformers.json``); loads the model on the first ``encode*`` call."""

    def __init__(self, name: str, folder: str | Path) -> None:
        self.name = name
        self.folder = Path(folder)
        self._model: SentenceTransformer | None = None
        config_file = self.folder / "config_sentence_transformers.json"
        config = json.loads(config_file.read_text()) if config_file.is_file() else {}
        self.prompts: dict[str, str] = dict(config.get("prompts") or {})
        self.default_prompt_name: str | None = config.get("default_prompt_name")
        self.similarity_fn_name: str | None = config.get("similarity_fn_name")

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def model(self) -> SentenceTransformer:
        """The real encoder (loaded on first access)."""
        if self._model is None:
            from tripletforge.models import load_encoder

            self._model = load_encoder(self.name)
            self.prompts = dict(self._model.prompts or {})
            self.default_prompt_name = self._model.default_prompt_name
            self.similarity_fn_name = self._model.similarity_fn_name
        return self._model

    def encode(self, *args: Any, **kwargs: Any) -> Any:
        return self.model.encode(*args, **kwargs)

    def encode_query(self, *args: Any, **kwargs: Any) -> Any:
        return self.model.encode_query(*args, **kwargs)

    def encode_document(self, *args: Any, **kwargs: Any) -> Any:
        return self.model.encode_document(*args, **kwargs)
