"""Three-way table for docs/connect.md: target alone, encoder alone, connected, per language.

Reads the ``results.json`` of three ``tripletforge evaluate`` runs (same suite and data sets)
and prints Markdown: one row per data set (main score ×100), then one row per language with
the mean of its data sets' main scores, and which model wins.

    python scripts/connect_table.py eval/minilm/results.json eval/e5/results.json \
        eval/connected/results.json --names "MiniLM (target)" "e5-small (encoder)" connected
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

MAIN = {"sts": "spearman", "bitext": "margin", "retrieval": "ndcg@10"}
LABEL = {"sts": "STS ρ", "bitext": "bitext acc (margin)", "retrieval": "retrieval nDCG@10"}


def scores(path: Path) -> dict[str, tuple[str, str, float]]:
    """``name → (lang, task, main score ×100)`` of one results.json."""
    out = {}
    for d in json.loads(path.read_text())["datasets"]:
        key = MAIN[d["task"]]
        if d["task"] == "retrieval":
            key = next(k for k in d["metrics"] if k.startswith("ndcg@"))
        out[d["name"]] = (d["lang"], d["task"], 100 * float(d["metrics"][key]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs=3, type=Path, help="target, encoder, connected")
    parser.add_argument("--names", nargs=3, default=["target", "encoder", "connected"])
    args = parser.parse_args()
    runs = [scores(p) for p in args.results]
    names = [n for n in runs[0] if all(n in r for r in runs)]
    head = "| data set | lang | metric | " + " | ".join(args.names) + " |"
    print(head)
    print("|" + "---|" * (3 + len(args.names)))
    for name in names:
        lang, task, _ = runs[0][name]
        cells = [f"{r[name][2]:.1f}" for r in runs]
        print(f"| {name} | {lang} | {LABEL[task]} | " + " | ".join(cells) + " |")
    print()
    print("| lang | data sets | " + " | ".join(args.names) + " | connected − target |")
    print("|" + "---|" * (3 + len(args.names)))
    langs = sorted({runs[0][n][0] for n in names})
    for lang in langs:
        mine = [n for n in names if runs[0][n][0] == lang]
        means = [sum(r[n][2] for n in mine) / len(mine) for r in runs]
        cells = [f"{m:.1f}" for m in means]
        print(f"| {lang} | {len(mine)} | " + " | ".join(cells) + f" | {means[2] - means[0]:+.1f} |")


if __name__ == "__main__":
    main()
