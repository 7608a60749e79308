"""Evaluation suites: a small YAML file naming data sets, validated with pydantic.

Example::

    name: dev
    data_root: ../shared/data          # optional; --data-root overrides it
    datasets:
      - {name: semrel-hau-dev, task: sts, format: semrel,
         path: "{data_root}/semrel2024/Track_A/hau/hau_dev_with_labels.csv", lang: hau}
      - {name: tatoeba-afr, task: bitext, format: tatoeba, lang: afr,
         root: "{data_root}/tatoeba_laser"}
      - {name: sib200-hau-eng, task: retrieval, format: flores, root: "{data_root}/sib200",
         source_lang: hau, split: dev}

Paths: ``{data_root}`` is replaced by ``--data-root``, else the suite's ``data_root`` (relative to
the suite file), else ``$TRIPLETFORGE_DATA_ROOT``; with none of them a path that uses it raises
:class:`SuiteError` naming the fix (the library assumes no folder layout). Other relative paths
are resolved against ``--data-root`` when it is given, else against the suite file's folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from tripletforge.yaml_source import builtin_names, read_yaml_source

Task = Literal[
    "sts",
    "bitext",
    "retrieval",
    "reranking",
    "classification",
    "clustering",
    "pair_classification",
]
#: Environment variable that sets the data root when neither --data-root nor the suite does.
DATA_ROOT_ENV = "TRIPLETFORGE_DATA_ROOT"

PAIR_FORMATS = ("semrel", "stsb_multi_mt", "sts17", "korsts", "table")
BITEXT_FORMATS = ("tatoeba", "flores", "sib200", "nusax", "table")
LABEL_FORMATS = ("sib200_topics", "afrisenti", "nusax_senti", "table")
NLI_FORMATS = ("americasnli", "xnli", "kornli", "table")
TASK_FORMATS: dict[str, tuple[str, ...]] = {
    "sts": PAIR_FORMATS,
    "bitext": BITEXT_FORMATS,
    "retrieval": (*BITEXT_FORMATS, "beir"),
    "reranking": ("beir",),
    "classification": LABEL_FORMATS,
    "clustering": LABEL_FORMATS,
    "pair_classification": NLI_FORMATS,
}
#: Suite fields each reader format takes (``path`` is passed as ``input_path`` to sts17).
FORMAT_FIELDS: dict[str, tuple[str, ...]] = {
    "semrel": ("path", "lang"),
    "stsb_multi_mt": ("path", "lang"),
    "sts17": ("path", "gold_path", "lang"),
    "korsts": ("path",),
    "table": ("path", "train_path", "contract", "columns", "lang", "target_lang", "split"),
    "tatoeba": ("root", "lang"),
    "flores": ("root", "source_lang", "target_lang", "split"),
    "sib200": ("root", "source_lang", "target_lang", "split"),
    "nusax": ("root", "source_lang", "target_lang", "split"),
    "sib200_topics": ("root", "lang", "split", "train_split"),
    "afrisenti": ("root", "lang", "split", "train_split"),
    "nusax_senti": ("root", "lang", "split", "train_split"),
    "americasnli": ("root", "lang", "split"),
    "xnli": ("root", "lang", "split"),
    "kornli": ("root", "split"),
    "beir": ("root", "split", "lang"),
}
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "tatoeba": ("root", "lang"),
    "flores": ("root", "source_lang"),
    "sib200": ("root", "source_lang"),
    "nusax": ("root", "source_lang"),
    "sib200_topics": ("root", "lang"),
    "afrisenti": ("root", "lang"),
    "nusax_senti": ("root", "lang"),
    "americasnli": ("root", "lang"),
    "xnli": ("root", "lang"),
    "kornli": ("root",),
    "beir": ("root",),
}
READER_FIELDS = ("path", "train_path", "root", "gold_path", "lang", "source_lang", "target_lang")
READER_FIELDS += ("split", "train_split", "contract", "columns")
#: The ``table`` reader's contract for each task.
TABLE_CONTRACTS = {
    "sts": "pairs",
    "bitext": "bitext",
    "retrieval": "bitext",
    "classification": "labels",
    "clustering": "labels",
    "pair_classification": "labelled_pairs",
}
#: Cut-offs mteb reports retrieval metrics at (``retrieval_k`` must be one of them).
RETRIEVAL_KS = (1, 3, 5, 10, 20, 100, 1000)
PATH_FIELDS = ("path", "train_path", "root", "gold_path")


class SuiteError(ValueError):
    """A suite file that cannot be loaded; the message names the bad field and the fix."""


class DatasetSpec(BaseModel):
    """One data set of a suite: which reader reads it and which task evaluates it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    task: Task
    format: str
    path: str | None = None
    train_path: str | None = None
    root: str | None = None
    gold_path: str | None = None
    lang: str | None = None
    source_lang: str | None = None
    target_lang: str | None = None
    split: str | None = None
    train_split: str | None = None
    contract: str | None = None  # table: the data contract (follows from the task)
    columns: dict[str, str] | None = None
    limit: int | None = Field(
        default=None, gt=0, description="keep the first N pairs / texts / queries"
    )
    query_side: Literal["source", "target"] = "source"
    main_score: str | None = Field(None, description="override MTEB's main score of the task")
    n_experiments: int | None = Field(None, ge=1, description="classification runs (mteb: 10)")
    samples_per_label: int | None = Field(
        None, ge=1, description="training texts per label and run (mteb: 8)"
    )
    mteb_task: str | None = Field(None, description="task name in the MTEB result files")
    hf_subset: str | None = Field(None, description="subset name in the MTEB result files")

    @model_validator(mode="after")
    def _check_format(self) -> DatasetSpec:
        allowed = TASK_FORMATS[self.task]
        if self.format not in FORMAT_FIELDS:
            raise ValueError(
                f"format {self.format!r} is unknown; use one of {', '.join(FORMAT_FIELDS)}"
            )
        if self.format not in allowed:
            raise ValueError(
                f"format {self.format!r} cannot feed task {self.task!r}; "
                f"for {self.task} use one of {', '.join(allowed)}"
            )
        takes = FORMAT_FIELDS[self.format]
        if self.format == "table":
            drop = {"target_lang"} if self.task not in ("bitext", "retrieval") else set()
            if self.task != "classification":
                drop.add("train_path")
            if self.table_contract != "labels":
                drop.add("split")
            takes = tuple(f for f in takes if f not in drop)
        if self.task == "clustering":
            takes = tuple(f for f in takes if f != "train_split")
        for field in READER_FIELDS:
            if getattr(self, field) is not None and field not in takes:
                raise ValueError(
                    f"field {field!r} is not used by format {self.format!r}; "
                    f"that format takes {', '.join(takes)}"
                )
        if self.contract is not None and self.contract != self.table_contract:
            raise ValueError(
                f"contract {self.contract!r} does not fit task {self.task!r}; "
                f"use {self.table_contract!r}"
            )
        required = REQUIRED_FIELDS.get(self.format, ("path",))
        if self.format == "table" and self.task == "classification":
            required = ("path", "train_path")
        for field in required:
            if getattr(self, field) is None:
                raise ValueError(f"format {self.format!r} needs {field!r}; add `{field}: ...`")
        for field in ("n_experiments", "samples_per_label"):
            if getattr(self, field) is not None and self.task != "classification":
                raise ValueError(f"field {field!r} only applies to task 'classification'")
        if self.query_side != "source" and (self.task != "retrieval" or self.format == "beir"):
            raise ValueError("query_side only applies to retrieval on parallel text")
        if self.split is not None and self.split == self.train_split:
            raise ValueError(
                f"split and train_split are both {self.split!r}; evaluate on another split"
            )
        return self

    @property
    def table_contract(self) -> str:
        """The data contract a ``table`` reader gives for this task (:data:`TABLE_CONTRACTS`)."""
        return TABLE_CONTRACTS.get(self.task, "bitext")

    @property
    def language(self) -> str:
        """The data set's (non-English side) language for tables, or ``"?"``."""
        return self.lang or self.source_lang or "?"

    def reader_kwargs(self, resolve: Any) -> dict[str, Any]:
        """Keyword arguments for :func:`tripletforge.data.readers.read_dataset` (paths resolved)."""
        kwargs: dict[str, Any] = {}
        for field in FORMAT_FIELDS[self.format]:
            value = getattr(self, field)
            if value is None or field == "train_path":
                continue
            if field in PATH_FIELDS:
                value = resolve(value)
            kwargs["input_path" if (self.format, field) == ("sts17", "path") else field] = value
        if self.format == "table":
            kwargs["contract"] = self.table_contract
        elif self.task == "clustering":
            kwargs["train_split"] = None
        if self.format == "beir":
            kwargs["reranking"] = self.task == "reranking"
        return kwargs


class GeometryConfig(BaseModel):
    """Which pairs are positives for alignment, and the uniformity sample size."""

    model_config = ConfigDict(extra="forbid")

    positive_threshold: float = Field(default=0.8, ge=0.0, le=1.0)
    positive_quantile: float | None = Field(default=None, gt=0.0, lt=1.0)
    max_samples: int = Field(default=2000, ge=2)


class Suite(BaseModel):
    """A named list of data sets plus evaluation settings."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    description: str = ""
    data_root: str | None = None
    datasets: list[DatasetSpec] = Field(min_length=1)
    geometry: GeometryConfig = GeometryConfig()
    bitext_k: int = Field(default=4, ge=1, description="neighbours of the margin criterion")
    retrieval_k: int = Field(default=10, description="retrieval main score nDCG@k (mteb: 10)")
    seed: int = Field(default=42, description="seed of mteb's sampling (mteb default 42)")
    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _source: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _unique_names(self) -> Suite:
        if self.retrieval_k not in RETRIEVAL_KS:
            raise ValueError(
                f"retrieval_k {self.retrieval_k} is not a cut-off mteb reports; use one of "
                f"{', '.join(map(str, RETRIEVAL_KS))}"
            )
        seen: set[str] = set()
        for spec in self.datasets:
            if spec.name in seen:
                raise ValueError(f"data set name {spec.name!r} appears twice; names must be unique")
            seen.add(spec.name)
        return self

    @property
    def base_dir(self) -> Path:
        return self._base_dir

    @property
    def source(self) -> str | None:
        """The file or built-in name the suite was loaded from."""
        return self._source

    def data_root_path(self, data_root: str | Path | None = None) -> Path | None:
        """The folder that ``{data_root}`` stands for (see the module docstring); None: unset."""
        if data_root is not None:
            return Path(data_root).expanduser().resolve()
        if self.data_root is not None:
            return (self._base_dir / Path(self.data_root).expanduser()).resolve()
        if os.environ.get(DATA_ROOT_ENV):
            return Path(os.environ[DATA_ROOT_ENV]).expanduser().resolve()
        return None

    def resolve_path(self, value: str, data_root: str | Path | None = None) -> Path:
        """Turn a path from the suite into an absolute one."""
        text = value
        if "{data_root}" in value:
            root = self.data_root_path(data_root)
            if root is None:
                raise SuiteError(
                    f"suite {self.name!r} uses {{data_root}} in {value!r} but no data root is "
                    f"set; pass --data-root DIR (data_root: in a pipeline config) or set "
                    f"${DATA_ROOT_ENV}"
                )
            text = value.replace("{data_root}", str(root))
        path = Path(text).expanduser()
        if path.is_absolute():
            return path
        base = Path(data_root).expanduser() if data_root is not None else self._base_dir
        return (base / path).resolve()

    def select(self, patterns: list[str] | None) -> list[DatasetSpec]:
        """Data sets whose name matches any glob pattern (all when ``patterns`` is empty)."""
        from fnmatch import fnmatchcase

        if not patterns:
            return list(self.datasets)
        chosen = [d for d in self.datasets if any(fnmatchcase(d.name, p) for p in patterns)]
        if not chosen:
            names = ", ".join(d.name for d in self.datasets)
            raise SuiteError(f"no data set matches {patterns}; suite {self.name!r} has: {names}")
        return chosen


def format_validation_error(error: ValidationError, source: str) -> str:
    """One line per problem: ``source: datasets[1].task: message (fix)``."""
    lines = [f"invalid suite {source}:"]
    for item in error.errors():
        loc = ""
        for part in item["loc"]:
            loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
        msg = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            owner = DatasetSpec if "datasets" in item["loc"] else Suite
            if "geometry" in item["loc"]:
                owner = GeometryConfig
            msg = f"unknown field; allowed fields are {', '.join(owner.model_fields)}"
        elif item["type"] == "missing":
            msg = f"required field is missing; add `{item['loc'][-1]}: ...`"
        lines.append(f"  {loc or '<top>'}: {msg}")
    return "\n".join(lines)


def builtin_suites() -> list[str]:
    """Names of the suites shipped in ``tripletforge/resources/suites``."""
    return builtin_names("suites")


def parse_suite(data: Any, source: str = "<suite>", base_dir: Path | None = None) -> Suite:
    """Validate a mapping as a :class:`Suite` (raises :class:`SuiteError`)."""
    if not isinstance(data, dict):
        raise SuiteError(f"invalid suite {source}: expected a mapping with `name` and `datasets`")
    try:
        suite = Suite.model_validate(data)
    except ValidationError as exc:
        raise SuiteError(format_validation_error(exc, source)) from None
    suite._base_dir = (base_dir or Path.cwd()).resolve()
    suite._source = source
    return suite


def load_suite(source: str | Path) -> Suite:
    """Load a suite from a YAML file or by built-in name (e.g. ``shared-dev``).

    A suite's relative ``data_root`` starts from the folder of its file (for a built-in suite,
    the packaged suites folder).
    """
    try:
        found = read_yaml_source(source, "suites", "suite")
    except ValueError as exc:
        raise SuiteError(str(exc)) from None
    return parse_suite(found.data, found.label, found.base_dir)
