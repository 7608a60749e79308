"""``compose``: AdaMergeX-style adapters, ``task_en + λ·(lang_target − lang_en)`` per pass.

Options (``strategy_options``), either already composed adapters::

    positive_adapter, negative_adapter

or the parts, composed once per language into the cache (``adapters compose`` does the same)::

    task_positive, task_negative    English NLI adapters (kind task)
    lang_english                    English language adapter
    lang_target                     a language adapter folder, or {"hau": folder, ...}
    lambda (default 1.0), method (explicit | cat | linear), cache_dir

Outputs are in the anchor's language (``mode="monolingual"``).
"""

from __future__ import annotations

from pathlib import Path

from tripletforge.data.schemas import Seed
from tripletforge.generate.strategies import register_strategy
from tripletforge.generate.strategies.adapter import (
    AdapterStrategy,
    composed_adapter,
    existing_adapter,
    polarity_adapters,
)
from tripletforge.generate.strategies.base import StrategyContext


@register_strategy("compose")
class ComposeStrategy(AdapterStrategy):
    """Each pass uses its polarity's task adapter shifted towards the anchor's language."""

    name = "compose"

    def __init__(self, ctx: StrategyContext) -> None:
        super().__init__(ctx)
        opts = ctx.options
        self.fixed = polarity_adapters(opts, self.name)
        self.composed: dict[tuple[str, str], Path] = {}
        if self.fixed is not None:
            return
        needed = ["task_positive", "task_negative", "lang_english", "lang_target"]
        missing = [k for k in needed if not opts.get(k)]
        if missing:
            raise ValueError(
                f"compose needs positive_adapter/negative_adapter, or the options {missing}"
            )
        targets = opts["lang_target"]
        if not isinstance(targets, dict):
            targets = {"*": targets}
        self.lang_targets = {
            k: existing_adapter(v, f"lang_target[{k}]") for k, v in targets.items()
        }
        self.tasks = {
            p: existing_adapter(opts[f"task_{p}"], f"task_{p}") for p in ("positive", "negative")
        }
        self.lang_english = existing_adapter(opts["lang_english"], "lang_english")
        self.lam = float(opts.get("lambda", 1.0))
        self.method = str(opts.get("method", "explicit"))
        self.root = Path(opts["cache_dir"]) if opts.get("cache_dir") else None

    def adapter_for(self, seed: Seed, pass_: str) -> Path:
        if self.fixed is not None:
            return self.fixed[pass_]
        lang = seed.lang if seed.lang in self.lang_targets else "*"
        if lang not in self.lang_targets:
            raise ValueError(
                f"compose has no lang_target adapter for {seed.lang!r} "
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
