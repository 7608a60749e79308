"""LoRA adapters for the generator: training (task / language / xlora), composition, export.

The prompt shared by training and generation lives in :mod:`tripletforge.adapters.prompts`.
Generation with adapters (the ``compose``/``xlora`` strategies, per-request adapters in the
backends) is :mod:`tripletforge.generate`'s; this package imports nothing from it.
"""

from tripletforge.adapters.compose import COMPOSE_METHODS, compose_adapters
from tripletforge.adapters.config import (
    ADAPTER_TYPES,
    AdapterData,
    AdapterTrainSettings,
    LoraSettings,
)
from tripletforge.adapters.data import (
    NliExample,
    PromptPair,
    load_adapter_examples,
    nli_pairs,
    read_snli_tokenized,
    read_text_lines,
    read_xllora_pairs,
    read_xnli_english,
)
from tripletforge.adapters.gguf_lora import export_gguf_lora
from tripletforge.adapters.merge import load_with_adapter, merge_adapter
from tripletforge.adapters.prompts import (
    ADAPTER_PROMPT_ID,
    format_adapter_prompt,
    parse_adapter_output,
)
from tripletforge.adapters.train import TrainResult, read_provenance, train_adapter

__all__ = [
    "ADAPTER_PROMPT_ID",
    "ADAPTER_TYPES",
    "COMPOSE_METHODS",
    "AdapterData",
    "AdapterTrainSettings",
    "LoraSettings",
    "NliExample",
    "PromptPair",
    "TrainResult",
    "compose_adapters",
    "export_gguf_lora",
    "format_adapter_prompt",
    "load_adapter_examples",
    "load_with_adapter",
    "merge_adapter",
    "nli_pairs",
    "parse_adapter_output",
    "read_provenance",
    "read_snli_tokenized",
    "read_text_lines",
    "read_xllora_pairs",
    "read_xnli_english",
    "train_adapter",
]
