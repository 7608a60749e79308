"""The run context: a run's config, folder and console, and what is loaded once per run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tripletforge.pipeline.config import PipelineConfig
from tripletforge.pipeline.dev import sib200_root

if TYPE_CHECKING:
    from rich.console import Console


class RunContext:
    """Shared state of a run: config, folder, and models/backends/data loaded once.

    Stages reach every model and data set through it, so each is loaded once per run.
    """

    def __init__(
        self, config: PipelineConfig, run_dir: Path, console: Console, progress: bool = True
    ) -> None:
        self.config = config
        self.run_dir = run_dir
        self.console = console
        self.progress = progress
        self._encoders: dict[str, Any] = {}
        self._backends: dict[str, Any] = {}
        self._eval: dict[str, list[Any]] = {}
        self._suite: Any = None

    def model_path(self, name: str) -> str:
        from tripletforge.models.registry import resolve_model_path

        return resolve_model_path(name)

    def encoder(self, name: str) -> Any:
        if name not in self._encoders:
            from tripletforge.models import load_encoder

            self._encoders[name] = load_encoder(self.model_path(name))
        return self._encoders[name]

    def backend(self, settings: Any) -> Any:
        """The backend of an arm's generate settings, built once per distinct engine.

        The options it is built with include what the arm's strategy needs
        (:func:`tripletforge.generate.config.engine_options`: vLLM gets LoRA for adapters).
        """
        options = settings.backend_kwargs()
        key = json.dumps([settings.backend, settings.model, options], sort_keys=True, default=str)
        if key not in self._backends:
            from tripletforge.generate.backends import get_backend

            self._backends[key] = get_backend(settings.backend, settings.model, **options)
        return self._backends[key]

    def suite(self) -> Any:
        if self._suite is None:
            from tripletforge.evaluate.suite import load_suite

            self._suite = load_suite(self.config.evaluate.suite)
        return self._suite

    def eval_patterns(self, lang: str) -> list[str]:
        return [p.replace("{lang}", lang) for p in self.config.evaluate.datasets]

    def eval_data(self, lang: str) -> list[Any]:
        if lang not in self._eval:
            from tripletforge.evaluate.datasets import load_dataset

            suite = self.suite()
            specs = suite.select(self.eval_patterns(lang))
            self._eval[lang] = [
                load_dataset(s, suite, self.config.data_root, self.config.evaluate.limit)
                for s in specs
            ]
        return self._eval[lang]

    def eval_files(self, lang: str) -> list[str]:
        return sorted({f["path"] for item in self.eval_data(lang) for f in item.files})

    def seed_file(self, lang: str) -> Path:
        """The seed file of a language: configured, else the shipped SIB-200 train split."""
        if lang in self.config.seed_files:
            return Path(self.config.resolve(self.config.seed_files[lang]))
        from tripletforge.data.readers import sib200_folder

        root = sib200_root("sample")
        try:
            return sib200_folder(root, lang) / "train.tsv"
        except (FileNotFoundError, ValueError):
            return root / lang / "train.tsv"  # not shipped: preflight names the fix

    def close(self) -> None:
        for backend in self._backends.values():
            backend.close()
        self._backends.clear()
        self._encoders.clear()
