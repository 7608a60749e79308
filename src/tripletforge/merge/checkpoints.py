"""Per-language checkpoint selection: a soup of the checkpoints that are best on each language.

Training with named dev sets (``TrainConfig.dev_sets``, one per language) logs
``eval_dev_<lang>_spearman_cosine`` at every evaluation into ``trainer_state.json``. This
module reads those logged dev scores for the checkpoints a run kept, picks each language's best
checkpoint, and hands the distinct winners to :func:`~tripletforge.merge.merge_models`
(``average``). Checkpoints without logged scores can be scored by a dev-only scorer instead
(see :mod:`tripletforge.merge.dev`); test splits are never involved.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tripletforge.checkpointing import CHECKPOINT_MARK, complete_checkpoints
from tripletforge.checkpointing import checkpoint_step as _step

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)
_LOGGED = re.compile(r"^eval_dev_(.+)_spearman_cosine$")
_WEIGHTS = ("model.safetensors", "pytorch_model.bin", "modules.json")


@dataclass
class CheckpointSelection:
    """Dev scores (×100) per checkpoint and language, and each language's best checkpoint."""

    scores: dict[str, dict[str, float | None]] = field(default_factory=dict)  # ckpt → lang → ρ
    best: dict[str, str] = field(default_factory=dict)  # lang → checkpoint path
    source: str = "training log"

    @property
    def chosen(self) -> list[str]:
        """The distinct best checkpoints, in training order."""
        return sorted(set(self.best.values()), key=_step)

    @property
    def last(self) -> str | None:
        """The last scored checkpoint (a run's final state when it saved at its last step)."""
        return max(self.scores, key=_step) if self.scores else None

    def to_dict(self) -> dict:
        return asdict(self) | {"chosen": self.chosen, "last": self.last}


def list_checkpoints(run_dir: str | Path) -> list[Path]:
    """``checkpoint-N`` folders with model weights in ``run_dir`` or ``run_dir/checkpoints``.

    Where a folder holds checkpoints marked complete by tripletforge's trainer
    (:mod:`tripletforge.checkpointing`), only those count: an unmarked one there was cut off
    while it was written. Folders of other trainers (no marks at all) count when they hold
    weights.
    """
    run_dir = Path(run_dir)
    roots = [run_dir / "checkpoints", run_dir]
    found = []
    for root in roots:
        if not root.is_dir():
            continue
        named = [p for p in root.iterdir() if _step(p) >= 0 and p.is_dir()]
        if any((p / CHECKPOINT_MARK).is_file() for p in named):
            complete = complete_checkpoints(root)
            for path in sorted(set(named) - set(complete), key=_step):
                log.warning("left out %s: its save was interrupted", path)
            found += complete
        else:
            found += [p for p in named if any((p / w).is_file() for w in _WEIGHTS)]
    if not found:
        raise FileNotFoundError(
            f"no checkpoint-N folders with model weights in {run_dir} or {run_dir}/checkpoints; "
            "train with --keep-checkpoints (and named --dev sets) to keep them"
        )
    return sorted(found, key=_step)


def logged_dev_scores(checkpoints: Sequence[Path]) -> dict[str, dict[str, float]]:
    """Per-language dev Spearman ×100 that training logged at each kept checkpoint's step."""
    history: list[dict] = []
    for path in sorted(checkpoints, key=_step, reverse=True):
        state = path / "trainer_state.json"
        if state.is_file():
            history = json.loads(state.read_text()).get("log_history", [])
            break
    by_step: dict[int, dict[str, float]] = {}
    for entry in history:
        for key, value in entry.items():
            if match := _LOGGED.match(key):
                step = by_step.setdefault(int(entry["step"]), {})
                if isinstance(value, int | float) and math.isfinite(value):
                    step[match.group(1)] = 100.0 * value  # undefined (NaN) scores are left out
    return {str(p): by_step[_step(p)] for p in checkpoints if _step(p) in by_step}


def inference_length(run_dir: str | Path) -> int | None:
    """The max sequence length the run's final model was saved with (its checkpoints keep the
    shorter training length, ``train.max_seq_length``); None when the run folder has no final
    model yet."""
    run_dir = Path(run_dir)
    for name, key in (("tripletforge_training.json", "saved_max_seq_length"),
                      ("tokenizer_config.json", "model_max_length")):  # fmt: skip
        try:
            value = json.loads((run_dir / name).read_text()).get(key)
        except (OSError, ValueError):
            continue
        if isinstance(value, int) and 0 < value < 1_000_000:
            return value
    return None


def set_max_seq_length(folder: str | Path, length: int) -> None:
    """Make a saved sentence-transformers folder load with ``length`` tokens at most."""
    folder = Path(folder)
    for name, key in (("tokenizer_config.json", "model_max_length"),
                      ("sentence_bert_config.json", "max_seq_length")):  # fmt: skip
        path = folder / name
        if path.is_file():
            data = json.loads(path.read_text())
            if key in data or name == "tokenizer_config.json":
                data[key] = length
                path.write_text(json.dumps(data, indent=2) + "\n")


def select_checkpoints(
    run_dir: str | Path,
    scorer: Callable[[SentenceTransformer], dict[str, float]] | None = None,
    languages: Sequence[str] | None = None,
) -> CheckpointSelection:
    """Each language's best kept checkpoint by dev score.

    Logged scores are used when every kept checkpoint has them; otherwise ``scorer`` (a
    dev-only ``model → {lang: score}``) scores each checkpoint. ``languages`` limits the choice.
    Undefined scores (NaN in the log, None from a scorer) are ignored; a language without any
    defined score gets no checkpoint (a warning says so).
    """
    checkpoints = list_checkpoints(run_dir)
    selection = CheckpointSelection(scores=logged_dev_scores(checkpoints))
    if len(selection.scores) < len(checkpoints):
        if scorer is None:
            raise ValueError(
                f"{len(checkpoints) - len(selection.scores)} of {len(checkpoints)} checkpoints "
                "have no logged per-language dev scores; give a dev scorer (--semrel-root "
                "and --lang) to score them"
            )
        from sentence_transformers import SentenceTransformer

        length = inference_length(run_dir)

        def load(path: Path) -> SentenceTransformer:
            """A checkpoint as the final model would encode: its saved length, not training's."""
            model = SentenceTransformer(str(path), device="cpu")
            if length is not None:
                model.max_seq_length = length
            return model

        selection.source = "scored"
        selection.scores = {str(p): scorer(load(p)) for p in checkpoints}
    langs = sorted({lang for per in selection.scores.values() for lang in per})
    if languages:
        missing = sorted(set(languages) - set(langs))
        if missing:
            raise ValueError(f"no dev scores for {missing}; scored languages are {langs}")
        langs = [lang for lang in langs if lang in set(languages)]
    for lang in langs:
        scored = [(per[lang], -_step(ckpt), ckpt) for ckpt, per in selection.scores.items()
                  if per.get(lang) is not None]  # fmt: skip
        if not scored:
            log.warning("no checkpoint has a defined dev score for %s; it gets no choice", lang)
            continue
        selection.best[lang] = max(scored)[2]  # ties: the earlier checkpoint
    return selection


def soup_checkpoints(
    run_dir: str | Path,
    out: str | Path,
    scorer: Callable[[SentenceTransformer], dict[str, float | None]] | None = None,
    languages: Sequence[str] | None = None,
    provenance: dict | None = None,
) -> tuple[CheckpointSelection, Path]:
    """The per-language soup of a run's kept checkpoints: :func:`select_checkpoints`, then the
    average of the distinct winners (one winner: a copy of it) written to ``out``, which keeps
    the final model's max sequence length (a checkpoint has the shorter training one)."""
    from tripletforge.merge.models import merge_models

    selection = select_checkpoints(run_dir, scorer=scorer, languages=languages)
    if not selection.chosen:
        raise ValueError(f"no kept checkpoint of {run_dir} has a defined dev score to soup")
    record = {"checkpoint_selection": selection.to_dict(), **(provenance or {})}
    soup = merge_models("average", selection.chosen, out, provenance=record)
    length = inference_length(run_dir)
    if length is not None:
        set_max_seq_length(soup, length)
    return selection, soup
