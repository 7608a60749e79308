"""Generation settings: one pydantic class for the pipeline, the CLI and the library.

:class:`GenerateSettings` is how triplets are generated (strategy, backend, model, sampling);
the pipeline's ``generate:`` section is this class, and ``tripletforge generate`` derives its
options (names, defaults, help) from its fields. :class:`GenerationConfig` adds one run's
files and run-level settings (seed file, output, RNG seed, limit).

Validation asks the strategy registry for the facts each strategy declares (required mode,
options, adapters) and the backend registry whether the backend can apply adapters, so a bad
combination fails before any model is loaded. :func:`engine_options` gives the options a
backend must be built with for a strategy (vLLM: LoRA on, ``max_loras``, ``max_lora_rank``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tripletforge.data.seeds import MAX_SEED_CHARS
from tripletforge.generate.requests import SamplingParams


def engine_options(
    strategy: str,
    backend: str,
    strategy_options: Mapping[str, Any],
    backend_options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Keyword options to build ``backend`` with for a run of ``strategy``.

    What the strategy declares it will request (:meth:`StrategyBase.adapter_needs`), turned
    into options by the backend (:meth:`Backend.engine_options`), then the user's
    ``backend_options`` on top (an explicit setting wins).
    """
    from tripletforge.generate.backends import backend_class
    from tripletforge.generate.strategies import strategy_class

    cls = strategy_class(strategy)
    needs = cls.adapter_needs(strategy_options) if cls.uses_adapters else None
    derived = backend_class(backend).engine_options(needs) if needs is not None else {}
    return derived | dict(backend_options or {})


def task_problems(task: str, strategy: str, joint: bool = False) -> list[str]:
    """What is wrong with generating ``task`` with ``strategy`` (and ``joint``), one sentence
    each; unknown names are problems too."""
    from tripletforge.generate.strategies import strategy_class
    from tripletforge.generate.tasks import task_class

    try:
        cls = task_class(task)
    except ValueError as exc:
        return [str(exc)]
    problems = []
    try:
        able = strategy_class(strategy).tasks
    except ValueError:
        able = None  # the unknown strategy is reported by strategy_problems
    if able is not None and task not in able:
        problems.append(
            f"strategy {strategy!r} writes only {', '.join(able)} data, not task {task!r}; "
            "use strategy icl (few-shot prompts of every task)"
        )
    if joint and not cls.supports_joint:
        problems.append(f"task {task!r} has no joint prompt; run it without joint")
    return problems


def strategy_problems(
    strategy: str, backend: str, mode: str, options: Mapping[str, Any]
) -> list[str]:
    """What is wrong with running ``strategy`` on ``backend`` in ``mode`` with ``options``.

    Each problem is one sentence that says what the strategy needs; callers add where to
    change it (a YAML field, a CLI flag). Unknown names are problems too.
    """
    from tripletforge.generate.backends import BACKENDS, backend_class
    from tripletforge.generate.strategies import strategy_class

    try:
        cls = strategy_class(strategy)
    except ValueError as exc:
        return [str(exc)]
    problems = []
    if cls.required_mode is not None and mode != cls.required_mode:
        what = "English positives" if cls.required_mode == "crosslingual" else "positives"
        problems.append(
            f"strategy {strategy!r} writes {what} and negatives: it needs mode "
            f"{cls.required_mode!r}, not {mode!r}"
        )
    try:
        cls.check_options(options)
    except ValueError as exc:
        problems.append(str(exc))
    if backend not in BACKENDS:
        problems.append(f"unknown backend {backend!r}; known: {', '.join(sorted(BACKENDS))}")
    elif cls.uses_adapters and not backend_class(backend).applies_adapters:
        able = sorted(n for n in BACKENDS if _applies_adapters(n))
        problems.append(
            f"strategy {strategy!r} requests a LoRA adapter per pass, which backend "
            f"{backend!r} cannot apply; use one of {', '.join(able)}"
        )
    return problems


def _applies_adapters(name: str) -> bool:
    from tripletforge.generate.backends import backend_class

    try:
        return backend_class(name).applies_adapters
    except (ImportError, AttributeError, ValueError):
        return False


class GenerateSettings(BaseModel):
    """How training data is generated: task, strategy, backend, model, prompting, sampling."""

    model_config = ConfigDict(extra="forbid")

    task: str = Field(
        "nli",
        description="what is generated (registry name: nli, retrieval, paraphrase; see "
        "tripletforge.generate.tasks)",
    )
    strategy: str = Field(
        "icl", description="generation strategy (registry name: icl, compose, xlora)"
    )
    strategy_options: dict[str, Any] = Field(
        default_factory=dict,
        description="strategy settings (compose/xlora: positive_adapter, negative_adapter, "
        "lambda, lang_target, ...)",
    )
    backend: str = Field("llamacpp", description="llamacpp | transformers | openai | vllm")
    model: str = Field(
        "smollm2-135m", description="built-in generator (smollm2-135m, gemma3-270m), path or hub id"
    )
    k: int = Field(3, ge=0, description="few-shot examples per prompt")
    pool: str | None = Field(
        None,
        description="few-shot pool: a shipped name (snli-en, retrieval-en, paraphrase-en) or a "
        "JSONL in the task's columns; default: the task's shipped pool",
    )
    mode: Literal["monolingual", "crosslingual"] = Field(
        "monolingual",
        description="monolingual: positives in the anchor's language; crosslingual: English",
    )
    joint: bool = Field(False, description="one prompt for both passes")
    prompt_format: Literal["auto", "chat", "completion"] = Field(
        "auto", description="auto: chat when the model has a chat template"
    )
    temperature: float = Field(0.7, ge=0, description="sampling temperature (0: greedy)")
    top_p: float = Field(0.95, gt=0, le=1, description="nucleus sampling mass")
    max_tokens: int = Field(64, ge=1, description="new tokens per completion")
    max_attempts: int = Field(3, ge=1, description="tries per pass before the anchor is rejected")
    chunk_size: int = Field(16, ge=1, description="anchors per backend call and per durable write")
    backend_options: dict[str, Any] = Field(
        default_factory=dict,
        description="backend settings (base_url, threads, parallel, device, enable_lora, ...)",
    )

    @model_validator(mode="after")
    def _strategy_fits(self) -> GenerateSettings:
        problems = strategy_problems(self.strategy, self.backend, self.mode, self.strategy_options)
        problems += task_problems(self.task, self.strategy, self.joint)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def pool_name(self) -> str:
        """The few-shot pool used: ``pool``, else the task's shipped pool."""
        from tripletforge.generate.tasks import task_class

        return self.pool or task_class(self.task).default_pool

    def sampling(self) -> SamplingParams:
        return SamplingParams(self.temperature, self.top_p, self.max_tokens)

    def backend_kwargs(self) -> dict[str, Any]:
        """Options to build the backend with (:func:`engine_options`)."""
        return engine_options(
            self.strategy, self.backend, self.strategy_options, self.backend_options
        )


class GenerationConfig(GenerateSettings):
    """One generation run: :class:`GenerateSettings` plus its files and run-level settings."""

    seed_file: Path = Field(description="seed sentences: .txt, .csv/.tsv, .jsonl or .parquet")
    out: Path = Field(description="output triplets JSONL (appended; re-running resumes)")
    lang: str | None = Field(None, description="language of seed rows without a lang column")
    seed: int = Field(0, description="random seed (per-anchor RNG from seed and seed_id)")
    limit: int | None = Field(None, ge=1, description="use only the first N seeds")
    max_seed_chars: int = Field(MAX_SEED_CHARS, ge=16, description="longer seeds are cut")
    parquet: bool = Field(False, description="also export the output as Parquet")
    progress: bool = Field(True, description="show a progress bar")

    @property
    def rejected_path(self) -> Path:
        return rejected_path(self.out)


def rejected_path(out: str | Path) -> Path:
    """Side file of rejected anchors: ``triplets.jsonl`` → ``triplets.rejected.jsonl``."""
    out = Path(out)
    return out.with_name(f"{out.stem}.rejected.jsonl")
