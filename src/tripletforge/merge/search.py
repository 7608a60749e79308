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
    and still count as not regressing. ``progress`` shows one bar over the grid.
    """
    from sentence_transformers import SentenceTransformer

    grid = sorted(set(float(a) for a in grid) | {0.0})
    base_model = SentenceTransformer(resolve_model_path(base), device="cpu")
    tuned_state = SentenceTransformer(resolve_model_path(finetuned), device="cpu").state_dict()
    base_state = {k: v.clone() for k, v in base_model.state_dict().items()}

    result = AlphaSearchResult(alpha=0.0, no_regression=no_regression, grid=grid)
    with progress_task("α search", len(grid), enabled=progress) as task:
        for alpha in grid:
            base_model.load_state_dict(methods.linear(base_state, tuned_state, alpha))
            result.scores[str(alpha)] = scorer(base_model)
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
    from tripletforge.merge.models import merge_models

    result = search_alpha(base, finetuned, scorer, grid, no_regression, tolerance, progress)
    provenance = {"search": result.to_dict(), **(provenance or {})}
    out = Path(out)
    if link_ends and result.alpha in (0.0, 1.0):
        same = Path(out).with_name("same_as.txt")
        same.write_text(str(base if result.alpha == 0.0 else finetuned) + "\n")
        return result, same
    path = merge_models(
        "linear", [finetuned], out, base=base, alpha=result.alpha, provenance=provenance
    )
    return result, Path(path)
