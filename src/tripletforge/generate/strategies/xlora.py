"""``xlora``: XL-LoRA generation, a premise in any language → English entailment/contradiction.

Options (``strategy_options``): ``positive_adapter`` and ``negative_adapter``, the folders of
the two adapters trained with ``tripletforge adapters train --adapter-type xlora``. Positives and
negatives are English, so the run must be cross-lingual (``mode="crosslingual"``).
"""

from __future__ import annotations

from pathlib import Path

from tripletforge.data.schemas import SeedSentence
from tripletforge.generate.strategies import register_strategy
from tripletforge.generate.strategies.adapter import AdapterStrategy, polarity_adapters
from tripletforge.generate.strategies.base import StrategyContext


@register_strategy("xlora")
class XLoraStrategy(AdapterStrategy):
    """Positive pass with the entailment adapter, negative pass with the contradiction one."""

    name = "xlora"
    required_mode = "crosslingual"

    def __init__(self, ctx: StrategyContext) -> None:
        if ctx.mode != self.required_mode:
            raise ValueError("xlora writes English positives/negatives: use mode='crosslingual'")
        super().__init__(ctx)
        adapters = polarity_adapters(ctx.options, self.name)
        assert adapters is not None  # check_options made sure both are given
        self.adapters = adapters

    def adapter_for(self, sentence: SeedSentence, pass_: str) -> Path:
        return self.adapters[pass_]
