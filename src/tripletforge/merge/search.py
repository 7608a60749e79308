"""Choose the WiSE-FT interpolation weight α on dev data only.

The scorer is a callable that maps an encoder to ``{language: dev score}``; it is built from
dev splits (see :func:`tripletforge.merge.dev.semrel_dev_scorer`), never from test splits.
With ``no_regression`` the chosen α is the best mean dev score among the α whose every
language scores at least the base model's (α = 0 always qualifies).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from tripletforge.merge import methods
from tripletforge.models.registry import resolve_model_path

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

Scorer = Callable[["SentenceTransformer"], dict[str, float]]
DEFAULT_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


@dataclass
class AlphaSearchResult:
    """The chosen α, and every α's dev scores per language (for the run manifest)."""

    alpha: float
    no_regression: bool
    grid: list[float]
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # str(α) → lang → score
    mean: dict[str, float] = field(default_factory=dict)
    admissible: list[float] = field(default_factory=list)

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
        per_lang = scorer(base_model)
        result.scores[str(alpha)] = per_lang
        result.mean[str(alpha)] = sum(per_lang.values()) / max(len(per_lang), 1)

    floor = result.scores["0.0"]
    for alpha in grid:
        scores = result.scores[str(alpha)]
        if not no_regression or all(scores[k] >= floor[k] - tolerance for k in floor):
            result.admissible.append(alpha)
    result.alpha = max(result.admissible, key=lambda a: (result.mean[str(a)], -a))
    return result
