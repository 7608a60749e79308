"""The report's PNG plots (matplotlib, Agg backend): one function per figure."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from tripletforge.report.collect import CONNECTED_MODELS, RunData


def _best(data: RunData, lang: str, arm: str, model: str) -> float | None:
    """The score at the largest size that has one."""
    for size in reversed(data.sizes):
        score = data.score(lang, arm, size, model)
        if score is not None and score.main is not None:
            return score.main
    return None


def arm_colors(data: RunData) -> dict[str, str]:
    """One colour per arm, the same in every plot (the base is grey)."""
    palette = plt.get_cmap("tab10").colors
    colors = {"base": "#7f7f7f"}
    for i, arm in enumerate(data.arms):
        colors[arm] = matplotlib.colors.to_hex(palette[[0, 1, 2, 3, 4, 5, 6, 8, 9][i % 9]])
    return colors


def _task_label(data: RunData) -> str:
    tasks = sorted({s.main_task for s in data.scores})
    names = {
        "sts": "Spearman ×100",
        "retrieval": "nDCG@10 ×100",
        "bitext": "F1 ×100",
        "reranking": "MAP@1000 ×100",
        "classification": "accuracy ×100",
        "clustering": "V-measure ×100",
        "pair_classification": "max AP ×100",
    }
    return " / ".join(names.get(t, t) for t in tasks) or "score"


def plot_by_arm(data: RunData, path: Path) -> Path | None:
    """Main metric per language by arm (largest size), trained and merged, and the base."""
    langs = data.languages
    if not langs:
        return None
    colors = arm_colors(data)
    series: list[tuple[str, str, bool, list[float | None]]] = [
        ("base", "base", False, [_best_base(data, lang) for lang in langs])
    ]
    for arm in data.arms:
        if any(data.connected_scores(lang, arm) for lang in langs):  # a connected arm
            for model, label in CONNECTED_MODELS.items():
                values = [_score(data, lang, arm, model) for lang in langs]
                if any(v is not None for v in values):
                    alone = model != "connected"  # an end alone: the arm's colour, hatched
                    series.append((f"{arm}: {label}", arm, alone, values))
            continue
        series.append((arm, arm, False, [_best(data, lang, arm, "trained") for lang in langs]))
        merged = [_best(data, lang, arm, "merged") for lang in langs]
        if any(v is not None for v in merged):
            series.append((f"{arm} + merge", arm, True, merged))
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(langs) * len(series) / 2 + 2), 3.6))
    width = 0.8 / len(series)
    for i, (label, arm, is_merge, values) in enumerate(series):
        xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(langs))]
        ys = [v if v is not None else 0.0 for v in values]
        bars = ax.bar(
            xs, ys, width, label=label, color=colors[arm], alpha=0.6 if is_merge else 1.0,
            hatch="//" if is_merge else None, edgecolor="white" if is_merge else None,
        )  # fmt: skip
        for bar, value in zip(bars, values, strict=True):
            if value is not None:
                ax.annotate(
                    f"{value:.1f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=7,
                )  # fmt: skip
    ax.set_xticks(range(len(langs)), langs)
    ax.set_ylabel(_task_label(data))
    sizes = f" (largest size: {max(data.sizes)})" if data.sizes else ""  # none: connected only
    ax.set_title(f"Main metric by arm{sizes}")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(fig, path)


def _score(data: RunData, lang: str, arm: str, model: str) -> float | None:
    """The main score of a model without a size (a connected arm's)."""
    score = data.score(lang, arm, None, model)
    return score.main if score else None


def _best_base(data: RunData, lang: str) -> float | None:
    score = data.score(lang, "base", None, "base")
    return score.main if score else None


def plot_scaling(data: RunData, path: Path) -> Path | None:
    """Main metric against the triplets actually trained on, one line per arm and language.

    A size that got fewer triplets than asked (too few survived the filters) is drawn at the
    number it got; sizes that trained on the same rows are one point.
    """
    langs = data.languages
    if not langs or not data.sizes:
        return None
    colors = arm_colors(data)
    fig, axes = plt.subplots(1, len(langs), figsize=(4.2 * len(langs), 3.4), squeeze=False)
    for ax, lang in zip(axes[0], langs, strict=True):
        ticks: set[int] = set()
        for arm in data.arms:
            for model, style in (("trained", "-o"), ("merged", "--s")):
                points: dict[int, float] = {}
                for size in data.sizes:
                    score = data.score(lang, arm, size, model)
                    if score is not None and score.main is not None:
                        points.setdefault(data.trained_rows(lang, arm, size), score.main)
                if points:
                    label = arm if model == "trained" else f"{arm} + merge"
                    xs = sorted(points)
                    ax.plot(xs, [points[x] for x in xs], style, label=label, color=colors[arm],
                            alpha=0.6 if model == "merged" else 1.0)  # fmt: skip
                    ticks.update(xs)
        base = _best_base(data, lang)
        if base is not None:
            ax.axhline(base, color=colors["base"], linestyle=":", label="base")
        ax.set_title(lang)
        ax.set_xscale("log", base=2)
        shown = _spread_ticks(sorted(ticks), keep=set(data.sizes))
        ax.set_xticks(shown, [str(t) for t in shown])
        ax.minorticks_off()
        ax.set_xlabel("training triplets (after filtering)")
        ax.set_ylabel(_task_label(data))
    handles: dict[str, object] = {}
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    axes[0][-1].legend(
        list(handles.values()), list(handles), fontsize=7, loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
    )  # fmt: skip
    fig.suptitle("Data-size scaling")
    return _save(fig, path)


def _spread_ticks(ticks: list[int], keep: set[int], gap: float = 1.15) -> list[int]:
    """Ticks far enough apart on a log axis to stay legible (the configured sizes win)."""
    shown: list[int] = []
    for tick in ticks:
        if shown and tick < shown[-1] * gap:
            if tick in keep and shown[-1] not in keep:
                shown[-1] = tick
            continue
        shown.append(tick)
    return shown


def plot_geometry(data: RunData, path: Path) -> Path | None:
    """Alignment (lower is better) against uniformity (lower is better), per arm."""
    points = [s for s in data.scores if s.alignment is not None and s.uniformity is not None]
    if not points:
        return None
    fig, ax = plt.subplots(figsize=(5.2, 4))
    groups: dict[str, list] = {}
    for s in points:
        label = "base" if s.arm == "base" else (s.arm + (" + merge" if s.model == "merged" else ""))
        if s.model in CONNECTED_MODELS and s.model != "connected":
            label = f"{s.arm}: {CONNECTED_MODELS[s.model]}"
        groups.setdefault(label, []).append(s)
    colors = arm_colors(data)
    for label, items in groups.items():
        merged = label.endswith(" + merge")
        ax.scatter(
            [s.uniformity for s in items], [s.alignment for s in items], label=label,
            marker="s" if merged else ("*" if label == "base" else
                                       "^" if label.endswith(" alone") else "o"), s=40,
            color=colors.get(items[0].arm, "black"), alpha=0.6 if merged else 1.0,
        )  # fmt: skip
        for s in items:
            text = s.lang if s.size is None else f"{s.lang}/{s.size}"
            ax.annotate(text, (s.uniformity, s.alignment), fontsize=6, alpha=0.7)
    ax.set_xlabel("uniformity (lower = more uniform)")
    ax.set_ylabel("alignment (lower = closer positives)")
    ax.set_title("Alignment vs uniformity (main task's data)")
    ax.legend(fontsize=7)
    return _save(fig, path)


def plot_funnel(data: RunData, path: Path) -> Path | None:
    """Rows left after each step, from anchors to kept triplets, per (language, arm)."""
    if not data.funnels:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    colors = arm_colors(data)
    dashes = ["-", "--", ":", "-."]
    styles = {lang: dashes[i % len(dashes)] for i, lang in enumerate(data.languages)}
    # one x position per step name, in order of first appearance (a retrieval task's funnel
    # has a `negatives` step the others lack)
    steps = list(dict.fromkeys(s["filter"] for f in data.funnels for s in f.steps))
    labels = ["anchors", "triplets", *sorted(steps, key=lambda name: name != "negatives")]
    for f in data.funnels:
        names = ["anchors", "triplets"] + [s["filter"] for s in f.steps]
        counts = [f.anchors, f.generated] + [s["rows_out"] for s in f.steps]
        pairs = [(n, c) for n, c in zip(names, counts, strict=True) if c is not None]
        ax.plot(
            [labels.index(n) for n, _ in pairs], [c for _, c in pairs], marker="o",
            label=f"{f.lang}/{f.label}", color=colors.get(f.arm, "black"),
            linestyle=styles.get(f.lang, "-"),
        )  # fmt: skip
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_ylabel("rows")
    ax.set_ylim(bottom=0)
    ax.set_title("Filter funnel")
    ax.legend(fontsize=7)
    return _save(fig, path)


def plot_adapter_losses(data: RunData, path: Path) -> Path | None:
    """Training loss of every generator adapter, one panel per adapter type.

    Raw per-step losses faint, a moving average (window: a tenth of the steps, at least 1)
    solid; a star marks the held-out loss after training, a circle the one before.
    """
    from tripletforge.adapters.report import read_loss_curve

    curves: dict[str, list] = {}
    for adapter in data.adapters:
        try:
            curve = read_loss_curve(adapter.folder, adapter.label)
        except (FileNotFoundError, ValueError, KeyError):
            continue
        curves.setdefault(adapter.kind, []).append((adapter, curve))
    if not curves:
        return None
    kinds = [k for k in ("xlora", "task", "language") if k in curves] + sorted(
        k for k in curves if k not in ("xlora", "task", "language")
    )
    fig, axes = plt.subplots(1, len(kinds), figsize=(4.4 * len(kinds), 3.4), squeeze=False)
    for ax, kind in zip(axes[0], kinds, strict=True):
        for i, (adapter, curve) in enumerate(curves[kind]):
            color = f"C{i}"
            steps = range(1, len(curve.losses) + 1)
            window = max(1, len(curve.losses) // 10)
            ax.plot(steps, curve.losses, color=color, alpha=0.25, linewidth=0.8)
            ax.plot(steps, curve.smoothed(window), color=color, label=adapter.which)
            if adapter.eval_before is not None and adapter.eval_after is not None:
                ax.scatter([1], [adapter.eval_before], color=color, marker="o", s=18)
                ax.scatter([len(curve.losses)], [adapter.eval_after], color=color, marker="*",
                           s=50)  # fmt: skip
        ax.set_title(f"{kind} adapters")
        ax.set_xlabel("optimiser step")
        ax.set_ylabel("loss (token NLL)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Generator adapter training (● held-out before, ★ after)")
    return _save(fig, path)


def plot_merge_tradeoff(data: RunData, path: Path) -> Path | None:
    """The merge trade-off curve: per arm, each merge's mean dev score against its worst
    language's dev Δ vs the base, over the α grid.

    One line per merge (language × size; α = 0 is the base, at Δ 0), α written at each point,
    the chosen α a star; a soup run marks its soup (α = 1, a diamond) and the trained model's
    last checkpoint (a cross). The dotted line at 0 is "no language below its base"; the dashed
    one, where all languages share a tolerance, the guard's limit.
    """
    curves = [(m, m.curve()) for m in data.merge_units()]
    curves = [(m, c) for m, c in curves if len(c) > 1]
    if not curves:
        return None
    arms = list(dict.fromkeys(m.arm for m, _ in curves))
    langs = list(dict.fromkeys(m.lang for m, _ in curves))
    sizes = sorted({m.size for m, _ in curves})
    palette = plt.get_cmap("tab10").colors
    dashes = ["-", "--", ":", "-."]
    fig, axes = plt.subplots(1, len(arms), figsize=(4.8 * len(arms) + 1.6, 3.8), squeeze=False)
    for ax, arm in zip(axes[0], arms, strict=True):
        tolerances: set[float] = set()
        for m, curve in curves:
            if m.arm != arm:
                continue
            color = palette[langs.index(m.lang) % len(palette)]
            style = dashes[sizes.index(m.size) % len(dashes)]
            xs, ys = [p.worst_delta for p in curve], [p.mean for p in curve]
            label = m.lang if len(sizes) == 1 else f"{m.lang}/{m.size}"
            ax.plot(xs, ys, style, marker="o", markersize=3, color=color, label=label)
            for p in curve:
                ax.annotate(f"{p.alpha:g}", (p.worst_delta, p.mean), fontsize=6, alpha=0.7,
                            xytext=(2, 2), textcoords="offset points")  # fmt: skip
            chosen = next((p for p in curve if p.alpha == m.alpha), None)
            if chosen is not None:
                ax.scatter([chosen.worst_delta], [chosen.mean], marker="*", s=140, color=color,
                           edgecolor="black", linewidth=0.6, zorder=3)  # fmt: skip
            if m.soup:
                soup = next((p for p in curve if p.alpha == 1.0), None)
                if soup is not None:
                    ax.scatter([soup.worst_delta], [soup.mean], marker="D", s=40, color=color,
                               edgecolor="black", linewidth=0.6, zorder=3)  # fmt: skip
                last = m.soup_last
                if last is not None:
                    ax.scatter([last.worst_delta], [last.mean], marker="x", s=40, color=color)
            tolerances.update(m.tolerance.values())
        ax.axvline(0.0, color="#7f7f7f", linestyle=":", linewidth=1)
        if len(tolerances) == 1 and (tol := tolerances.pop()) > 0:
            ax.axvline(-tol, color="#7f7f7f", linestyle="--", linewidth=1)
        ax.set_title(arm)
        ax.set_xlabel("worst language's dev Δ vs base (points)")
        ax.set_ylabel(f"mean dev {data.merge_units()[0].dev_metric} ×100")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    soups = " ◆ soup, × last checkpoint;" if any(m.soup for m, _ in curves) else ""
    fig.suptitle(f"Merge trade-off over α\n(★ chosen;{soups} left of 0: some language loses)")
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


PLOTS = {
    "main_by_arm": (plot_by_arm, "Main metric per language by arm"),
    "scaling": (plot_scaling, "Data-size scaling"),
    "alignment_uniformity": (plot_geometry, "Alignment vs uniformity"),
    "funnel": (plot_funnel, "Filter funnel"),
    "adapter_losses": (plot_adapter_losses, "Generator adapter training loss"),
    "merge_tradeoff": (plot_merge_tradeoff, "Merge trade-off: mean vs worst language"),
}


def make_plots(data: RunData, folder: Path) -> dict[str, tuple[Path, str]]:
    """Write every plot that has data; name → (PNG path, title)."""
    out = {}
    for name, (fn, title) in PLOTS.items():
        path = fn(data, folder / f"{name}.png")
        if path is not None:
            out[name] = (path, title)
    return out
