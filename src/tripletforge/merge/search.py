"""Choose the WiSE-FT interpolation weight α on dev data only.

The scorer is a callable that maps an encoder to ``{language: dev score}``; it is built from
dev splits (:class:`tripletforge.merge.dev.SpearmanScorer` for SemRel2024 dev pairs,
:class:`tripletforge.merge.dev.RetrievalScorer` for SIB-200 dev bitext), never from test
splits.
With ``no_regression`` the chosen α is the best mean dev score among the α whose every
language scores at least the base model's less its tolerance (α = 0 always qualifies). The
tolerance is one number for every language or a mapping ``{lang: points, "*": default}``
(:func:`tolerance_for`). A language whose score is undefined (None) at any α is left out of
every mean and no-regression check (so the means stay comparable) and listed in ``ignored``.

The result also says what the guard cost: the best-mean α (what the search would choose
without the guard), the *payers* (the languages that would lose more than their tolerance
there, and how much) and whether one model can serve every language at all
(:attr:`AlphaSearchResult.serves_all`, :meth:`AlphaSearchResult.verdict`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tripletforge.merge import methods
from tripletforge.progress import progress_task

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)
Scorer = Callable[["SentenceTransformer"], dict[str, float | None]]
#: Dev points a language may lose: one number for all, or ``{lang: points, "*": default}``.
Tolerance = float | Mapping[str, float]
DEFAULT_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
#: The key of a tolerance mapping that holds every other language's tolerance.
DEFAULT_KEY = "*"


def check_tolerance(value: Any) -> float | dict[str, float]:
    """A tolerance as given by a user, checked: a number ≥ 0, or ``{lang: points}`` with
    language codes in any spelling (``HAU`` → ``hau``) and ``"*"``. ``{"*": x}`` is ``x``.

    Raises:
        ValueError: naming the bad key or value and the fix.
    """
    from tripletforge.data.languages import UnknownLanguageError, canonical_code

    def points(where: str, raw: Any) -> float:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ValueError(f"{where}{raw!r} is not a number of dev points; write e.g. 0.5")
        if not math.isfinite(raw):
            raise ValueError(f"{where}{raw} is not a finite number of dev points; write e.g. 0.5")
        if raw < 0:
            raise ValueError(f"{where}{raw} is negative; a tolerance is the dev points a "
                             "language may lose, 0 or more")  # fmt: skip
        return float(raw)

    if not isinstance(value, Mapping):
        return points("", value)
    out: dict[str, float] = {}
    for key, raw in value.items():
        key = str(key)
        if key == DEFAULT_KEY:
            out[key] = points(f"{key!r}: ", raw)
            continue
        try:
            code = canonical_code(key)
        except UnknownLanguageError:
            raise ValueError(
                f"{key!r} is not a language code; use the ISO 639-3 code of a judged language "
                f"(or eng), or '{DEFAULT_KEY}' for every other language"
            ) from None
        if code in out:
            raise ValueError(f"{key!r} names {code} a second time; list each language once")
        out[code] = points(f"{key}: ", raw)
    if set(out) == {DEFAULT_KEY}:
        return out[DEFAULT_KEY]  # {"*": x} is the number x
    return out


def parse_tolerance(items: Sequence[str] | None) -> float | dict[str, float]:
    """A tolerance written on a command line: no items (0), one number (``"0.5"``), or
    ``LANG=POINTS`` items (``["kin=1", "*=0.5"]``); checked by :func:`check_tolerance`."""
    items = list(items or [])
    if len(items) == 1 and "=" not in items[0]:
        try:
            number = float(items[0])
        except ValueError:
            raise ValueError(
                f"{items[0]!r} is not a number of dev points; give one number (e.g. 0.5) or "
                "LANG=POINTS for each language (e.g. kin=1 '*=0.5')"
            ) from None
        try:
            return check_tolerance(number)
        except ValueError as exc:
            raise ValueError(f"{items[0]!r}: {exc}") from None
    pairs = [item.split("=", 1) for item in items]
    bad = [item for item, pair in zip(items, pairs, strict=True) if len(pair) != 2]
    if bad:
        raise ValueError(f"{bad[0]!r}: give one number, or LANG=POINTS for each language")
    values: dict[str, float] = {}
    for key, value in pairs:
        try:
            values[key.strip()] = float(value)
        except ValueError:
            raise ValueError(f"{key}={value}: {value!r} is not a number of dev points") from None
    return check_tolerance(values) if values else 0.0


def tolerance_for(tolerance: Tolerance, lang: str) -> float:
    """The dev points ``lang`` may lose: the number itself, or the mapping's entry for
    ``lang``, else its ``"*"`` entry, else 0."""
    if isinstance(tolerance, Mapping):
        return float(tolerance.get(lang, tolerance.get(DEFAULT_KEY, 0.0)))
    return float(tolerance)


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
    tolerance: dict[str, float] = field(default_factory=dict)  # judged lang → points it may lose
    best_mean_alpha: float | None = None  # the best mean over the grid, guard or not
    #: where the payers were measured: the best-mean α, or — when no α > 0 passes the guard and
    #: the best mean is the base's — the best-mean α > 0 (the model one would have wanted)
    payers_alpha: float | None = None
    payers: dict[str, float] = field(default_factory=dict)  # lang → points lost beyond its α = 0
    serves_all: bool = True  # False: no α > 0 keeps every language within its tolerance
    #: the guard's dev scores (str(α) → lang → score): judged, never in the mean (empty: none)
    guard_scores: dict[str, dict[str, float | None]] = field(default_factory=dict)
    guard_tolerance: float | None = None  # points a language may lose on the guard

    def to_dict(self) -> dict:
        return asdict(self) | {"verdict": self.verdict()}

    def _tolerance_of(self, key: str) -> float:
        if key.startswith(GUARD_PREFIX):
            return float(self.guard_tolerance or 0.0)
        return self.tolerance.get(key, 0.0)

    def verdict(self) -> str:
        """One sentence: the choice, and which language pays for the guard (if any)."""
        chosen = f"α={self.alpha:g}"
        if not self.payers or self.payers_alpha is None:
            return f"{chosen}: the best mean dev score keeps every language within its tolerance"
        paid = ", ".join(
            f"{lang} −{drop:.2f} (tolerance {self._tolerance_of(lang):g})"
            for lang, drop in sorted(self.payers.items(), key=lambda kv: -kv[1])
        )
        mean = self.mean.get(str(self.payers_alpha))
        at = f"α={self.payers_alpha:g}" + (f" (mean {mean:.2f})" if mean is not None else "")
        if not self.serves_all:
            return (
                f"one model cannot serve all languages: every α > 0 costs some language more "
                f"than its tolerance; at {at} {paid} points; kept the base ({chosen})"
            )
        return f"{chosen} chosen over the best-mean {at}, where {paid} points would be lost"


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

        from tripletforge.merge.models import IncompatibleModelsError, local_model_folder

        self.base_path = local_model_folder(base)
        self.finetuned_path = local_model_folder(finetuned)
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
    tolerance: Tolerance,
    progress: bool,
    guard: Scorer | None = None,
    guard_tolerance: float = 1.0,
) -> AlphaSearchResult:
    grid = sorted(set(float(a) for a in grid) | {0.0})
    scores: dict[str, dict[str, float | None]] = {}
    guarded: dict[str, dict[str, float | None]] = {}
    with progress_task("α search", len(grid), enabled=progress) as task:
        for alpha in grid:
            interpolation.set(alpha)
            scores[str(alpha)] = _score(scorer, interpolation)
            if guard is not None:
                guarded[str(alpha)] = _score(guard, interpolation)
            task.advance(1, note=f"α={alpha:g}")
    return choose_alpha(scores, no_regression=no_regression, tolerance=tolerance,
                        guard_scores=guarded or None, guard_tolerance=guard_tolerance)  # fmt: skip


#: Prefix of a guard language in ``payers`` (``guard:hau``: Hausa lost on the guard's data).
GUARD_PREFIX = "guard:"


def choose_alpha(
    scores: Mapping[str, Mapping[str, float | None]],
    no_regression: bool = True,
    tolerance: Tolerance = 0.0,
    guard_scores: Mapping[str, Mapping[str, float | None]] | None = None,
    guard_tolerance: float = 1.0,
) -> AlphaSearchResult:
    """The choice from dev scores already measured (``str(α) → {lang: score}``, with α = 0).

    Ties in mean go to the smaller α. ``tolerance``: see :func:`tolerance_for`.
    ``guard_scores`` (same shape, the same α) are a second dev set that only vetoes: an α
    where a language loses more than ``guard_tolerance`` points on it against α = 0 is not
    admissible, but the guard never enters the mean α maximises. A guard loss is named
    ``guard:<lang>`` among the payers. ``ValueError`` when α = 0 is missing, the guard was
    not measured at every α, ``guard_tolerance`` is not a finite number ≥ 0, or a guard is
    given with ``no_regression=False``.
    """
    by_alpha = {float(a): dict(per) for a, per in scores.items()}
    if 0.0 not in by_alpha:
        raise ValueError("the dev scores of α = 0 (the base model) are needed as the floor")
    grid = sorted(by_alpha)
    result = AlphaSearchResult(alpha=0.0, no_regression=no_regression, grid=grid)
    result.scores = {str(a): by_alpha[a] for a in grid}
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
    result.tolerance = {k: tolerance_for(tolerance, k) for k in kept}

    guard: dict[str, dict[str, float | None]] = {}
    if guard_scores is not None:
        if not no_regression:
            raise ValueError("a guard vetoes α only with no_regression=True")
        if not (math.isfinite(guard_tolerance) and guard_tolerance >= 0):
            raise ValueError(f"guard_tolerance must be a finite number ≥ 0, got {guard_tolerance}")
        guard = {str(float(a)): dict(per) for a, per in guard_scores.items()}
        if set(guard) != set(result.scores):
            raise ValueError("the guard's dev scores must be measured at every α of the grid")
        result.guard_scores = guard
        result.guard_tolerance = float(guard_tolerance)
    guard_langs = sorted(
        k for k in (guard.get("0.0") or {}) if all(per.get(k) is not None for per in guard.values())
    )

    def over(alpha: float) -> dict[str, float]:
        """Languages that lose more than their tolerance at α, and how many points they lose."""
        at = result.scores[str(alpha)]
        drops = {k: floor[k] - at[k] for k in kept}  # type: ignore[operator]
        out = {k: round(d, 6) for k, d in drops.items() if d > result.tolerance[k] + 1e-9}
        if guard:
            base, now = guard["0.0"], guard[str(alpha)]
            for k in guard_langs:
                drop = base[k] - now[k]  # type: ignore[operator]
                if drop > guard_tolerance + 1e-9:
                    out[f"{GUARD_PREFIX}{k}"] = round(drop, 6)
        return out

    for alpha in grid:
        if not no_regression or not over(alpha):
            result.admissible.append(alpha)
    if not kept:
        log.warning("no language has a defined dev score at every α; keeping the base (α = 0)")
        return result

    def best(alphas: list[float]) -> float:
        return max(alphas, key=lambda a: (result.mean[str(a)], -a))

    result.alpha = best(result.admissible)
    result.best_mean_alpha = best(grid)
    positive = [a for a in grid if a > 0]
    if no_regression and positive and not any(a > 0 for a in result.admissible):
        result.serves_all = False
    if no_regression and result.best_mean_alpha != result.alpha:
        result.payers_alpha = result.best_mean_alpha
    elif not result.serves_all:
        result.payers_alpha = best(positive)
    if result.payers_alpha is not None:
        result.payers = over(result.payers_alpha)
    return result


def search_alpha(
    base: str,
    finetuned: str,
    scorer: Scorer,
    grid: Sequence[float] = DEFAULT_GRID,
    no_regression: bool = True,
    tolerance: Tolerance = 0.0,
    progress: bool = True,
    guard: Scorer | None = None,
    guard_tolerance: float = 1.0,
) -> AlphaSearchResult:
    """Score ``(1 − α)·base + α·finetuned`` for each α in ``grid`` and pick the best α.

    ``tolerance``: dev points (same units as the scorer's) a language may lose against α = 0
    and still count as not regressing: one number for every language, or a mapping
    ``{lang: points, "*": default}`` (:func:`tolerance_for`). ``progress`` shows one bar over
    the grid. The ends (α = 0, 1) of an evaluation scorer
    (:class:`tripletforge.merge.dev.EvaluationScorer`) are scored through the embedding cache
    (keyed by the base's and the fine-tuned folder's fingerprints). ``guard``: a second dev
    scorer that only vetoes an α (see :func:`choose_alpha`).
    """
    interpolation = Interpolation(base, finetuned)
    return _search(interpolation, scorer, grid, no_regression, tolerance, progress, guard,
                   guard_tolerance)  # fmt: skip


def wise_ft(
    base: str,
    finetuned: str,
    scorer: Scorer,
    out: str | Path,
    *,
    grid: Sequence[float] = DEFAULT_GRID,
    no_regression: bool = True,
    tolerance: Tolerance = 0.0,
    provenance: dict[str, Any] | None = None,
    link_ends: bool = False,
    progress: bool = True,
    guard: Scorer | None = None,
    guard_tolerance: float = 1.0,
) -> tuple[AlphaSearchResult, Path]:
    """WiSE-FT (Wortsman et al. 2022) with α chosen on dev data: search, then merge.

    Writes ``(1 − α)·base + α·finetuned`` to ``out`` (a sentence-transformers folder) with the
    search in its provenance. With ``link_ends`` an α of 0 or 1 writes no copy: ``out`` is
    then a text file ``same_as.txt`` next to where the folder would be, naming the model it
    equals (what the pipeline does). ``guard``/``guard_tolerance``: a second dev set that
    vetoes α (:func:`choose_alpha`). Returns the search result and what was written.
    """
    from tripletforge.merge.models import (
        check_compatible,
        local_model_folder,
        merge_record,
        save_merged,
    )

    paths = [local_model_folder(base), local_model_folder(finetuned)]  # resolved once
    check_compatible(paths)
    interpolation = Interpolation(*paths)
    result = _search(interpolation, scorer, grid, no_regression, tolerance, progress, guard,
                     guard_tolerance)  # fmt: skip
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
