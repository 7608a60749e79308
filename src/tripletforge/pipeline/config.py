"""The one-config pipeline's YAML, validated up front with pydantic.

A run is a matrix: languages × arms × data sizes, plus the base encoder as the baseline.
Each arm is where the training triplets come from:

- ``synthetic``: LLM-generated with a registered strategy (``icl``, ``compose``, ``xlora``, or a
  plugin's, registered by a module listed in ``imports:``), for one generation task or a
  weighted mix of tasks (``tasks: [nli, retrieval, paraphrase]``);
- ``parallel``: real translation pairs (SIB-200/FLORES ``train`` split: sentence → English),
  hard negatives mined from the English side (the ``mine`` stage);
- ``triplets``: a ready triplet file or XL-LoRA data folder (non-synthetic data).

Errors name the field and the fix (:func:`format_config_error`).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tripletforge.filter.config import FilterConfig
from tripletforge.generate.config import GenerateSettings
from tripletforge.train.config import MineConfig, TrainSettings
from tripletforge.yaml_source import read_yaml_source

SAMPLE = "sample"  # the SIB-200 sample shipped in the package
#: GenerateSettings fields an arm sets itself rather than in `generate:`.
ARM_GENERATE_FIELDS = ("strategy", "strategy_options")
ArmSource = Literal["synthetic", "parallel", "triplets"]


class ConfigError(ValueError):
    """A pipeline config that cannot be used; the message names each bad field and the fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ArmConfig(_Strict):
    """One arm of the comparison: where its training triplets come from."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    source: ArmSource = Field("synthetic", description="where the triplets come from")
    strategy: str | None = None  # synthetic: icl | compose | xlora (default: the arm's name)
    generate: dict[str, Any] = Field(
        default_factory=dict, description="per-arm overrides of the `generate:` section"
    )
    strategy_options: dict[str, Any] = Field(default_factory=dict)
    root: str = Field(SAMPLE, description="parallel: SIB-200 folder ('sample' = shipped)")
    split: str = Field("train", description="parallel: split the pairs come from")
    target_lang: str = Field("eng", description="parallel: language of the positives")
    path: str | None = Field(None, description="triplets: file or XL-LoRA folder")
    tasks: dict[str, float] | None = Field(
        None,
        description="synthetic: generation tasks and their weights, [nli, retrieval] (equal) or "
        "{nli: 1, retrieval: 2}: each task is generated and filtered apart, every size is split "
        "by weight, and training batches never mix tasks",
    )

    @field_validator("tasks", mode="before")
    @classmethod
    def _task_weights(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list | tuple):
            names = [str(v) for v in value]
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(f"tasks {twice} are listed twice; list each task once")
            return dict.fromkeys(names, 1.0)
        return value

    @field_validator("tasks")
    @classmethod
    def _known_tasks(cls, tasks: dict[str, float] | None) -> dict[str, float] | None:
        if tasks is None:
            return None
        if not tasks:
            raise ValueError("tasks is empty; list at least one task (nli, retrieval, paraphrase)")
        from tripletforge.generate.tasks import task_class

        for name, weight in tasks.items():
            task_class(name)  # ValueError naming the known tasks
            if not weight > 0:
                raise ValueError(f"task {name!r} has weight {weight}; weights must be > 0")
        return tasks

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        if isinstance(data, dict) and "kind" in data:
            raise ValueError("`kind:` of an arm is now `source:` (synthetic, parallel, triplets)")
        return data

    @model_validator(mode="after")
    def _check_source(self) -> ArmConfig:
        if self.source == "synthetic":
            from tripletforge.generate.strategies import strategy_class

            self.strategy = self.strategy or self.name
            try:
                strategy_class(self.strategy)
            except ValueError as exc:
                raise ValueError(
                    f"{exc}; set `strategy:` to one of them, register a plugin's under "
                    "`imports:`, or use `source: parallel` / `source: triplets` for "
                    "non-synthetic data"
                ) from None
            allowed = [f for f in GenerateSettings.model_fields if f not in ARM_GENERATE_FIELDS]
            unknown = set(self.generate) - set(allowed)
            if unknown:
                raise ValueError(
                    f"unknown generate settings {sorted(unknown)}; allowed: {', '.join(allowed)}"
                    " (strategy and strategy_options are set on the arm itself)"
                )
            if self.tasks is not None and "task" in self.generate:
                raise ValueError(
                    "the arm sets both `tasks:` and `generate: {task: ...}`; keep `tasks:`"
                )
        elif self.tasks is not None:
            raise ValueError(
                f"`tasks:` needs generated data; an arm with `source: {self.source}` has none "
                "(remove `tasks:` or make the arm synthetic)"
            )
        elif self.source == "triplets" and not self.path:
            raise ValueError(
                "an arm with `source: triplets` needs `path:` (a triplet file or folder)"
            )
        elif self.source == "parallel" and self.split in ("test", "devtest"):
            raise ValueError(f"split {self.split!r} is held out for evaluation; use `split: train`")
        return self


class DevSettings(_Strict):
    """The dev data α is chosen on (never a test split)."""

    format: Literal["sib200", "semrel"] = Field("sib200", description="dev data format")
    root: str = Field(SAMPLE, description="sib200: folder ('sample' = shipped); semrel: root")
    split: Literal["dev"] = "dev"


class MergeSettings(_Strict):
    """WiSE-FT merge with the base encoder, α searched on dev data only."""

    enabled: bool = True
    grid: list[float] = Field(default_factory=lambda: [0.0, 0.25, 0.5, 0.75, 1.0], min_length=1)
    no_regression: bool = True
    tolerance: float = Field(
        0.0, ge=0, description="no-regression slack: allowed dev drop per language (points)"
    )
    dev: DevSettings = DevSettings()

    @field_validator("grid")
    @classmethod
    def _grid_range(cls, grid: list[float]) -> list[float]:
        bad = [a for a in grid if not 0.0 <= a <= 1.0]
        if bad:
            raise ValueError(f"α values {bad} are outside [0, 1]; use weights between 0 and 1")
        return grid


class EvaluateSettings(_Strict):
    """Which suite and data sets each language is evaluated on."""

    suite: str = Field("builtin", description="built-in suite name or YAML path")
    datasets: list[str] = Field(
        default_factory=lambda: ["sib200-{lang}-*"],
        description="glob patterns of data-set names; {lang} is the language",
    )
    main_task: Literal[
        "auto",
        "sts",
        "retrieval",
        "bitext",
        "reranking",
        "classification",
        "clustering",
        "pair_classification",
    ] = Field(
        "auto",
        description="task type whose MTEB main score is the run's main metric; auto = the "
        "first present of sts, retrieval, bitext, reranking, classification, "
        "pair_classification, clustering",
    )
    batch_size: int = Field(32, ge=1)
    limit: int | None = Field(None, ge=1)


class PipelineConfig(_Strict):
    """A whole run: ``tripletforge run CONFIG.yaml``."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    runs_dir: str = Field("runs", description="runs are written to RUNS_DIR/NAME")
    data_root: str | None = Field(None, description="folder {data_root} refers to")
    seed: int = 0
    languages: list[str] = Field(min_length=1)
    seed_files: dict[str, str] = Field(
        default_factory=dict,
        description="lang → seed file; languages not listed use the shipped SIB-200 train split",
    )
    anchors: int = Field(100, ge=1, description="seeds (or pairs) used per language and arm")
    sizes: list[int] = Field(min_length=1, description="training-set sizes (triplets)")
    encoder: str = "e5-small"
    arms: list[ArmConfig] = Field(min_length=1)
    generate: GenerateSettings = GenerateSettings()
    filter: FilterConfig = FilterConfig()
    leakage_check: bool = True
    mine: MineConfig = MineConfig()
    train: TrainSettings = TrainSettings()
    merge: MergeSettings = MergeSettings()
    evaluate: EvaluateSettings = EvaluateSettings()
    imports: list[str] = Field(
        default_factory=list, description="modules imported first (plugins: backends, filters)"
    )

    @model_validator(mode="before")
    @classmethod
    def _import_plugins(cls, data: Any) -> Any:
        """Import the plugin modules first: they register strategies, backends and filters."""
        if isinstance(data, dict):
            for module in data.get("imports") or []:
                try:
                    importlib.import_module(str(module))
                except ImportError as exc:
                    raise ValueError(
                        f"imports: cannot import {module!r} ({exc}); fix the module name or "
                        "PYTHONPATH"
                    ) from None
        return data

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, languages: list[str]) -> list[str]:
        """Any spelling (``HAU``, ``ha-NG``, ``hau_Latn``) → the ISO 639-3 code used inside."""
        from tripletforge.data.languages import canonical_code

        codes = [canonical_code(code) for code in languages]  # UnknownLanguageError: a ValueError
        twice = sorted({a for a, c in zip(languages, codes, strict=True) if codes.count(c) > 1})
        if twice:
            raise ValueError(f"{twice} name the same language; list each language once")
        return codes

    @field_validator("seed_files")
    @classmethod
    def _seed_languages(cls, seed_files: dict[str, str]) -> dict[str, str]:
        from tripletforge.data.languages import canonical_code

        return {canonical_code(code): path for code, path in seed_files.items()}

    @field_validator("sizes")
    @classmethod
    def _positive_sizes(cls, sizes: list[int]) -> list[int]:
        if any(s < 1 for s in sizes):
            raise ValueError(f"sizes must be positive triplet counts, got {sizes}")
        return sorted(set(sizes))

    @model_validator(mode="after")
    def _cross_checks(self) -> PipelineConfig:
        names = [a.name for a in self.arms]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"arm names {dupes} appear twice; give each arm a unique `name:`")
        if "base" in names:
            raise ValueError("arm name 'base' is reserved for the baseline; rename that arm")
        extra = sorted(set(self.seed_files) - set(self.languages))
        if extra:
            raise ValueError(f"seed_files given for {extra}, which are not in `languages:`")
        if self.anchors < max(self.sizes):
            raise ValueError(
                f"anchors ({self.anchors}) < largest size ({max(self.sizes)}): raise `anchors:` "
                "so that enough triplets can be made for every size"
            )
        for index, arm in enumerate(self.arms):
            if arm.source == "synthetic":
                self._check_generation(index, arm)
        if "strategy" in self.generate.model_fields_set:
            raise ValueError(
                "generate.strategy: the strategy is chosen per arm; set `strategy:` on each arm"
            )
        if min(self.sizes) < self.train.batch_size:
            raise ValueError(
                f"smallest size ({min(self.sizes)}) is below one batch "
                f"(train.batch_size = {self.train.batch_size}); lower train.batch_size"
            )
        return self

    def _check_generation(self, index: int, arm: ArmConfig) -> None:
        """The arm's strategy against its effective settings (facts from the registry)."""
        from tripletforge.generate.strategies import strategy_class

        where = f"arms[{index}={arm.name}]"
        cls = strategy_class(str(arm.strategy))
        mode = arm.generate.get("mode", self.generate.mode)
        if cls.required_mode is not None and mode != cls.required_mode:
            raise ValueError(
                f"{where}: strategy {arm.strategy!r} writes "
                f"{'English ' if cls.required_mode == 'crosslingual' else ''}positives; add "
                f"`generate: {{mode: {cls.required_mode}}}` to this arm"
            )
        try:
            cls.check_options(arm.strategy_options)
        except ValueError as exc:
            raise ValueError(
                f"{where}: {exc}; add them under this arm's `strategy_options:` "
                "(see docs/adapters.md)"
            ) from None
        for task in self.arm_tasks(arm):
            try:
                self.generate_for(arm, task)
            except ValidationError as exc:
                problems = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
                fix = "its `tasks:`" if task else "this arm's `generate:` settings"
                raise ValueError(f"{where}: {problems}; fix {fix}") from None

    # --- derived settings -------------------------------------------------------------

    def arm(self, name: str) -> ArmConfig:
        return next(a for a in self.arms if a.name == name)

    def generate_for(self, arm: ArmConfig, task: str | None = None) -> GenerateSettings:
        """The arm's generation settings: the shared section, its overrides, its strategy,
        and ``task`` (one of the arm's ``tasks:``) when given."""
        own: dict[str, Any] = {"strategy": arm.strategy, "strategy_options": arm.strategy_options}
        if task is not None:
            own["task"] = task
        return GenerateSettings.model_validate(self.generate.model_dump() | arm.generate | own)

    def arm_tasks(self, arm: ArmConfig) -> dict[str | None, float]:
        """The arm's tasks and weights; ``{None: 1.0}`` for an arm without ``tasks:`` (one
        task: ``generate.task``, ``nli`` by default; stages keep the one-task layout)."""
        return dict(arm.tasks) if arm.tasks is not None else {None: 1.0}

    def run_dir(self, base: str | Path | None = None) -> Path:
        root = Path(base) if base is not None else Path(self.runs_dir)
        return root / self.name

    def resolve(self, value: str) -> str:
        """Replace ``{data_root}`` in a path."""
        if "{data_root}" in value:
            if self.data_root is None:
                raise ConfigError(
                    f"{value!r} uses {{data_root}} but `data_root:` is not set; add "
                    "`data_root: DIR` or pass --data-root"
                )
            value = value.replace("{data_root}", self.data_root)
        return value

    def hash(self) -> str:
        return config_hash(self.model_dump(mode="json"))


def config_hash(data: Any) -> str:
    """SHA-256 (first 16 hex digits) of canonical JSON."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _loc(parts: tuple[Any, ...], data: Any) -> str:
    out = ""
    node = data
    for part in parts:
        if isinstance(part, int):
            label = ""
            if isinstance(node, list) and part < len(node) and isinstance(node[part], dict):
                label = f"={node[part].get('name')}" if node[part].get("name") else ""
            out += f"[{part}{label}]"
        elif part in ("function-after", "function-before") or "[" in str(part):
            continue
        else:
            out += f".{part}" if out else str(part)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return out or "<top>"


def _owner(parts: tuple[Any, ...]) -> type[BaseModel]:
    owners: dict[str, type[BaseModel]] = {
        "arms": ArmConfig,
        "generate": GenerateSettings,
        "filter": FilterConfig,
        "mine": MineConfig,
        "train": TrainSettings,
        "merge": MergeSettings,
        "dev": DevSettings,
        "evaluate": EvaluateSettings,
    }
    owner: type[BaseModel] = PipelineConfig
    for part in parts[:-1]:
        if isinstance(part, str) and part in owners:
            owner = owners[part]
    return owner


_LOCATED = re.compile(r"^[A-Za-z_][\w.]*(\[[^\]]*\])?[\w.]*: ")


def format_config_error(error: ValidationError, source: str, data: Any = None) -> str:
    """One line per problem: ``source: field: what is wrong; the fix``."""
    lines = [f"invalid pipeline config {source}:"]
    for item in error.errors():
        loc = _loc(tuple(item["loc"]), data)
        msg = item["msg"].removeprefix("Value error, ")
        if loc == "<top>" and _LOCATED.match(msg):  # the message names its own field
            lines.append(f"  {msg}")
            continue
        if item["type"] == "extra_forbidden":
            owner = _owner(tuple(item["loc"]))
            msg = f"unknown field; remove it or use one of: {', '.join(owner.model_fields)}"
        elif item["type"] == "missing":
            msg = f"required field is missing; add `{item['loc'][-1]}: ...`"
        elif item["type"] == "literal_error":
            msg = f"{msg} (got {item.get('input')!r})"
        elif item["type"] in ("int_parsing", "float_parsing", "bool_parsing", "list_type"):
            msg = f"{msg} (got {item.get('input')!r}); fix the value's type"
        lines.append(f"  {loc}: {msg}")
    return "\n".join(lines)


def parse_config(data: Any, source: str = "<config>") -> PipelineConfig:
    """Validate a mapping (raises :class:`ConfigError`)."""
    if not isinstance(data, dict):
        raise ConfigError(
            f"invalid pipeline config {source}: expected a mapping with name, languages, "
            "sizes and arms"
        )
    try:
        return PipelineConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_config_error(exc, source, data)) from None


QUICKSTART = "quickstart"


def read_config_data(source: str | Path) -> tuple[dict[str, Any], str]:
    """The raw mapping of a config file or built-in config, and its label."""
    try:
        found = read_yaml_source(source, "configs", "config")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return found.data, found.label


def load_config(source: str | Path, overrides: dict[str, Any] | None = None) -> PipelineConfig:
    """Load and validate a YAML config (path or built-in name) with top-level overrides."""
    data, label = read_config_data(source)
    if isinstance(data, dict) and overrides:
        data = {**data, **{k: v for k, v in overrides.items() if v is not None}}
    return parse_config(data, label)
