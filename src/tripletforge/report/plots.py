"""The report's PNG plots (matplotlib, Agg backend): one function per figure."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from tripletforge.report.collect import RunData


def _best(data: RunData, lang: str, arm: str, model: str) -> float | None:
    """The score at the largest size that has one."""
    for size in reversed(data.sizes):
        score = data.score(lang, arm, size, model)
        if score is not None and score.main is not None:
            return score.main
    return None


def _task_label(data: RunData) -> str:
    tasks = sorted({s.main_task for s in data.scores})
    names = {"sts": "Spearman ×100", "retrieval": "nDCG@10 ×100", "bitext": "accuracy ×100"}
    return " / ".join(names.get(t, t) for t in tasks) or "score"


def plot_by_arm(data: RunData, path: Path) -> Path | None:
    """Main metric per language by arm (largest size), trained and merged, and the base."""
    langs = data.languages
    if not langs:
        return None
    series: list[tuple[str, list[float | None]]] = [
        ("base", [_best_base(data, lang) for lang in langs])
    ]
    for arm in data.arms:
        series.append((arm, [_best(data, lang, arm, "trained") for lang in langs]))
        merged = [_best(data, lang, arm, "merged") for lang in langs]
        if any(v is not None for v in merged):
            series.append((f"{arm} + merge", merged))
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(langs) * len(series) / 2 + 2), 3.6))
    width = 0.8 / len(series)
    for i, (label, values) in enumerate(series):
        xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(langs))]
        ys = [v if v is not None else 0.0 for v in values]
        bars = ax.bar(xs, ys, width, label=label, hatch="//" if "merge" in label else None)
        for bar, value in zip(bars, values, strict=True):
            if value is not None:
                ax.annotate(
                    f"{value:.1f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=7,
                )  # fmt: skip
    ax.set_xticks(range(len(langs)), langs)
    ax.set_ylabel(_task_label(data))
    size = max(data.sizes) if data.sizes else "?"
    ax.set_title(f"Main metric per language by arm ({size} triplets)")
    ax.legend(fontsize=8, ncols=2)
    return _save(fig, path)


def _best_base(data: RunData, lang: str) -> float | None:
    score = data.score(lang, "base", None, "base")
    return score.main if score else None


def plot_scaling(data: RunData, path: Path) -> Path | None:
    """Main metric against training-set size, one line per arm, a panel per language."""
    langs = data.languages
    if not langs or not data.sizes:
        return None
    fig, axes = plt.subplots(1, len(langs), figsize=(4.2 * len(langs), 3.4), squeeze=False)
    for ax, lang in zip(axes[0], langs, strict=True):
        for arm in data.arms:
            for model, style in (("trained", "-o"), ("merged", "--s")):
                points = [
                    (s, sc.main)
                    for s in data.sizes
                    if (sc := data.score(lang, arm, s, model)) is not None and sc.main is not None
                ]
                if points:
                    label = arm if model == "trained" else f"{arm} + merge"
                    ax.plot(*zip(*points, strict=True), style, label=label)
        base = _best_base(data, lang)
        if base is not None:
            ax.axhline(base, color="grey", linestyle=":", label="base")
        ax.set_title(lang)
        ax.set_xlabel("training triplets")
        ax.set_xticks(data.sizes)
        ax.set_ylabel(_task_label(data))
        ax.legend(fontsize=7)
    fig.suptitle("Data-size scaling")
    return _save(fig, path)


def plot_geometry(data: RunData, path: Path) -> Path | None:
    """Alignment (lower is better) against uniformity (lower is better), per arm."""
    points = [s for s in data.scores if s.alignment is not None and s.uniformity is not None]
    if not points:
        return None
    fig, ax = plt.subplots(figsize=(5.2, 4))
    groups: dict[str, list] = {}
    for s in points:
        label = "base" if s.arm == "base" else (s.arm + (" + merge" if s.model == "merged" else ""))
        groups.setdefault(label, []).append(s)
    markers = "o^sDvP*X"
    for i, (label, items) in enumerate(groups.items()):
        ax.scatter(
            [s.uniformity for s in items], [s.alignment for s in items],
            label=label, marker=markers[i % len(markers)], s=40,
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
    labels: list[str] = []
    for f in data.funnels:
        names = ["anchors", "triplets"] + [s["filter"] for s in f.steps]
        counts = [f.anchors, f.generated] + [s["rows_out"] for s in f.steps]
        pairs = [(n, c) for n, c in zip(names, counts, strict=True) if c is not None]
        if len(pairs) > len(labels):
            labels = [n for n, _ in pairs]
        ax.plot(range(len(pairs)), [c for _, c in pairs], "-o", label=f"{f.lang}/{f.arm}")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_ylabel("rows")
    ax.set_ylim(bottom=0)
    ax.set_title("Filter funnel")
    ax.legend(fontsize=7)
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
}


def make_plots(data: RunData, folder: Path) -> dict[str, tuple[Path, str]]:
    """Write every plot that has data; name → (PNG path, title)."""
    out = {}
    for name, (fn, title) in PLOTS.items():
        path = fn(data, folder / f"{name}.png")
        if path is not None:
            out[name] = (path, title)
    return out
