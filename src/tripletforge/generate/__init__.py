"""Generate stage: LLM-written (anchor, entailment, contradiction) triplets from seed sentences.

- :mod:`~tripletforge.generate.strategies`: how prompts are chosen (``icl``; registry)
- :mod:`~tripletforge.generate.backends`: which engine runs them (``llamacpp``,
  ``transformers``, ``openai``, ``vllm``; registry, imported lazily)
- :mod:`~tripletforge.generate.prompts` / :mod:`~tripletforge.generate.parsing`: NLI prompts in
  chat or completion format, and the output parser with counted rejections
- :mod:`~tripletforge.generate.config`: :class:`GenerateSettings` (one settings class for
  the pipeline, the CLI and the library) and :class:`GenerationConfig` (one run)
- :mod:`~tripletforge.generate.runner`: :func:`generate_triplets`, resumable, with provenance
"""

from tripletforge.generate.config import (
    GenerateSettings,
    GenerationConfig,
    engine_options,
    rejected_path,
)
from tripletforge.generate.runner import GenerationStats, export_parquet, generate_triplets

__all__ = [
    "GenerateSettings",
    "GenerationConfig",
    "GenerationStats",
    "engine_options",
    "export_parquet",
    "generate_triplets",
    "rejected_path",
]
