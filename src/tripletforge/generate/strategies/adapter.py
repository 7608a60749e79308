"""Shared logic of the adapter-based generation strategies (``compose``, ``xlora``).

Each pass is one plain-text request: :func:`format_adapter_prompt` (the training prompt), stop
at the first newline, and ``adapter`` = the folder of that pass's adapter (positive adapter for
the entailment, negative adapter for the contradiction). The backend applies it
(``transformers``: a PEFT adapter per request; ``vllm``: a ``LoRARequest``; ``openai``: the
served adapter's name). Adapters are trained and composed by :mod:`tripletforge.adapters`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tripletforge.adapters.prompts import ADAPTER_PROMPT_ID, format_adapter_prompt
from tripletforge.data.schemas import SeedSentence, sha256_file
from tripletforge.generate.requests import GenerationRequest, Pass
from tripletforge.generate.strategies.base import (
    AdapterNeeds,
    StrategyBase,
    StrategyContext,
    derive_seed,
)
from tripletforge.paths import cache_dir

POLARITY_OPTIONS = ("positive_adapter", "negative_adapter")


def existing_adapter(path: str | Path, option: str) -> Path:
    path = Path(path)
    if not (path / "adapter_config.json").is_file():
        raise FileNotFoundError(f"strategy option {option}={path}: not a PEFT adapter folder")
    return path


def adapter_rank(path: str | Path) -> int | None:
    """The largest LoRA rank of an adapter folder (None when it is not there yet)."""
    from tripletforge.adapters.compose import lora_rank

    try:
        return lora_rank(path)
    except (OSError, ValueError):
        return None


class AdapterStrategy(StrategyBase):
    """Plans one adapter request per pass; subclasses pick the adapter of (language, pass).

    By default the adapters are the two options ``positive_adapter`` and
    ``negative_adapter`` (one adapter per polarity).
    """

    name = "adapter"
    uses_adapters = True
    tasks = ("nli",)  # the adapters are trained to write entailments and contradictions

    def __init__(self, ctx: StrategyContext) -> None:
        self.check_options(ctx.options)
        self.ctx = ctx

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> None:
        missing = [k for k in POLARITY_OPTIONS if not options.get(k)]
        if missing:
            raise ValueError(
                f"strategy {cls.name!r} needs the options positive_adapter and negative_adapter "
                f"(adapter folders); missing: {', '.join(missing)}"
            )

    @classmethod
    def adapter_needs(cls, options: Mapping[str, Any]) -> AdapterNeeds | None:
        ranks = [adapter_rank(options[k]) for k in POLARITY_OPTIONS if options.get(k)]
        known = [r for r in ranks if r is not None]
        return AdapterNeeds(2, max(known) if known and len(known) == len(ranks) else None)

    def adapter_for(
        self, sentence: SeedSentence, pass_: str
    ) -> Path:  # pragma: no cover - abstract
        raise NotImplementedError

    def plan(
        self, sentence: SeedSentence, passes: Sequence[Pass], *, anchor_seed: int, attempt: int
    ) -> list[GenerationRequest]:
        requests = []
        for pass_ in passes:
            if pass_ == "joint":
                raise ValueError(
                    f"strategy {self.name!r} uses one adapter per pass: run without --joint"
                )
            requests.append(
                GenerationRequest(
                    seed_id=sentence.seed_id,
                    pass_=pass_,
                    prompt_id=ADAPTER_PROMPT_ID,
                    seed=derive_seed(anchor_seed, pass_, attempt),
                    text=format_adapter_prompt(sentence.text, pass_),
                    stop=("\n",),
                    adapter=str(self.adapter_for(sentence, pass_)),
                )
            )
        return requests


def polarity_adapters(options: Mapping[str, Any], strategy: str) -> dict[str, Path] | None:
    """``positive_adapter``/``negative_adapter`` options as paths (None if neither is set)."""
    given = {p: options.get(f"{p}_adapter") for p in ("positive", "negative")}
    if not any(given.values()):
        return None
    missing = [f"{p}_adapter" for p, v in given.items() if not v]
    if missing:
        raise ValueError(f"strategy {strategy!r} needs the options {missing}")
    return {p: existing_adapter(v, f"{p}_adapter") for p, v in given.items()}


def composed_adapter(
    task: Path,
    lang_target: Path,
    lang_english: Path,
    lam: float,
    method: str,
    root: Path | None = None,
) -> Path:
    """Compose once into a cache folder keyed by the inputs' weights, λ and method."""
    from tripletforge.adapters.compose import compose_adapters

    key = hashlib.sha256(
        json.dumps(
            [
                sha256_file(p / "adapter_model.safetensors")
                for p in (task, lang_target, lang_english)
            ]
            + [lam, method]
        ).encode()
    ).hexdigest()[:16]
    out = (root or cache_dir() / "adapters") / f"composed-{key}"
    if not (out / "adapter_model.safetensors").is_file():
        compose_adapters(task, lang_target, lang_english, out, lam=lam, method=method)
    return out
