"""The one-config pipeline's YAML, validated up front with pydantic.

A run is a matrix: languages × arms × data sizes, plus the base encoder as the baseline.
Each arm is where the training triplets come from:

- ``synthetic``: LLM-generated with a registered strategy (``icl``, ``compose``, ``xlora``, or a
  plugin's, registered by a module listed in ``imports:``), for one generation task or a
  weighted mix of tasks (``tasks: [nli, retrieval, paraphrase]``);
- ``parallel``: real translation pairs (SIB-200/FLORES ``train`` split: sentence → English),
  hard negatives mined from the English side (the ``mine`` stage);
- ``triplets``: a ready triplet file or XL-LoRA data folder (non-synthetic data);
- ``mix``: several sources at once (``sources:``: XL-LoRA pairs, parallel text with mined
  negatives, ready triplets, another arm's synthetic triplets, English NLI), each a training
  set of its own with a weight; one model for all the run's languages (batches never mix
  sources, :mod:`tripletforge.train.mixture`);
- ``connected``: no triplets and no sizes: a LUSIFER connected model (the run's encoder →
  connector → an English target, :mod:`tripletforge.connect`) trained once on English only and
  evaluated per language beside the target alone (``connect:`` overrides ``ConnectSettings``).

Errors name the field and the fix (:func:`format_config_error`).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tripletforge.adapters.config import AdapterTrainSettings, LoraSettings
from tripletforge.filter.config import FilterConfig
from tripletforge.generate.config import GenerateSettings
from tripletforge.train.config import MineConfig, TrainSettings
from tripletforge.yaml_source import read_yaml_source

SAMPLE = "sample"  # the SIB-200 sample shipped in the package
#: GenerateSettings fields an arm sets itself rather than in `generate:`.
ARM_GENERATE_FIELDS = ("strategy", "strategy_options")
ArmSource = Literal["synthetic", "parallel", "triplets", "connected", "mix"]
#: Arm fields that only make sense for arms that generate or read triplets.
TRIPLET_ARM_FIELDS = ("strategy", "generate", "strategy_options", "root", "split", "target_lang",
                      "path", "tasks")  # fmt: skip
#: Kinds of the sources of a ``source: mix`` arm.
MixKind = Literal["xllora", "parallel", "triplets", "synthetic", "nli", "scored"]
#: The one unit prefix of stages shared by every language of a run (a mix arm's train, merge).
ALL_LANGUAGES = "all"


def _uses_data_root(value: Any, where: str = "") -> list[str]:
    """The fields (``arms[0=mix].sources[1].path``) of strings that use ``{data_root}``."""
    if isinstance(value, str):
        return [where or "<config>"] if "{data_root}" in value else []
    if isinstance(value, dict):
        items = ((f"{where}.{k}" if where else str(k), v) for k, v in value.items())
    elif isinstance(value, list | tuple):
        items = (
            (where + index_label(i, v.get("name") if isinstance(v, dict) else None), v)
            for i, v in enumerate(value)
        )
    else:
        return []
    return [field for path, v in items for field in _uses_data_root(v, path)]


class ConfigError(ValueError):
    """A pipeline config that cannot be used; the message names each bad field and the fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


#: The settings of each kind of mix source (besides kind, weight and limit).
MIX_KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "xllora": ("path",),
    "triplets": ("path",),
    "nli": ("path",),
    "parallel": ("format", "root", "split", "target_lang", "languages"),
    "synthetic": ("arm",),
    "scored": ("path", "format", "split", "languages"),
}
#: Formats of each kind that has a ``format:`` (the first is the default).
MIX_KIND_FORMATS: dict[str, tuple[str, ...]] = {
    "parallel": ("sib200", "nusax"),
    "scored": ("semrel", "table"),
}


class MixSource(_Strict):
    """One source of a ``source: mix`` arm: its own training set, weighted.

    ``xllora``: the XL-LoRA cross-lingual data (``path``: the folder with ``*_pos.csv`` and
    ``*_neg.csv``, or ``sample`` for the shipped 600 rows); ``parallel``: each run language's
    SIB-200/FLORES (or NusaX-MT, ``format: nusax``) ``split`` → ``target_lang`` with negatives
    mined by the run's encoder (``root`` as a parallel arm's); ``triplets``: a triplet file or
    folder (``path``: your own bitext with negatives, …); ``synthetic``: the kept triplets of
    the run's synthetic arm ``arm`` (every language); ``nli``: English NLI triplets (``path``:
    ``snli-en``, the shipped SNLI pool, or a triplet file); ``scored``: labelled sentence
    pairs with a gold similarity, trained with CoSENT (Su 2022) — ``format: semrel`` reads
    each run language's SemRel2024 ``<lang>_<split>.csv`` under ``path`` (the SemRel2024
    folder; languages without the split are skipped and recorded), ``format: table`` one
    CSV/TSV/JSONL file with ``sentence1, sentence2, score`` (any score range: CoSENT uses only
    the order of the scores within a batch).
    """

    kind: MixKind = Field(description="xllora | parallel | triplets | synthetic | nli | scored")
    weight: float = Field(1.0, gt=0, description="share of the training rows and batches")
    limit: int | None = Field(None, ge=1, description="at most N rows from this source")
    path: str | None = Field(None, description="xllora, triplets, nli, scored: the data")
    format: Literal["sib200", "nusax", "semrel", "table"] | None = Field(
        None,
        description="parallel: sib200 (default; SIB-200/FLORES folders) or nusax (NusaX-MT "
        "mt/<split>.csv); scored: semrel (default; the SemRel2024 folder) or table (a file of "
        "sentence1, sentence2, score)",
    )
    root: str = Field(SAMPLE, description="parallel: SIB-200 folder ('sample' = shipped) or NusaX")
    split: str = Field("train", description="parallel, scored: split the pairs come from")
    target_lang: str = Field("eng", description="parallel: language of the positives")
    languages: list[str] | None = Field(
        None, description="parallel, scored: the run languages it covers (default: all of them)"
    )
    arm: str | None = Field(None, description="synthetic: the run's synthetic arm to take from")

    @field_validator("languages")
    @classmethod
    def _canonical(cls, languages: list[str] | None) -> list[str] | None:
        from tripletforge.data.languages import canonical_code

        return None if languages is None else [canonical_code(c) for c in languages]

    @property
    def own_fields(self) -> tuple[str, ...]:
        """The fields a source of this kind has (the others belong to other kinds)."""
        return ("kind", "weight", "limit", *MIX_KIND_FIELDS[self.kind])

    def settings(self) -> dict[str, Any]:
        """The source as hashed into its stages: its kind's fields only."""
        return self.model_dump(mode="json", include=set(self.own_fields))

    @model_validator(mode="after")
    def _kind_fields(self) -> MixSource:
        foreign = sorted(self.model_fields_set - set(self.own_fields))
        if foreign:
            raise ValueError(
                f"{', '.join(foreign)}: not a setting of a `kind: {self.kind}` source; remove "
                f"{'it' if len(foreign) == 1 else 'them'}"
            )
        formats = MIX_KIND_FORMATS.get(self.kind)
        if formats is not None:
            if self.format is None:
                self.format = formats[0]  # type: ignore[assignment]
            elif self.format not in formats:
                raise ValueError(
                    f"format: {self.format!r} is not a format of a `kind: {self.kind}` source; "
                    f"use {' or '.join(formats)}"
                )
        if self.kind in ("xllora", "triplets", "scored") and not self.path:
            what = {
                "xllora": "the XL-LoRA data folder, or `sample`",
                "triplets": "a triplet file or folder",
                "scored": "the SemRel2024 folder (format: semrel) or a sentence1, sentence2, "
                "score file (format: table)",
            }[self.kind]
            raise ValueError(f"a `kind: {self.kind}` source needs `path:` ({what})")
        if self.kind == "scored" and self.format == "semrel" and self.split != "train":
            raise ValueError(
                f"split {self.split!r}: a scored source trains on SemRel2024's `split: train` "
                "only (its dev files are what the merge and the evaluation judge on; test is "
                "held out)"
            )
        if self.kind == "scored" and self.format == "table":
            given = sorted({"split", "languages"} & self.model_fields_set)
            if given:
                raise ValueError(
                    f"{', '.join(given)}: a `format: table` scored source is one file of "
                    "sentence1, sentence2, score; remove them (they belong to `format: semrel`)"
                )
        if self.kind == "nli" and self.path is None:
            self.path = "snli-en"
        if self.kind == "parallel" and self.format == "nusax" and self.root == SAMPLE:
            raise ValueError("a `format: nusax` source needs `root:` (the NusaX folder)")
        if self.kind == "parallel" and self.split in ("test", "devtest"):
            raise ValueError(f"split {self.split!r} is held out for evaluation; use `split: train`")
        return self

    @property
    def label(self) -> str:
        """The source's name in stages and manifests: its kind (``synthetic-<arm>``)."""
        return f"synthetic-{self.arm}" if self.kind == "synthetic" else self.kind


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
    sources: list[MixSource] | None = Field(
        None,
        description="mix: the sources trained on together, e.g. [{kind: xllora, path: DIR, "
        "weight: 2}, {kind: nli}, {kind: parallel, weight: 0.5}]",
    )
    connect: dict[str, Any] = Field(
        default_factory=dict,
        description="connected: overrides of tripletforge.connect.ConnectSettings (encoder "
        "default: the run's `encoder`, seed default: the run's `seed`), sections as mappings",
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
        if self.source != "mix" and self.sources is not None:
            raise ValueError(
                f"`sources:` belongs to a mix arm; an arm with `source: {self.source}` has one "
                "source (remove `sources:` or set `source: mix`)"
            )
        if self.source == "mix":
            self._check_mix()
            return self
        if self.source != "connected" and self.connect:
            raise ValueError(
                f"`connect:` belongs to a connected model; an arm with `source: {self.source}` "
                "has none (remove `connect:` or set `source: connected`)"
            )
        if self.source == "connected":
            given = [f for f in TRIPLET_ARM_FIELDS if f in self.model_fields_set]
            if given:
                raise ValueError(
                    f"{', '.join(given)}: an arm with `source: connected` has no triplets (it "
                    "trains on English only, through `connect:`); remove them"
                )
            check_connect_overrides(self.connect)
        elif self.source == "synthetic":
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

    def _check_mix(self) -> None:
        if not self.sources:
            raise ValueError(
                "an arm with `source: mix` needs `sources:`, a list of {kind, weight, ...} with "
                "kinds xllora, parallel, triplets, synthetic, nli, scored (e.g. `sources: [{kind: "
                "xllora, path: DIR}, {kind: nli}]`)"
            )
        given = [f for f in TRIPLET_ARM_FIELDS if f in self.model_fields_set]
        if given or self.connect:
            raise ValueError(
                f"{', '.join(given) or 'connect'}: a mix arm takes its data from `sources:`; "
                "set them on a source instead (e.g. `{kind: parallel, split: train}`)"
            )
        labels = [s.label for s in self.sources]
        twice = sorted({n for n in labels if labels.count(n) > 1})
        if twice:
            raise ValueError(
                f"sources {twice} are listed twice; give each source once (raise its `weight:`)"
            )


def check_connect_overrides(overrides: dict[str, Any]) -> None:
    """Validate a connected arm's ``connect:`` against ``ConnectSettings`` (``ValueError``
    naming each bad field, e.g. ``connect.align.epochz: unknown field; use one of: …``)."""
    from tripletforge.connect.settings import ConnectSettings

    try:
        ConnectSettings.model_validate(overrides)
    except ValidationError as exc:
        problems = []
        for item in exc.errors():
            parts = [str(p) for p in item["loc"]]
            where = ".".join(["connect", *parts])
            if item["type"] == "extra_forbidden":
                owner: type[BaseModel] = ConnectSettings
                for part in parts[:-1]:
                    field = owner.model_fields.get(part)
                    kind = field.annotation if field is not None else None
                    if isinstance(kind, type) and issubclass(kind, BaseModel):
                        owner = kind
                allowed = ", ".join(owner.model_fields)
                problems.append(f"{where}: unknown field; use one of: {allowed}")
            else:
                msg = item["msg"].removeprefix("Value error, ")
                shown = f" (got {item['input']!r})" if "input" in item and parts else ""
                problems.append(f"{where}: {msg}{shown}")
        raise ValueError("; ".join(problems)) from None


class _AdapterKind(_Strict):
    limit: int | None = Field(None, ge=1, description="a seeded sample of N examples")
    train: dict[str, Any] = Field(
        default_factory=dict, description="overrides of `adapters.train` for this adapter type"
    )

    @field_validator("train")
    @classmethod
    def _known_train_fields(cls, train: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(train) - set(AdapterTrainSettings.model_fields))
        if unknown:
            raise ValueError(
                f"unknown training settings {unknown}; use fields of adapters.train: "
                + ", ".join(AdapterTrainSettings.model_fields)
            )
        return train


class XloraAdapterData(_AdapterKind):
    """XL-LoRA positive/negative adapters: language-agnostic, one pair per generator."""

    pairs: str | None = Field(
        None,
        description="XL-LoRA layout (*_pos.csv sent0,sent1 / *_neg.csv sent0,hard_neg): "
        "'sample' (shipped, MIT) or a folder or CSV; default: the sample unless `triplets:`",
    )
    triplets: str | None = Field(
        None, description="instead of pairs: a triplet file (anchor, positive, negative)"
    )

    @model_validator(mode="after")
    def _one_source(self) -> XloraAdapterData:
        if self.pairs is not None and self.triplets is not None:
            raise ValueError("give either `pairs:` (XL-LoRA layout) or `triplets:`, not both")
        return self


class TaskAdapterData(_AdapterKind):
    """English task adapters (premise → entailment / contradiction) of ``compose``."""

    triplets: str = Field(
        "snli-en", description="English NLI: 'snli-en' (the shipped SNLI pool) or a triplet file"
    )


class LanguageAdapterData(_AdapterKind):
    """Language adapters of ``compose``: one per target language, plus English."""

    corpus: dict[str, str] = Field(
        default_factory=dict,
        description="lang → monolingual text (one sentence per line, or a table with a text "
        "column); default: the language's seed file, and for eng the shipped SIB-200 English "
        "train split (parallel to the shipped seeds)",
    )

    @field_validator("corpus")
    @classmethod
    def _corpus_languages(cls, corpus: dict[str, str]) -> dict[str, str]:
        from tripletforge.data.languages import canonical_code

        return {canonical_code(code): path for code, path in corpus.items()}


class ComposeSettings(_Strict):
    """How composed adapters are built: task + λ·(language − English); λ is set per arm."""

    method: Literal["explicit", "cat", "linear"] = Field(
        "explicit", description="explicit: exact ΔW sum (no base model); peft's cat / linear"
    )


class AdapterStages(_Strict):
    """The adapter stages of arms whose ``compose``/``xlora`` adapters are not given."""

    base: str | None = Field(
        None, description="model the adapters are trained on (default: the arm's generator)"
    )
    lora: LoraSettings = LoraSettings()
    train: AdapterTrainSettings = AdapterTrainSettings(eval_examples=32)
    xlora: XloraAdapterData = XloraAdapterData()
    task: TaskAdapterData = TaskAdapterData()
    language: LanguageAdapterData = LanguageAdapterData()
    compose: ComposeSettings = ComposeSettings()

    def train_for(self, kind: str, seed: int) -> AdapterTrainSettings:
        """The training settings of one adapter type (``seed`` unless set in the config)."""
        own: _AdapterKind = getattr(self, kind)
        data = self.train.model_dump() | own.train
        if "seed" not in self.train.model_fields_set and "seed" not in own.train:
            data["seed"] = seed
        return AdapterTrainSettings.model_validate(data)


class DevSettings(_Strict):
    """The dev data α is chosen on (never a test split)."""

    format: Literal["sib200", "semrel"] = Field("sib200", description="dev data format")
    root: str = Field(SAMPLE, description="sib200: folder ('sample' = shipped); semrel: root")
    split: Literal["dev"] = "dev"


class GuardSettings(DevSettings):
    """A second dev set that vetoes a merge's α but never enters the mean α maximises."""

    tolerance: float = Field(
        1.0, ge=0, allow_inf_nan=False, description="points a language may lose on this set"
    )

    @field_validator("tolerance", mode="before")
    @classmethod
    def _one_number(cls, value: Any) -> Any:
        if isinstance(value, dict | list):
            raise ValueError(
                "a guard's tolerance is one number of points for every language it judges "
                "(per-language tolerances belong to merge.tolerance); e.g. `tolerance: 0.5`"
            )
        return value


class MergeSettings(_Strict):
    """WiSE-FT merge with the base encoder, α searched on dev data only, every language guarded.

    ``tolerance`` is one number for every judged language or a mapping
    ``{lang: points, "*": default}`` (a language not listed gets ``"*"``, else 0).
    """

    enabled: bool = True
    grid: list[float] = Field(default_factory=lambda: [0.0, 0.25, 0.5, 0.75, 1.0], min_length=1)
    no_regression: bool = True
    tolerance: float | dict[str, float] = Field(
        0.0,
        description="no-regression slack: allowed dev drop per language (points); a number for "
        "every language or {lang: points, '*': default}",
    )
    judge: Literal["all", "own"] = Field(
        "all",
        description="languages whose dev scores choose α: all = every language of the run and "
        "English (where the dev data has it); own = the trained language only",
    )
    soup: bool = Field(
        False,
        description="merge a per-language soup of the kept checkpoints (each judged language's "
        "best) with the base instead of the final model; training keeps its checkpoints",
    )
    dev: DevSettings = DevSettings()
    guard: GuardSettings | None = Field(
        None,
        description="a second dev set judged at every α that only vetoes: an α where a language "
        "loses more than `guard.tolerance` points on it is not taken, e.g. {format: sib200, "
        "root: DIR, tolerance: 1} keeps SIB-200 dev retrieval while α is chosen on SemRel STS; "
        "languages without data in it are not guarded by it",
    )

    @model_validator(mode="after")
    def _guard_needs_the_search(self) -> MergeSettings:
        if self.guard is None:
            return self
        if not self.enabled:
            raise ValueError(
                "guard: a guard vets the α search of a merge, and `enabled: false` has none; "
                "remove `guard:` or enable the merge"
            )
        if not self.no_regression:
            raise ValueError(
                "guard: a guard vetoes α like the no-regression check does, which "
                "`no_regression: false` turns off; set `no_regression: true` or remove `guard:`"
            )
        return self

    @field_validator("grid")
    @classmethod
    def _grid_range(cls, grid: list[float]) -> list[float]:
        bad = [a for a in grid if not 0.0 <= a <= 1.0]
        if bad:
            raise ValueError(f"α values {bad} are outside [0, 1]; use weights between 0 and 1")
        return grid

    @field_validator("tolerance", mode="before")
    @classmethod
    def _tolerance(cls, value: Any) -> Any:
        """A number ≥ 0, or ``{lang: points}`` with ISO codes (any spelling) and ``"*"``."""
        from tripletforge.merge.search import check_tolerance

        return check_tolerance(value)


MainTask = Literal[
    "auto",
    "sts",
    "retrieval",
    "bitext",
    "reranking",
    "classification",
    "clustering",
    "pair_classification",
]


class EvaluateFallback(_Strict):
    """The evaluation used when no data root is given (e.g. the shipped sample)."""

    suite: str = Field(description="built-in suite name or YAML path")
    datasets: list[str] = Field(description="glob patterns of data-set names; {lang}")
    main_task: MainTask = "auto"


class EvaluateSettings(_Strict):
    """Which suite and data sets each language is evaluated on."""

    suite: str = Field("builtin", description="built-in suite name or YAML path")
    datasets: list[str] = Field(
        default_factory=lambda: ["sib200-{lang}-*"],
        description="glob patterns of data-set names; {lang} is the language",
    )
    main_task: MainTask = Field(
        "auto",
        description="task type whose MTEB main score is the run's main metric; auto = the "
        "first present of sts, retrieval, bitext, reranking, classification, "
        "pair_classification, clustering",
    )
    batch_size: int = Field(32, ge=1)
    limit: int | None = Field(None, ge=1)
    fallback: EvaluateFallback | None = Field(
        None,
        description="suite, data sets and main task used instead when no data root is given "
        "(no `data_root:`, --data-root or $TRIPLETFORGE_DATA_ROOT)",
    )


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
    sizes: list[int] = Field(
        default_factory=list,
        description="training-set sizes (triplets); required unless every arm is connected",
    )
    encoder: str = "e5-small"
    arms: list[ArmConfig] = Field(min_length=1)
    generate: GenerateSettings = GenerateSettings()
    filter: FilterConfig = FilterConfig()
    leakage_check: bool = True
    mine: MineConfig = MineConfig()
    train: TrainSettings = TrainSettings()
    merge: MergeSettings = MergeSettings()
    evaluate: EvaluateSettings = EvaluateSettings()
    adapters: AdapterStages = AdapterStages()
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

    @model_validator(mode="before")
    @classmethod
    def _lambda_arms(cls, data: Any) -> Any:
        """An arm whose ``strategy_options.lambda`` is a list becomes one arm per λ."""
        if isinstance(data, dict) and isinstance(data.get("arms"), list):
            arms = data["arms"]
            data = {
                **data,
                "arms": [a for i, arm in enumerate(arms) for a in expand_lambdas(arm, i)],
            }
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
    def _data_root(self) -> PipelineConfig:
        """``data_root``: the config or --data-root, else $TRIPLETFORGE_DATA_ROOT; without one,
        ``evaluate.fallback`` (when given) replaces the suite, data sets and main task."""
        from tripletforge.evaluate.suite import DATA_ROOT_ENV

        if self.data_root is None and os.environ.get(DATA_ROOT_ENV):
            self.data_root = os.environ[DATA_ROOT_ENV]
        fallback = self.evaluate.fallback
        if fallback is not None:
            chosen = {} if self.data_root is not None else fallback.model_dump()
            self.evaluate = self.evaluate.model_copy(update={**chosen, "fallback": None})
        if self.data_root is None and (fields := _uses_data_root(self.model_dump(mode="json"))):
            raise ValueError(
                f"{', '.join(fields)}: use{'s' if len(fields) == 1 else ''} {{data_root}} but no "
                "data root is set; add `data_root: DIR`, pass --data-root DIR or set "
                f"${DATA_ROOT_ENV}"
            )
        return self

    @model_validator(mode="after")
    def _cross_checks(self) -> PipelineConfig:
        """Checks across fields; every problem found is reported at once, one line each,
        starting with the field to fix."""
        problems: list[str] = []
        names = [a.name for a in self.arms]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            problems.append(f"arms: names {dupes} appear twice; give each arm a unique `name:`")
        if "base" in names:
            problems.append("arms: the name 'base' is reserved for the baseline; rename that arm")
        extra = sorted(set(self.seed_files) - set(self.languages))
        if extra:
            problems.append(f"seed_files: given for {extra}, which are not in `languages:`")
        trained = [a.name for a in self.trained_arms]
        if trained and not self.sizes:
            problems.append(
                f"sizes: arms {trained} train a model per data size; add `sizes: ...` "
                "(e.g. `sizes: [1000, 2000]`)"
            )
        per_language = [a for a in self.trained_arms if a.source != "mix"]  # a mix splits sizes
        if per_language and self.sizes and self.anchors < max(self.sizes):
            problems.append(
                f"anchors: {self.anchors} < the largest size ({max(self.sizes)}); raise "
                "`anchors:` so that enough triplets can be made for every size"
            )
        for index, arm in enumerate(self.arms):
            try:
                if arm.source == "synthetic":
                    self._check_generation(index, arm)
                elif arm.source == "mix":
                    self._check_mix_sources(index, arm)
            except ValueError as exc:
                problems.append(str(exc))
        if "strategy" in self.generate.model_fields_set:
            problems.append(
                "generate.strategy: the strategy is chosen per arm; set `strategy:` on each arm"
            )
        if self.sizes and min(self.sizes) < self.train.batch_size:
            problems.append(
                f"sizes: the smallest size ({min(self.sizes)}) is below one batch "
                f"(train.batch_size = {self.train.batch_size}); lower train.batch_size or "
                "raise the size"
            )
        tolerance = self.merge.tolerance  # its keys name languages the merge judges
        if isinstance(tolerance, dict):
            judged = set(self.languages) | {"eng"}
            extra = sorted(k for k in tolerance if k != "*" and k not in judged)
            if extra:
                problems.append(
                    f"merge.tolerance: {extra} are not languages of this run "
                    f"({', '.join(self.languages)}) or eng; remove them or add them to "
                    "`languages:`"
                )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _check_mix_sources(self, index: int, arm: ArmConfig) -> None:
        """A mix arm's ``synthetic`` sources name a synthetic arm of this run (the only one,
        when ``arm:`` is left out); a mix arm's merge needs dev data for every language."""
        synthetic = [a.name for a in self.arms if a.source == "synthetic"]
        for position, source in enumerate(arm.sources or []):
            where = f"{arm_label(index, arm.name)}.sources[{position}]"
            extra = sorted(set(source.languages or []) - set(self.languages))
            if extra:
                raise ValueError(
                    f"{where}.languages: {extra} are not in the run's `languages:`; list only "
                    "run languages"
                )
            if source.kind != "synthetic":
                continue
            if not synthetic:
                raise ValueError(
                    f"{where}: `kind: synthetic` takes the triplets of a synthetic arm, and this "
                    "run generates none; add a synthetic arm (e.g. `{name: icl, generate: {mode: "
                    "crosslingual}}`) or remove the source"
                )
            if source.arm is None:
                if len(synthetic) > 1:
                    raise ValueError(
                        f"{where}: the run has several synthetic arms {synthetic}; name one "
                        "with `arm:`"
                    )
                source.arm = synthetic[0]
            elif source.arm not in synthetic:
                raise ValueError(
                    f"{where}: arm {source.arm!r} is not a synthetic arm of this run; use one "
                    f"of {synthetic}"
                )

    def _check_generation(self, index: int, arm: ArmConfig) -> None:
        """The arm's strategy against its effective settings (facts from the registry)."""
        from tripletforge.generate.strategies import strategy_class

        where = arm_label(index, arm.name)
        cls = strategy_class(str(arm.strategy))
        mode = arm.generate.get("mode", self.generate.mode)
        if cls.required_mode is not None and mode != cls.required_mode:
            raise ValueError(
                f"{where}: strategy {arm.strategy!r} writes "
                f"{'English ' if cls.required_mode == 'crosslingual' else ''}positives; add "
                f"`generate: {{mode: {cls.required_mode}}}` to this arm"
            )
        try:
            cls.check_options(self.options_for(arm))
        except ValueError as exc:
            raise ValueError(
                f"{where}: {exc}; add them under this arm's `strategy_options:` "
                "(see docs/adapters.md)"
            ) from None
        for task in self.arm_tasks(arm):
            try:
                self.generate_for(arm, task=task)
            except ValidationError as exc:
                problems = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
                fix = "its `tasks:`" if task else "this arm's `generate:` settings"
                raise ValueError(f"{where}: {problems}; fix {fix}") from None

    # --- derived settings -------------------------------------------------------------

    def arm(self, name: str) -> ArmConfig:
        return next(a for a in self.arms if a.name == name)

    @property
    def trained_arms(self) -> list[ArmConfig]:
        """The arms that train the run's encoder on triplets (every source but connected)."""
        return [a for a in self.arms if a.source != "connected"]

    def arm_label(self, arm: ArmConfig) -> str:
        """How errors name ``arm``: ``arms[2=compose]``."""
        return arm_label(self.arms.index(arm), arm.name)

    def connect_settings(self, arm: ArmConfig) -> Any:
        """A connected arm's ``ConnectSettings``: the arm's ``connect:`` over the run's
        ``encoder`` and ``seed`` and the connect defaults (a section's fields given there
        replace only those fields); ``{data_root}`` in data paths resolved.

        Raises:
            ConfigError: a data path uses ``{data_root}`` but none is set.
        """
        from tripletforge.connect.settings import ConnectSettings

        data: dict[str, Any] = {"encoder": self.encoder, "seed": self.seed, **arm.connect}
        for section in ("align", "finetune"):
            own = dict(data.get(section) or {})
            if own.get("data"):
                own["data"] = [self.resolve(str(p)) for p in own["data"]]
            if own:
                data[section] = own
        return ConnectSettings.model_validate(data)

    def options_for(self, arm: ArmConfig, adapters: dict[str, str] | None = None) -> dict:
        """The arm's strategy options, with the adapters its adapter stages make.

        ``adapters`` maps an option (``positive_adapter``, ``negative_adapter``) to the folder
        a stage wrote; before the stages ran, a placeholder stands in for it.
        """
        planned = planned_options(arm)
        given = {k: (adapters or {}).get(k, f"<made by the pipeline: {k}>") for k in planned}
        return {**arm.strategy_options, **given}

    def adapter_base(self, arm: ArmConfig) -> str:
        """The model an arm's adapters are trained on: ``adapters.base``, else its generator."""
        return self.adapters.base or str(arm.generate.get("model", self.generate.model))

    def generate_for(
        self,
        arm: ArmConfig,
        adapters: dict[str, str] | None = None,
        task: str | None = None,
    ) -> GenerateSettings:
        """The arm's generation settings: the shared section, its overrides, its strategy
        (with the adapters its stages made), and ``task`` (one of the arm's ``tasks:``)."""
        own: dict[str, Any] = {
            "strategy": arm.strategy,
            "strategy_options": self.options_for(arm, adapters),
        }
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


#: The options of the adapter strategies that name one adapter per polarity.
POLARITY_ADAPTERS = ("positive_adapter", "negative_adapter")
#: The parts a composed adapter is made of (compose strategy options).
COMPOSE_PARTS = ("task_positive", "task_negative", "lang_english", "lang_target")


def planned_options(arm: ArmConfig) -> list[str]:
    """The strategy options of ``arm`` that the pipeline's adapter stages fill.

    ``xlora``: each of ``positive_adapter``/``negative_adapter`` not given (XL-LoRA adapter
    stages). ``compose`` without composed adapters: both (the compose stage writes them from
    the parts, each part given in the options or made by a task/language adapter stage).
    Other strategies and non-synthetic arms: none.
    """
    if arm.source != "synthetic":
        return []
    options = arm.strategy_options
    if arm.strategy == "xlora":
        return [k for k in POLARITY_ADAPTERS if not options.get(k)]
    if arm.strategy == "compose" and not any(options.get(k) for k in POLARITY_ADAPTERS):
        return list(POLARITY_ADAPTERS)
    return []


def _lambda_name(name: str, lam: float) -> str:
    return f"{name}-lambda{lam:g}"


def index_label(index: int, name: Any = None) -> str:
    """How errors name an item of a list: ``[2=compose]`` (its position and its ``name:``),
    ``[2]`` when it has no name."""
    return f"[{index}={name}]" if name else f"[{index}]"


def arm_label(index: int, name: Any) -> str:
    """How errors name an arm: ``arms[2=compose]`` (its position in ``arms:`` and its name)."""
    return f"arms{index_label(index, name)}"


def expand_lambdas(arm: Any, index: int = 0) -> list[Any]:
    """``strategy_options: {lambda: [0.5, 1]}`` → one arm per λ, named ``NAME-lambda0.5``, …

    A single value keeps the arm's name. Anything that is not such an arm is returned as is.
    """
    if not isinstance(arm, dict) or not isinstance(arm.get("strategy_options"), dict):
        return [arm]
    values = arm["strategy_options"].get("lambda")
    if not isinstance(values, list):
        return [arm]
    if not values or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    ):
        raise ValueError(
            f"{arm_label(index, arm.get('name'))}.strategy_options.lambda: {values!r} is not a "
            "number or a list of numbers; write e.g. `lambda: [0.5, 1.0]`"
        )
    if len(set(values)) != len(values):
        raise ValueError(
            f"{arm_label(index, arm.get('name'))}.strategy_options.lambda: {values} repeats a λ"
        )
    if len(values) == 1:
        return [{**arm, "strategy_options": {**arm["strategy_options"], "lambda": values[0]}}]
    name = str(arm.get("name", "compose"))
    return [
        {
            **arm,
            "name": _lambda_name(name, float(v)),
            "strategy": arm.get("strategy") or name,
            "strategy_options": {**arm["strategy_options"], "lambda": v},
        }
        for v in values
    ]


def config_hash(data: Any) -> str:
    """SHA-256 (first 16 hex digits) of canonical JSON."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _loc(parts: tuple[Any, ...], data: Any) -> str:
    out = ""
    node = data
    for part in parts:
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and part < len(node) else None
            out += index_label(part, item.get("name") if isinstance(item, dict) else None)
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
        "sources": MixSource,
        "generate": GenerateSettings,
        "filter": FilterConfig,
        "mine": MineConfig,
        "train": TrainSettings,
        "merge": MergeSettings,
        "dev": DevSettings,
        "guard": GuardSettings,
        "evaluate": EvaluateSettings,
        "fallback": EvaluateFallback,
        "adapters": AdapterStages,
        "lora": LoraSettings,
        "xlora": XloraAdapterData,
        "task": TaskAdapterData,
        "language": LanguageAdapterData,
        "compose": ComposeSettings,
    }
    owner: type[BaseModel] = PipelineConfig
    for part in parts[:-1]:
        if owner is AdapterStages and part == "train":
            owner = AdapterTrainSettings
        elif isinstance(part, str) and part in owners:
            owner = owners[part]
    return owner


_FIELD = r"[A-Za-z_][\w.]*(\[[^\]]*\][\w.]*)*"
#: A message that starts with the field(s) it is about (``a.b[0=x].c: ``, ``a, b.c: ``).
_LOCATED = re.compile(rf"^{_FIELD}(, {_FIELD})*: ")


#: pydantic error types of a value outside its allowed range or length.
_BOUNDS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal", "too_short",
           "too_long", "string_pattern_mismatch", "finite_number")  # fmt: skip


def format_config_error(error: ValidationError, source: str, data: Any = None) -> str:
    """One line per problem: ``source: field: what is wrong; the fix``."""
    lines = [f"invalid pipeline config {source}:"]
    for item in error.errors():
        loc = _loc(tuple(item["loc"]), data)
        msg = item["msg"].removeprefix("Value error, ")
        if "\n" in msg or (loc == "<top>" and _LOCATED.match(msg)):
            for part in msg.splitlines():  # several problems, each naming its field
                at_top = loc == "<top>" and _LOCATED.match(part)
                lines.append(f"  {part}" if at_top else f"  {loc}: {part}")
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
        elif item["type"] in _BOUNDS:
            msg = f"{msg} (got {item.get('input')!r}); change the value"
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
