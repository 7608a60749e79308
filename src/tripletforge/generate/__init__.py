"""Generate stage: LLM-written (anchor, entailment, contradiction) triplets from seed sentences.

- :mod:`~tripletforge.generate.strategies`: how prompts are chosen (``icl``; registry)
- :mod:`~tripletforge.generate.backends`: which engine runs them (``llamacpp``,
  ``transformers``, ``openai``, ``vllm``; registry, imported lazily)
- :mod:`~tripletforge.generate.prompts` / :mod:`~tripletforge.generate.parsing`: NLI prompts in
  chat or completion format, and the output parser with counted rejections
- :mod:`~tripletforge.generate.runner`: :func:`generate_triplets`, resumable, with provenance
"""

from tripletforge.generate.runner import (
    GenerationConfig,
    GenerationStats,
    export_parquet,
    generate_triplets,
    rejected_path,
)

__all__ = [
    "GenerationConfig",
    "GenerationStats",
    "export_parquet",
    "generate_triplets",
    "rejected_path",
]
