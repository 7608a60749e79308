"""Three-way table for docs/connect.md: target alone, encoder alone, connected, per language.

Reads the ``results.json`` of three ``tripletforge evaluate`` runs on the same suite
(``tripletforge.evaluate.results``: one entry per data set with its task type, language,
``main_metric`` and ``main_score``, raw as mteb reports it) and prints Markdown:

1. one row per data set present in all three runs: the main score ×100 of each model;
2. one row per language: the mean main score ×100 over that language's data sets (undefined
   scores left out, and counted), the connected model's difference to the target, and the
   best of the three.

Only languages of ``--langs`` are kept (default: the issue's hau kin amh mar tel afr swh).

    python scripts/connect_table.py eval/minilm/results.json eval/e5/results.json \\
        eval/connected/results.json --names "MiniLM (target)" "e5-small (encoder)" connected
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

LANGS = ("hau", "kin", "amh", "mar", "tel", "afr", "swh")


def scores(path: Path) -> dict[str, dict]:
    """``data set name → {lang, task, metric, score}`` of one ``results.json`` (score ×100)."""
    out = {}
    for d in json.loads(path.read_text(encoding="utf-8"))["datasets"]:
        value = d.get("main_score")
        out[d["name"]] = {
            "lang": d["lang"],
            "task": d["task"],
            "metric": d.get("main_metric") or "main_score",
            "score": None if value is None else 100 * float(value),
        }
    return out


def _cell(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _mean(values: list[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None


def table(runs: list[dict[str, dict]], names: list[str], langs: tuple[str, ...]) -> str:
    """The Markdown of both tables (see the module docstring)."""
    common = [n for n in runs[0] if all(n in r for r in runs) and runs[0][n]["lang"] in langs]
    lines = ["| data set | lang | task | main metric | " + " | ".join(names) + " |"]
    lines.append("|" + "---|" * (4 + len(names)))
    for name in common:
        first = runs[0][name]
        cells = [_cell(r[name]["score"]) for r in runs]
        lines.append(
            f"| {name} | {first['lang']} | {first['task']} | {first['metric']} | "
            + " | ".join(cells)
            + " |"
        )
    lines += ["", "| lang | data sets | " + " | ".join(names) + " | connected − target | best |"]
    lines.append("|" + "---|" * (4 + len(names)))
    for lang in [code for code in langs if any(runs[0][n]["lang"] == code for n in common)]:
        mine = [n for n in common if runs[0][n]["lang"] == lang]
        means = [_mean([r[n]["score"] for n in mine]) for r in runs]
        diff = None if means[2] is None or means[0] is None else means[2] - means[0]
        best = max(
            (m, names[i]) for i, m in enumerate(means) if m is not None
        )[1] if any(m is not None for m in means) else "–"  # fmt: skip
        lines.append(
            f"| {lang} | {len(mine)} | "
            + " | ".join(_cell(m) for m in means)
            + f" | {'–' if diff is None else f'{diff:+.1f}'} | {best} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs=3, type=Path, help="target, encoder, connected")
    parser.add_argument("--names", nargs=3, default=["target", "encoder", "connected"])
    parser.add_argument("--langs", nargs="+", default=list(LANGS))
    args = parser.parse_args()
    print(table([scores(p) for p in args.results], args.names, tuple(args.langs)))


if __name__ == "__main__":
    main()
