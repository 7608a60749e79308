"""Choose the WiSE-FT interpolation weight α on dev data only.

The scorer is a callable that maps an encoder to ``{language: dev score}``; it is built from
dev splits (see :class:`tripletforge.merge.dev.SpearmanScorer`), never from test splits.
With ``no_regression`` the chosen α is the best mean dev score among the α whose every
language scores at least the base model's (α = 0 always qualifies). A language whose score
is undefined (None) at any α is left out of every mean and no-regression check (so the means
stay comparable) and listed in ``ignored``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from tripletforge.merge import methods
from tripletforge.models.registry import resolve_model_path

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
) -> AlphaSearchResult:
    """Score ``(1 − α)·base + α·finetuned`` for each α in ``grid`` and pick the best α."""
    from sentence_transformers import SentenceTransformer

    grid = sorted(set(float(a) for a in grid) | {0.0})
    base_model = SentenceTransformer(resolve_model_path(base), device="cpu")
    tuned_state = SentenceTransformer(resolve_model_path(finetuned), device="cpu").state_dict()
    base_state = {k: v.clone() for k, v in base_model.state_dict().items()}

    result = AlphaSearchResult(alpha=0.0, no_regression=no_regression, grid=grid)
    for alpha in grid:
        base_model.load_state_dict(methods.linear(base_state, tuned_state, alpha))
        result.scores[str(alpha)] = scorer(base_model)
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
