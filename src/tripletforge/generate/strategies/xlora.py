"""``xlora``: XL-LoRA generation, a premise in any language → English entailment/contradiction.

Options (``strategy_options``): ``positive_adapter`` and ``negative_adapter``, the folders of
the two adapters trained with ``tripletforge adapters train --kind xlora``. Positives and
negatives are English, so the run must be cross-lingual (``mode="crosslingual"``).
"""

from __future__ import annotations

from pathlib import Path

from tripletforge.data.schemas import Seed
from tripletforge.generate.strategies import register_strategy
from tripletforge.generate.strategies.adapter import AdapterStrategy, polarity_adapters
from tripletforge.generate.strategies.base import StrategyContext


@register_strategy("xlora")
class XLoraStrategy(AdapterStrategy):
    """Positive pass with the entailment adapter, negative pass with the contradiction one."""

    name = "xlora"

    def __init__(self, ctx: StrategyContext) -> None:
        super().__init__(ctx)
        if ctx.mode != "crosslingual":
            raise ValueError("xlora writes English positives/negatives: use mode='crosslingual'")
        adapters = polarity_adapters(ctx.options, self.name)
        if adapters is None:
            raise ValueError("xlora needs the options positive_adapter and negative_adapter")
        self.adapters = adapters

    def adapter_for(self, seed: Seed, pass_: str) -> Path:
        return self.adapters[pass_]
