"""YAML files given as a path or as the name of a file shipped in ``tripletforge/resources``.

Suites (``resources/suites``) and pipeline configs (``resources/configs``) are both loaded this
way; each caller wraps the ``ValueError`` raised here in its own error type.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class YamlSource:
    """A parsed YAML document, where it came from, and the folder relative paths start from."""

    data: Any
    label: str  # the file path, or ``built-in:<name>``
    base_dir: Path


def builtin_names(folder: str) -> list[str]:
    """Names (without ``.yaml``) of the files shipped in ``tripletforge/resources/<folder>``."""
    root = resources.files("tripletforge") / "resources" / folder
    return sorted(p.name.removesuffix(".yaml") for p in root.iterdir() if p.name.endswith(".yaml"))


def read_yaml_source(source: str | Path, folder: str, what: str) -> YamlSource:
    """Read a YAML file, or the built-in ``resources/<folder>/<source>.yaml``.

    Raises ``ValueError`` naming ``what`` (e.g. "suite") when the source is neither a file nor
    a built-in name, or is not valid YAML.
    """
    path = Path(source).expanduser()
    if path.is_file():
        text, label, base = path.read_text(encoding="utf-8"), str(path), path.resolve().parent
    elif str(source) in builtin_names(folder):
        ref = resources.files("tripletforge") / "resources" / folder / f"{source}.yaml"
        text, label, base = (
            ref.read_text(encoding="utf-8"),
            f"built-in:{source}",
            Path(str(ref)).parent,
        )
    else:
        known = ", ".join(builtin_names(folder)) or "none"
        raise ValueError(
            f"{what} {str(source)!r} is neither a file nor a built-in {what} ({known}); "
            "check the path"
        )
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"invalid {what} {label}: not valid YAML: {exc}") from None
    return YamlSource(data, label, base)
