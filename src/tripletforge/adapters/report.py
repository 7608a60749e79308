"""Loss curves of trained adapters: read the per-step log and plot one or more adapters.

>>> plot_loss_curves(["adapters/xlora-pos", "adapters/xlora-neg"], "loss.png")  # doctest: +SKIP
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tripletforge.adapters.train import TRAIN_LOG_FILE, read_provenance


@dataclass
class LossCurve:
    """The per-step losses (and step times when logged) of one adapter."""

    label: str
    losses: list[float]
    seconds: list[float]

    def smoothed(self, window: int) -> list[float]:
        """Trailing moving average over ``window`` steps (shorter at the start)."""
        out, total = [], 0.0
        for i, loss in enumerate(self.losses):
            total += loss
            if i >= window:
                total -= self.losses[i - window]
            out.append(total / min(i + 1, window))
        return out


def read_loss_curve(adapter_dir: str | Path, label: str | None = None) -> LossCurve:
    """Read ``train_log.csv`` of an adapter folder, or the losses in its provenance file."""
    adapter_dir = Path(adapter_dir)
    label = label or adapter_dir.name
    log = adapter_dir / TRAIN_LOG_FILE
    if log.is_file():
        with open(log, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        return LossCurve(
            label,
            [float(r["loss"]) for r in rows],
            [float(r["seconds"]) for r in rows if r.get("seconds")],
        )
    provenance = read_provenance(adapter_dir)
    if not provenance.get("losses"):
        raise FileNotFoundError(f"{adapter_dir}: no {TRAIN_LOG_FILE} and no losses recorded")
    return LossCurve(label, list(provenance["losses"]), list(provenance.get("step_seconds", [])))


def plot_loss_curves(
    adapter_dirs: Sequence[str | Path],
    out: str | Path,
    *,
    window: int = 10,
    title: str | None = None,
) -> Path:
    """Plot raw (faint) and moving-average losses of each adapter into one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    for i, folder in enumerate(adapter_dirs):
        curve = read_loss_curve(folder)
        steps = range(1, len(curve.losses) + 1)
        color = f"C{i}"
        ax.plot(steps, curve.losses, color=color, alpha=0.25, linewidth=0.8)
        ax.plot(steps, curve.smoothed(window), color=color, label=f"{curve.label} (avg {window})")
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("training loss (mean token NLL)")
    ax.set_title(title or "adapter training loss")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
