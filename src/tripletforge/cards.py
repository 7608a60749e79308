"""Model cards: the ``README.md`` of every model tripletforge saves.

A card records what a user needs to trust and reproduce a model: its base model, languages,
training-data provenance (strategy, generator, counts after filtering), licence, the command
that rebuilds it, and its evaluation results. The YAML front matter is Hugging Face model-card
metadata (``huggingface_hub.ModelCardData``): ``base_model``, ``language``, ``license``,
``tags``, ``library_name`` and ``model-index``; the ``model-index`` entries are the ones mteb's
own card writer produces (``mteb.results.TaskResult.get_hf_eval_results``: task type, data
set, split, main metric and its raw value), built from a tripletforge evaluation. The card
keeps its own fields under the ``tripletforge`` key of the front matter, so
:func:`update_model_card` can add results or provenance later without losing anything.

Used by ``train/`` (trained encoders), ``merge/`` (merged encoders), the pipeline (which adds
run provenance and results) and connectors (``connect``, LUSIFER)::

    from tripletforge.cards import ModelCardInfo, write_model_card, update_model_card

    write_model_card("runs/x/model", ModelCardInfo(
        model_name="hau-e5-icl", origin="trained", base_model="e5-small", languages=["hau"],
        training_data={"strategy": "icl", "generator": "smollm2-135m", "triplets": 480},
        command="tripletforge run hau.yaml"))
    update_model_card("runs/x/model", evaluation=result)  # an EvaluationResult

The README is not part of a model's fingerprint, so updating a card never invalidates the
embedding cache.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from huggingface_hub import EvalResult

    from tripletforge.evaluate.results import EvaluationResult

CARD_FILE = "README.md"
#: What produced the model (a card's ``origin``).
ORIGINS = ("trained", "merged", "connected", "base")


@dataclass
class ModelCardInfo:
    """The facts of a model card (see the module docstring).

    ``base_model`` is a built-in name, hub id or path (built-in names are written as their hub
    id); ``license`` None means not determined (the card says to check the base model's and the
    data's terms); ``training_data`` and ``details`` are free-form provenance shown as tables
    (``details``: method settings such as a merge's α).
    """

    model_name: str
    origin: str = "trained"
    base_model: str | None = None
    languages: list[str] = field(default_factory=list)
    license: str | None = None
    command: str | None = None
    training_data: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        if self.origin not in ORIGINS:
            raise ValueError(
                f"card origin {self.origin!r} is unknown; use one of {', '.join(ORIGINS)}"
            )


def command_line(argv: list[str] | None = None) -> str:
    """The command that is running, as a user would type it (``tripletforge …``)."""
    argv = list(sys.argv if argv is None else argv)
    if argv and Path(argv[0]).name in ("tripletforge", "__main__.py"):
        argv[0] = "tripletforge"
    elif argv:
        argv = ["python", *argv]
    return shlex.join(argv)


def triplet_provenance(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts of training triplets by strategy, generator and backend (their provenance columns)."""
    out: dict[str, Any] = {"triplets": len(rows)}
    for column, label in (("task", "by_task"), ("strategy", "by_strategy"),
                          ("model_id", "by_generator"), ("backend", "by_backend"),
                          ("lang", "by_language")):  # fmt: skip
        counts: dict[str, int] = {}
        for row in rows:
            value = row.get(column)
            if value:
                counts[str(value)] = counts.get(str(value), 0) + 1
        if counts:
            out[label] = dict(sorted(counts.items(), key=lambda kv: -kv[1]))
    return out


def _hub_base(base: str | None) -> tuple[str | None, str | None]:
    """(hub id or path for ``base_model``, licence of a built-in base) of a base model name."""
    if base is None:
        return None, None
    from tripletforge.models.registry import BUILTIN_MODELS

    builtin = BUILTIN_MODELS.get(base)
    if builtin is not None:
        return builtin.hub_id or base, builtin.license
    for model in BUILTIN_MODELS.values():  # a path inside the model cache
        if Path(base).name == model.name and model.hub_id:
            return model.hub_id, model.license
    return base, None


def _table(rows: dict[str, Any]) -> list[str]:
    if not rows:
        return ["(none recorded)"]
    lines = ["| field | value |", "|---|---|"]
    for key, value in rows.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items())
        elif isinstance(value, list):
            value = ", ".join(map(str, value))
        text = str(value).replace("|", "\\|")
        lines.append(f"| {key} | {text} |")
    return lines


def _results_table(results: list[EvalResult]) -> list[str]:
    if not results:
        return ["Not evaluated yet: `tripletforge evaluate --model <this folder> --card` adds "
                "the results here and to the model-index metadata."]  # fmt: skip
    lines = ["| data set | task | split | metric | score ×100 |", "|---|---|---|---|---|"]
    for r in results:
        value = "–" if r.metric_value is None else f"{100 * float(r.metric_value):.1f}"
        lines.append(
            f"| {r.dataset_name} | {r.task_name or r.task_type} | {r.dataset_split or '–'} "
            f"| {r.metric_type} | {value} |"
        )
    return lines


def render_model_card(info: ModelCardInfo, results: list[EvalResult] | None = None) -> str:
    """The README text: YAML front matter (with ``model-index``) and the Markdown body."""
    from huggingface_hub import ModelCardData

    base, base_license = _hub_base(info.base_model)
    licence = info.license or base_license
    data = ModelCardData(
        language=info.languages or None,
        license=licence or "unknown",
        base_model=base if base and "/" in base and not Path(base).exists() else None,
        library_name="sentence-transformers",
        pipeline_tag="sentence-similarity",
        tags=["sentence-transformers", "sentence-similarity", "tripletforge", info.origin],
        model_name=info.model_name,
        eval_results=list(results or []) or None,
        tripletforge=asdict(info),
    )
    body = [f"# {info.model_name}", ""]
    if info.description:
        body += [info.description, ""]
    body += [
        f"A sentence-embedding model **{info.origin}** by "
        "[tripletforge](https://github.com/) (sentence-transformers format).",
        "",
        "## Model",
        "",
        f"- base model: `{base or info.base_model or 'unknown'}`",
        f"- languages: {', '.join(info.languages) or 'not recorded'}",
        f"- licence: {licence or 'not determined — check the base model and training data terms'}",
        "",
        "## Training data provenance",
        "",
        *_table(info.training_data),
        "",
    ]
    if info.details:
        body += ["## Details", "", *_table(info.details), ""]
    body += [
        "## Reproduce",
        "",
        "```bash",
        info.command or "(command not recorded)",
        "```",
        "",
        "## Evaluation",
        "",
        "Main scores as MTEB defines them (raw values in the `model-index` metadata), computed "
        "with mteb's evaluators and prompt protocol by `tripletforge evaluate`.",
        "",
        *_results_table(list(results or [])),
        "",
        "## Use",
        "",
        "```python",
        "from sentence_transformers import SentenceTransformer",
        "",
        *(
            [
                "# tripletforge's own module (connector): needs tripletforge installed",
                'model = SentenceTransformer("path/to/this/folder", trust_remote_code=True)',
            ]
            if info.origin == "connected"
            else ['model = SentenceTransformer("path/to/this/folder")']
        ),
        'embeddings = model.encode(["A sentence."])',
        "```",
        "",
    ]
    return f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(body)


def _eval_results(evaluation: EvaluationResult | list[EvalResult] | None) -> list[EvalResult]:
    if evaluation is None:
        return []
    if isinstance(evaluation, list):
        return evaluation
    return evaluation.hf_eval_results()


def write_model_card(
    folder: str | Path,
    info: ModelCardInfo,
    evaluation: EvaluationResult | list[EvalResult] | None = None,
) -> Path:
    """Write ``folder/README.md`` for ``info`` (replacing any card there); return its path.

    ``evaluation`` (an :class:`~tripletforge.evaluate.results.EvaluationResult` or
    ``huggingface_hub.EvalResult`` list) fills the ``model-index`` and the results table.
    """
    path = Path(folder) / CARD_FILE
    path.write_text(render_model_card(info, _eval_results(evaluation)), encoding="utf-8")
    return path


def read_model_card(folder: str | Path) -> tuple[ModelCardInfo | None, list[EvalResult]]:
    """The tripletforge facts and the ``model-index`` results of a folder's card.

    ``(None, [])`` when there is no card or it was not written by tripletforge.
    """
    from huggingface_hub import ModelCard

    path = Path(folder) / CARD_FILE
    if not path.is_file():
        return None, []
    try:
        card = ModelCard.load(path)
    except Exception:  # not a model card (no or broken front matter)
        return None, []
    raw = getattr(card.data, "tripletforge", None)
    info = ModelCardInfo(**raw) if isinstance(raw, dict) else None
    return info, list(card.data.eval_results or [])


def update_model_card(
    folder: str | Path,
    evaluation: EvaluationResult | list[EvalResult] | None = None,
    *,
    model_name: str | None = None,
    **changes: Any,
) -> Path:
    """Update a folder's card (or start one): change fields, merge provenance, add results.

    ``changes`` set :class:`ModelCardInfo` fields; ``training_data`` and ``details`` are
    merged key by key. New ``evaluation`` results replace older results of the same data set
    and split; other results are kept.
    """
    info, results = read_model_card(folder)
    if info is None:
        info = ModelCardInfo(model_name=model_name or Path(folder).resolve().name)
    elif model_name:
        info.model_name = model_name
    for key, value in changes.items():
        if key not in ModelCardInfo.__dataclass_fields__:
            raise TypeError(f"unknown model card field {key!r}")
        if key in ("training_data", "details") and isinstance(value, dict):
            getattr(info, key).update(value)
        else:
            setattr(info, key, value)
    new = _eval_results(evaluation)
    replaced = {(r.dataset_name, r.dataset_split) for r in new}
    kept = [r for r in results if (r.dataset_name, r.dataset_split) not in replaced]
    return write_model_card(folder, info, kept + new)
