"""Choose the WiSE-FT interpolation weight α on dev data only.

The scorer is a callable that maps an encoder to ``{language: dev score}``; it is built from
dev splits (:class:`tripletforge.merge.dev.SpearmanScorer` for SemRel2024 dev pairs,
:class:`tripletforge.merge.dev.RetrievalScorer` for SIB-200 dev bitext), never from test
splits.
With ``no_regression`` the chosen α is the best mean dev score among the α whose every
language scores at least the base model's (α = 0 always qualifies). A language whose score
is undefined (None) at any α is left out of every mean and no-regression check (so the means
stay comparable) and listed in ``ignored``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tripletforge.merge import methods
from tripletforge.models.registry import resolve_model_path
from tripletforge.progress import progress_task

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)
Scorer = Callable[["SentenceTransformer"], dict[str, float | None]]
DEFAULT_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


@dataclass
class AlphaSearchResult:
    """The chosen α, and every α's dev scores per language (for the run manifest)."""

    alpha: float
    no_regression: bool
    grid: list[float]
    scores: dict[str, dict[str, float | None]] = field(default_factory=dict)  # str(α) → lang
    mean: dict[str, float | None] = field(default_factory=dict)
    admissible: list[float] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # languages undefined at some α

    def to_dict(self) -> dict:
        return asdict(self)


class Interpolation:
    """One encoder whose weights are set to ``(1 − α)·base + α·finetuned`` in place.

    Holds the base model and, for the floating-point tensors that fine-tuning changed, the
    base and fine-tuned values; tensors fine-tuning left equal (frozen word embeddings) are
    kept once, in the model, and stay bitwise the base's at every α. Memory: one model plus
    two copies of the changed tensors (for e5-small with frozen embeddings: 470 + 2 × 85 MB).
    Raises :class:`~tripletforge.merge.models.IncompatibleModelsError` when parameter names or
    shapes differ.
    """

    def __init__(self, base: str, finetuned: str) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        from tripletforge.merge.models import IncompatibleModelsError

        self.base_path = resolve_model_path(base)
        self.finetuned_path = resolve_model_path(finetuned)
        self.model = SentenceTransformer(self.base_path, device="cpu")
        tuned = SentenceTransformer(self.finetuned_path, device="cpu").state_dict()
        own = self.model.state_dict()
        if {k: tuple(v.shape) for k, v in own.items()} != {
            k: tuple(v.shape) for k, v in tuned.items()
        }:
            raise IncompatibleModelsError(
                f"cannot merge {finetuned} into {base}: parameter names or shapes differ"
            )
        self.changed: dict[str, tuple[torch.Tensor, torch.Tensor]] = {
            name: (tensor.detach().clone(), tuned[name])
            for name, tensor in own.items()
            if tensor.is_floating_point() and not torch.equal(tensor, tuned[name])
        }
        del tuned  # unchanged tensors of the fine-tuned model are freed here
        self.alpha = 0.0

    def set(self, alpha: float) -> SentenceTransformer:
        """Set the weights to α (:func:`tripletforge.merge.methods.linear`); return the model."""
        base = {k: a for k, (a, _) in self.changed.items()}
        tuned = {k: b for k, (_, b) in self.changed.items()}
        self.model.load_state_dict(methods.linear(base, tuned, alpha), strict=False)
        self.alpha = alpha
        return self.model

    def fingerprint(self) -> str | None:
        """The cache key of the current weights when they are one end's (α = 0 or 1), else None."""
        if self.alpha not in (0.0, 1.0):
            return None
        from tripletforge.evaluate.fingerprint import model_fingerprint

        source = self.base_path if self.alpha == 0.0 else self.finetuned_path
        return model_fingerprint(self.model, source)


def _score(scorer: Scorer, interpolation: Interpolation) -> dict[str, float | None]:
    """Dev scores of the current α; the ends (base, fine-tuned) go through the embedding cache.

    The base model's dev scores are then computed once for all the merges of a run (and the
    fine-tuned model's once per model), as evaluation reuses its cache.
    """
    from tripletforge.merge.dev import EvaluationScorer

    fingerprint = interpolation.fingerprint()
    if fingerprint is not None and isinstance(scorer, EvaluationScorer):
        return scorer(interpolation.model, fingerprint=fingerprint)
    return scorer(interpolation.model)


def _search(
    interpolation: Interpolation,
    scorer: Scorer,
    grid: Sequence[float],
    no_regression: bool,
    tolerance: float,
    progress: bool,
) -> AlphaSearchResult:
    grid = sorted(set(float(a) for a in grid) | {0.0})
    result = AlphaSearchResult(alpha=0.0, no_regression=no_regression, grid=grid)
    with progress_task("α search", len(grid), enabled=progress) as task:
        for alpha in grid:
            interpolation.set(alpha)
            result.scores[str(alpha)] = _score(scorer, interpolation)
            task.advance(1, note=f"α={alpha:g}")
    # a language undefined at any α is left out of every mean and check (means stay comparable)
    langs = sorted({lang for per in result.scores.values() for lang in per})
    kept = [k for k in langs if all(per.get(k) is not None for per in result.scores.values())]
    result.ignored = [k for k in langs if k not in kept]
    if result.ignored:
        log.warning("dev score undefined for %s at some α; ignored", ", ".join(result.ignored))
    for alpha in grid:
        per_lang = result.scores[str(alpha)]
        result.mean[str(alpha)] = sum(per_lang[k] for k in kept) / len(kept) if kept else None  # type: ignore[misc]
    floor = result.scores["0.0"]
    for alpha in grid:
        scores = result.scores[str(alpha)]
        if not no_regression or all(scores[k] >= floor[k] - tolerance for k in kept):  # type: ignore[operator]
            result.admissible.append(alpha)
    if kept:
        result.alpha = max(result.admissible, key=lambda a: (result.mean[str(a)], -a))
    else:
        log.warning("no language has a defined dev score at every α; keeping the base (α = 0)")
    return result


def search_alpha(
    base: str,
    finetuned: str,
    scorer: Scorer,
    grid: Sequence[float] = DEFAULT_GRID,
    no_regression: bool = True,
    tolerance: float = 0.0,
    progress: bool = True,
) -> AlphaSearchResult:
    """Score ``(1 − α)·base + α·finetuned`` for each α in ``grid`` and pick the best α.

    ``tolerance``: dev points (same units as the scorer's) a language may lose against α = 0
    and still count as not regressing. ``progress`` shows one bar over the grid. The ends
    (α = 0, 1) of an evaluation scorer (:class:`tripletforge.merge.dev.EvaluationScorer`) are
    scored through the embedding cache (keyed by the base's and the fine-tuned folder's
    fingerprints).
    """
    interpolation = Interpolation(base, finetuned)
    return _search(interpolation, scorer, grid, no_regression, tolerance, progress)


def wise_ft(
    base: str,
    finetuned: str,
    scorer: Scorer,
    out: str | Path,
    *,
    grid: Sequence[float] = DEFAULT_GRID,
    no_regression: bool = True,
    tolerance: float = 0.0,
    provenance: dict[str, Any] | None = None,
    link_ends: bool = False,
    progress: bool = True,
) -> tuple[AlphaSearchResult, Path]:
    """WiSE-FT (Wortsman et al. 2022) with α chosen on dev data: search, then merge.

    Writes ``(1 − α)·base + α·finetuned`` to ``out`` (a sentence-transformers folder) with the
    search in its provenance. With ``link_ends`` an α of 0 or 1 writes no copy: ``out`` is
    then a text file ``same_as.txt`` next to where the folder would be, naming the model it
    equals (what the pipeline does). Returns the search result and what was written.
    """
    from tripletforge.merge.models import check_compatible, merge_record, save_merged

    check_compatible([resolve_model_path(base), resolve_model_path(finetuned)])
    interpolation = Interpolation(base, finetuned)
    result = _search(interpolation, scorer, grid, no_regression, tolerance, progress)
    provenance = {"search": result.to_dict(), **(provenance or {})}
    out = Path(out)
    if link_ends and result.alpha in (0.0, 1.0):
        same = Path(out).with_name("same_as.txt")
        same.write_text(str(base if result.alpha == 0.0 else finetuned) + "\n")
        return result, same
    # the merged weights from the models already in memory (no second load from disk)
    model = interpolation.set(result.alpha)
    record = merge_record("linear", base, [finetuned], alpha=result.alpha, provenance=provenance)
    return result, save_merged(model, out, record)
