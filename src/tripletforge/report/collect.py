"""Read a run folder's manifests into the numbers the report shows (each with its manifest)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from tripletforge.pipeline.config import ALL_LANGUAGES
from tripletforge.pipeline.manifest import MANIFEST


@dataclass
class Score:
    """One evaluated model of one unit: main metric ×100 and geometry."""

    lang: str
    arm: str
    size: int | None
    model: str  # base | trained | merged | target | encoder | connected (connected arms)
    main: float | None
    main_task: str
    alignment: float | None
    uniformity: float | None
    datasets: dict[str, float]
    manifest: str  # path relative to the run folder
    tasks: dict[str, float] = field(default_factory=dict)  # task type → mean main score ×100


@dataclass
class Funnel:
    """Rows through one (language, arm): source counts, then each filter step."""

    lang: str
    arm: str
    source_stage: str
    anchors: int | None
    generated: int | None
    steps: list[dict[str, Any]]
    kept: int
    manifest: str
    source_manifest: str | None
    task: str | None = None  # the generation task, for arms with `tasks:`

    @property
    def label(self) -> str:
        """``arm`` or ``arm/task``."""
        return self.arm if self.task is None else f"{self.arm}/{self.task}"


@dataclass
class TradeoffPoint:
    """One α of a merge search: the mean dev score and the worst language's Δ vs the base."""

    alpha: float
    mean: float
    worst_delta: float  # points; ≤ 0 when some language loses
    worst_lang: str


@dataclass
class Merge:
    """One merge stage: the chosen α, every α's dev scores, and who pays for the guard."""

    lang: str
    arm: str
    size: int
    alpha: float
    dev_metric: str
    dev_scores: dict[str, dict[str, float]]
    manifest: str
    best_mean_alpha: float | None = None
    payers_alpha: float | None = None
    payers: dict[str, float] = field(default_factory=dict)  # lang → points lost
    serves_all: bool = True
    verdict: str | None = None
    tolerance: dict[str, float] = field(default_factory=dict)
    soup: dict[str, Any] | None = None  # merge.soup: the checkpoint selection
    guard: dict[str, Any] | None = None  # merge.guard: its format, tolerance, scores by α

    def curve(self) -> list[TradeoffPoint]:
        """The trade-off curve over the α grid: mean and worst Δ over the languages defined at
        every α (the ones the search judged; runs made before recorded one language)."""
        return tradeoff_curve(self.dev_scores)

    @property
    def soup_last(self) -> TradeoffPoint | None:
        """The trained model's last checkpoint (soup runs) on the same axes."""
        last = (self.soup or {}).get("dev_last")
        if not last:
            return None
        return tradeoff_point(self.dev_scores.get("0.0") or {}, last, float("nan"))


def tradeoff_point(
    base: dict[str, float | None], scores: dict[str, float | None], alpha: float,
    langs: list[str] | None = None,
) -> TradeoffPoint | None:  # fmt: skip
    """Mean of ``scores`` and its worst Δ vs ``base`` over ``langs`` (default: both defined)."""
    langs = langs or [k for k in base if base.get(k) is not None and scores.get(k) is not None]
    if not langs:
        return None
    deltas = {k: float(scores[k]) - float(base[k]) for k in langs}  # type: ignore[arg-type]
    worst = min(deltas, key=lambda k: (deltas[k], k))
    mean = sum(float(scores[k]) for k in langs) / len(langs)  # type: ignore[arg-type]
    return TradeoffPoint(alpha, mean, deltas[worst], worst)


def tradeoff_curve(dev_scores: dict[str, dict[str, float | None]]) -> list[TradeoffPoint]:
    """:func:`tradeoff_point` of each α, over the languages defined at every α."""
    base = dev_scores.get("0.0") or {}
    langs = [k for k in base if all((per or {}).get(k) is not None for per in dev_scores.values())]
    points = [tradeoff_point(base, per or {}, float(a), langs) for a, per in dev_scores.items()]
    return sorted((p for p in points if p is not None), key=lambda p: p.alpha)


@dataclass
class AdapterTraining:
    """One generator adapter trained by an ``adapter`` stage."""

    unit: str  # adapters/<generator>/<kind>-<which>
    kind: str  # xlora | task | language
    which: str  # positive | negative | a language code
    base: str
    examples: int | None
    steps: int | None
    loss_first: float | None
    loss_last: float | None
    eval_before: float | None
    eval_after: float | None
    seconds: float | None
    folder: Path  # the PEFT folder (train_log.csv inside)
    manifest: str

    @property
    def label(self) -> str:
        return self.unit.rsplit("/", 1)[-1]


@dataclass
class ArmAdapters:
    """Which adapters one (language, arm) generated with (from its generate stage's inputs)."""

    lang: str
    arm: str
    recipe: str  # e.g. "XL-LoRA", "task + 1·(hau − eng)", "given"
    positive: str | None  # an adapter stage's unit, the compose stage's, or a folder
    negative: str | None
    manifest: str  # the generate manifest
    compose_manifest: str | None = None
    sources: dict[str, str | None] = field(default_factory=dict)  # pass → its manifest


#: A connected arm's evaluated models, in report order, and how the report names them.
CONNECTED_MODELS = {"target": "target alone", "encoder": "encoder alone", "connected": "connected"}


@dataclass
class Connect:
    """One connected arm's training (its ``connect`` stage): English only, for every language."""

    arm: str
    encoder: str
    target: str
    align_steps: int | None
    finetune_steps: int | None
    english: dict[str, dict[str, Any]]  # align/finetune → kept, refused, reasons, files
    seconds: float | None
    manifest: str


@dataclass
class RunData:
    """Everything the report needs from one run folder."""

    run_dir: Path
    name: str
    config: dict[str, Any]
    scores: list[Score] = field(default_factory=list)
    funnels: list[Funnel] = field(default_factory=list)
    merges: list[Merge] = field(default_factory=list)
    trains: dict[tuple[str, str, int], dict[str, Any]] = field(default_factory=dict)
    stages: list[dict[str, Any]] = field(default_factory=list)  # key, status, seconds, manifest
    unreadable: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # manifests of units not in config.yaml
    adapters: list[AdapterTraining] = field(default_factory=list)
    arm_adapters: list[ArmAdapters] = field(default_factory=list)
    #: generate stages whose engine may give other rows on another run: (key, reason, manifest)
    nondeterministic: list[tuple[str, str, str]] = field(default_factory=list)
    connects: list[Connect] = field(default_factory=list)
    #: train stages of mix arms (one model for every language): arm, size, metrics, manifest
    mixes: list[dict[str, Any]] = field(default_factory=list)

    def connected_scores(self, lang: str, arm: str) -> list[Score]:
        """A connected arm's evaluations of ``lang``: target alone, (encoder alone,) connected."""
        found = [self.score(lang, arm, None, model) for model in CONNECTED_MODELS]
        return [s for s in found if s is not None]

    def trained_rows(self, lang: str, arm: str, size: int) -> int:
        """Triplets the model of ``size`` was trained on (fewer when fewer survived)."""
        rows = (self.trains.get((lang, arm, size)) or {}).get("rows")
        return min(rows, size) if isinstance(rows, int) else size

    @property
    def languages(self) -> list[str]:
        return list(dict.fromkeys(s.lang for s in self.scores))

    @property
    def arms(self) -> list[str]:
        return list(dict.fromkeys(s.arm for s in self.scores if s.arm != "base"))

    @property
    def sizes(self) -> list[int]:
        return sorted({s.size for s in self.scores if s.size is not None})

    def score(self, lang: str, arm: str, size: int | None, model: str) -> Score | None:
        for s in self.scores:
            if (s.lang, s.arm, s.size, s.model) == (lang, arm, size, model):
                return s
        return None

    def merge(self, lang: str, arm: str, size: int) -> Merge | None:
        return next((m for m in self.merges if (m.lang, m.arm, m.size) == (lang, arm, size)), None)

    def merge_units(self) -> list[Merge]:
        """One entry per merge stage: a mix arm's shared merge (listed once per language it
        serves in :attr:`merges`) appears once, as language ``all``."""
        units: dict[str, Merge] = {}
        for merge in self.merges:
            if merge.manifest in units:
                units[merge.manifest] = replace(units[merge.manifest], lang=ALL_LANGUAGES)
            else:
                units[merge.manifest] = merge
        return list(units.values())


def _served(manifest: dict[str, Any]) -> list[str]:
    """The languages a stage's result stands for: every language of a mix arm's shared stage
    (its config's ``languages``), else its own."""
    if manifest.get("lang") == ALL_LANGUAGES:
        return list((manifest.get("config") or {}).get("languages") or [])
    return [manifest.get("lang")]


def _size(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _in_config(config: dict[str, Any]):
    """A test ``(lang, arm, size) → bool``: is the unit part of the run's current config?

    A unit dropped from the config (an arm removed, a size changed) keeps its old manifests on
    disk; they are listed as stale rather than reported. Missing keys allow everything.
    """
    langs = set(config.get("languages") or [])
    arms = {a.get("name") for a in config.get("arms") or [] if isinstance(a, dict)}
    sizes = {_size(s) for s in config.get("sizes") or []}

    def test(lang: Any, arm: Any, size: int | None) -> bool:
        """``lang`` None: a stage shared by every language (e.g. ``connect``)."""
        if langs and lang is not None and lang not in langs:
            return False
        if arm == "base":
            return size is None
        if arms and arm not in arms:
            return False
        return size is None or not sizes or size in sizes

    return test


def load_run(run_dir: str | Path) -> RunData:
    """Collect every complete manifest under ``run_dir`` (unreadable ones are listed)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run folder {run_dir} does not exist")
    config_path = run_dir / "config.yaml"
    config = yaml.safe_load(config_path.read_text()) if config_path.exists() else {}
    data = RunData(run_dir, str(config.get("name") or run_dir.name), config or {})
    manifests: dict[str, dict[str, Any]] = {}
    in_config = _in_config(data.config)
    for path in sorted(run_dir.rglob(MANIFEST)):
        rel = path.relative_to(run_dir).as_posix()
        try:
            manifest = json.loads(path.read_text())
            manifest["stage"]
        except (OSError, ValueError, KeyError, TypeError):
            data.unreadable.append(rel)
            continue
        shared = manifest.get("stage") == "adapter"  # shared by languages and arms
        # a connect stage, or a mix arm's train and merge, serves every language: only its arm
        # (and size) decides whether it is current
        lang = manifest.get("lang")
        if manifest.get("stage") == "connect" or lang == ALL_LANGUAGES:
            lang = None
        if not shared and not in_config(lang, manifest.get("arm"), _size(manifest.get("size"))):
            data.stale.append(rel)
            continue
        manifests[rel] = manifest
        data.stages.append(
            {
                "key": f"{manifest.get('unit')}/{manifest['stage']}",
                "stage": manifest["stage"],
                "status": manifest.get("status"),
                "seconds": manifest.get("seconds"),
                "manifest": rel,
                "error": manifest.get("error"),
            }
        )
    sources: dict[tuple[str, str, str | None], tuple[str, dict[str, Any]]] = {}
    negatives: dict[tuple[str, str, str | None], dict[str, Any]] = {}
    for rel, m in manifests.items():
        if m.get("status") != "complete":
            continue
        lang, arm, size = m.get("lang"), m.get("arm"), _size(m.get("size"))
        metrics = m.get("metrics") or {}
        stage = m["stage"]
        if stage == "evaluate":
            for model, summary in metrics.items():
                data.scores.append(
                    Score(
                        lang=lang,
                        arm=arm,
                        size=size,
                        model=model,
                        main=summary.get("main"),
                        main_task=summary.get("main_task", "?"),
                        alignment=summary.get("alignment"),
                        uniformity=summary.get("uniformity"),
                        datasets=summary.get("datasets") or {},
                        manifest=rel,
                        tasks=summary.get("tasks") or {},
                    )
                )
        elif stage == "merge":
            for one in _served(m):
                data.merges.append(
                    Merge(
                        one, arm, int(size or 0), float(metrics.get("alpha", 0.0)),
                        metrics.get("dev_metric", "?"), metrics.get("dev_scores") or {}, rel,
                        best_mean_alpha=metrics.get("best_mean_alpha"),
                        payers_alpha=metrics.get("payers_alpha"),
                        payers=metrics.get("payers") or {},
                        serves_all=metrics.get("serves_all", True) is not False,
                        verdict=metrics.get("verdict"),
                        tolerance=metrics.get("tolerance") or {},
                        soup=metrics.get("soup"),
                        guard=metrics.get("guard"),
                    )
                )  # fmt: skip
        elif stage == "connect":
            data.connects.append(
                Connect(
                    arm, str(metrics.get("encoder")), str(metrics.get("target")),
                    metrics.get("align_steps"), metrics.get("finetune_steps"),
                    metrics.get("english_only") or {}, m.get("seconds"), rel,
                )
            )  # fmt: skip
        elif stage == "train":
            for one in _served(m):
                data.trains[(one, arm, int(size or 0))] = metrics | {"manifest": rel}
            if metrics.get("sources"):
                data.mixes.append({"arm": arm, "size": size, "metrics": metrics, "manifest": rel})
        elif stage in ("generate", "mine", "import"):
            sources[(lang, arm, m.get("task"))] = (rel, m)
            if metrics.get("deterministic") is False:
                key = f"{m.get('unit', '?')}/{stage}"
                data.nondeterministic.append((key, str(metrics.get("nondeterminism")), rel))
        elif stage == "negatives":
            negatives[(lang, arm, m.get("task"))] = metrics
    for rel, m in manifests.items():
        if m["stage"] != "filter" or m.get("status") != "complete":
            continue
        lang, arm, task = m.get("lang"), m.get("arm"), m.get("task")
        metrics = m.get("metrics") or {}
        source_rel, source = sources.get((lang, arm, task), (None, {}))
        smetrics = source.get("metrics") or {}
        anchors = smetrics.get("seeds") or smetrics.get("pairs") or smetrics.get("rows_read")
        steps = list(metrics.get("funnel") or [])
        mined = negatives.get((lang, arm, task))
        if mined is not None:  # pairs without a mined negative are dropped before filtering
            steps.insert(0, {"filter": "negatives", "rows_in": mined.get("pairs"),
                             "rows_out": mined.get("triplets"),
                             "reasons": {"no negative": mined.get("no_negative", 0)}})  # fmt: skip
        data.funnels.append(
            Funnel(
                lang=lang,
                arm=arm,
                source_stage=source.get("stage", "?"),
                anchors=anchors,
                generated=smetrics.get("triplets"),
                steps=steps,
                kept=int(metrics.get("rows_out", 0)),
                manifest=rel,
                source_manifest=source_rel,
                task=task,
            )
        )
    _collect_adapters(data, manifests)
    order = {"base": 0, "trained": 1, "merged": 2, "target": 3, "encoder": 4, "connected": 5}
    data.scores.sort(
        key=lambda s: (s.lang, s.arm != "base", s.arm, s.size or 0, order.get(s.model, 9))
    )
    return data


def _collect_adapters(data: RunData, manifests: dict[str, dict[str, Any]]) -> None:
    """Adapter stages, and for each synthetic arm the adapters its generation used."""
    by_output: dict[str, str] = {}  # output path (relative to the run) → unit that wrote it
    written_by: dict[str, str] = {}  # output path → manifest of the stage that wrote it
    composes: dict[str, tuple[str, dict[str, Any]]] = {}  # output path → (manifest, compose)
    for rel, m in manifests.items():
        if m.get("status") != "complete":
            continue
        metrics = m.get("metrics") or {}
        if m["stage"] == "adapter":
            output = (m.get("outputs") or {}).get("adapter") or {}
            by_output[output.get("path", "")] = m.get("unit", "")
            written_by[output.get("path", "")] = rel
            data.adapters.append(
                AdapterTraining(
                    unit=m.get("unit", "?"), kind=metrics.get("adapter_type", "?"),
                    which=metrics.get("polarity") or metrics.get("lang") or "?",
                    base=str(metrics.get("base")), examples=metrics.get("examples"),
                    steps=metrics.get("steps"), loss_first=metrics.get("loss_first"),
                    loss_last=metrics.get("loss_last"),
                    eval_before=metrics.get("eval_loss_before"),
                    eval_after=metrics.get("eval_loss_after"), seconds=m.get("seconds"),
                    folder=data.run_dir / output.get("path", ""), manifest=rel,
                )
            )  # fmt: skip
        elif m["stage"] == "compose":
            for polarity in ("positive", "negative"):
                path = ((m.get("outputs") or {}).get(polarity) or {}).get("path")
                if path:
                    composes[path] = (rel, m)
                    written_by[path] = rel
    for rel, m in manifests.items():
        if m["stage"] != "generate":
            continue
        inputs = m.get("inputs") or {}
        options = ((m.get("config") or {}).get("arm") or {}).get("strategy_options") or {}
        paths = {}
        for polarity in ("positive", "negative"):
            made = (inputs.get(f"{polarity}_adapter") or {}).get("path")
            paths[polarity] = made or options.get(f"{polarity}_adapter")
        if not any(paths.values()):
            continue  # no adapters (icl), or compose from parts composed by the strategy
        compose = composes.get(paths["positive"] or "")
        if "positive_adapter" not in inputs:
            crel, recipe = None, "given folders"
        elif compose is not None:
            crel, cm = compose
            lam = (cm.get("metrics") or {}).get("lambda", (cm.get("config") or {}).get("lambda"))
            lang = m.get("lang", "?")
            recipe = f"task + {lam:g}·({lang} − eng)" if isinstance(lam, float | int) else "compose"
        else:
            crel, recipe = None, "XL-LoRA"
        names = {p: by_output.get(v or "", v) for p, v in paths.items()}
        sources = {p: written_by.get(v or "") for p, v in paths.items()}
        data.arm_adapters.append(
            ArmAdapters(m.get("lang", "?"), m.get("arm", "?"), recipe, names["positive"],
                        names["negative"], rel, crel, sources)
        )  # fmt: skip
    data.adapters.sort(key=lambda a: a.unit)
    data.arm_adapters.sort(key=lambda a: (a.lang, a.arm))
