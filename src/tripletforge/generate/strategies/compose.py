"""``compose``: AdaMergeX-style adapters, ``task_en + λ·(lang_target − lang_en)`` per pass.

Options (``strategy_options``), either already composed adapters::

    positive_adapter, negative_adapter

or the parts, composed once per language into the cache (``adapters compose`` does the same)::

    task_positive, task_negative    English NLI adapters (adapter type task)
    lang_english                    English language adapter
    lang_target                     a language adapter folder, or {"hau": folder, ...}
    lambda (default 1.0), method (explicit | cat | linear), cache_dir

Outputs are in the anchor's language (``mode="monolingual"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tripletforge.data.schemas import SeedSentence
from tripletforge.generate.strategies import register_strategy
from tripletforge.generate.strategies.adapter import (
    POLARITY_OPTIONS,
    AdapterStrategy,
    adapter_rank,
    composed_adapter,
    existing_adapter,
    polarity_adapters,
)
from tripletforge.generate.strategies.base import AdapterNeeds, StrategyContext

#: The parts a composed adapter is made of (when no composed adapters are given).
PART_OPTIONS = ("task_positive", "task_negative", "lang_english", "lang_target")


def _targets(options: Mapping[str, Any]) -> dict[str, Any]:
    targets = options.get("lang_target") or {}
    return dict(targets) if isinstance(targets, Mapping) else {"*": targets}


@register_strategy("compose")
class ComposeStrategy(AdapterStrategy):
    """Each pass uses its polarity's task adapter shifted towards the anchor's language."""

    name = "compose"

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> None:
        if any(options.get(k) for k in POLARITY_OPTIONS):
            super().check_options(options)
            return
        missing = [k for k in PART_OPTIONS if not options.get(k)]
        if missing:
            raise ValueError(
                f"compose needs positive_adapter/negative_adapter, or the options {missing}"
            )

    @classmethod
    def adapter_needs(cls, options: Mapping[str, Any]) -> AdapterNeeds | None:
        """Fixed adapters: two; parts: two per target language, of the summed part ranks."""
        if any(options.get(k) for k in POLARITY_OPTIONS):
            return super().adapter_needs(options)
        targets = _targets(options)
        tasks = [options[k] for k in ("task_positive", "task_negative") if options.get(k)]
        if not tasks or not targets or not options.get("lang_english"):
            return AdapterNeeds(2)
        ranks = [
            max((adapter_rank(t) or 0) for t in tasks),
            max((adapter_rank(t) or 0) for t in targets.values()),
            adapter_rank(options["lang_english"]) or 0,
        ]
        return AdapterNeeds(2 * len(targets), sum(ranks) if all(ranks) else None)

    def __init__(self, ctx: StrategyContext) -> None:
        super().__init__(ctx)
        opts = ctx.options
        self.fixed = polarity_adapters(opts, self.name)
        self.composed: dict[tuple[str, str], Path] = {}
        if self.fixed is not None:
            return
        self.lang_targets = {
            k: existing_adapter(v, f"lang_target[{k}]") for k, v in _targets(opts).items()
        }
        self.tasks = {
            p: existing_adapter(opts[f"task_{p}"], f"task_{p}") for p in ("positive", "negative")
        }
        self.lang_english = existing_adapter(opts["lang_english"], "lang_english")
        self.lam = float(opts.get("lambda", 1.0))
        self.method = str(opts.get("method", "explicit"))
        self.root = Path(opts["cache_dir"]) if opts.get("cache_dir") else None

    def adapter_for(self, sentence: SeedSentence, pass_: str) -> Path:
        if self.fixed is not None:
            return self.fixed[pass_]
        lang = sentence.lang if sentence.lang in self.lang_targets else "*"
        if lang not in self.lang_targets:
            raise ValueError(
                f"compose has no lang_target adapter for {sentence.lang!r} "
                f"(have {sorted(self.lang_targets)})"
            )
        key = (lang, pass_)
        if key not in self.composed:
            self.composed[key] = composed_adapter(
                self.tasks[pass_],
                self.lang_targets[lang],
                self.lang_english,
                self.lam,
                self.method,
                self.root,
            )
        return self.composed[key]
