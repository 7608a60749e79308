"""Build the shipped few-shot pool ``resources/nli_pool/snli_en.jsonl`` from SNLI dev/test.

SNLI (CC BY-SA 4.0) is tokenised in ``shared/data/snli_dev_test_tok``; this script
detokenises it, groups each premise with one entailment and one contradiction hypothesis,
keeps well-formed triplets and samples a fixed number with a fixed seed.

    python scripts/build_nli_pool.py [--data ../shared/data] [--n 300] [--seed 13]

``--xnli`` writes a pool from the English columns of myXNLI instead (non-commercial licence:
for local use only, never shipped).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "tripletforge" / "resources" / "nli_pool" / "snli_en.jsonl"

_RULES = [
    (re.compile(r" ([.,!?;:%)\]}])"), r"\1"),
    (re.compile(r"([(\[{$]) "), r"\1"),
    (re.compile(r" (n't|'s|'re|'ve|'m|'ll|'d)\b", re.I), r"\1"),
    (re.compile(r"`` ?| ?''"), '"'),
    (re.compile(r" - "), "-"),
    (re.compile(r"\s+"), " "),
]


def detokenise(text: str) -> str:
    """Undo Penn-Treebank style tokenisation (``packages .`` → ``packages.``)."""
    text = text.strip()
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)
    text = text.strip()
    if text and text[0].islower():
        text = text[0].upper() + text[1:]
    if text and text[-1] not in '.!?"':
        text += "."
    return text


def _good(sentence: str) -> bool:
    words = sentence.split()
    return 3 <= len(words) <= 30 and '"' not in sentence


def snli_triplets(folder: Path) -> list[dict[str, str]]:
    """One (premise, entailment, contradiction) per SNLI premise of the dev and test splits."""
    rows = []
    for split in ("dev", "test"):
        s1 = (folder / f"s1.{split}").read_text(encoding="utf-8").splitlines()
        s2 = (folder / f"s2.{split}").read_text(encoding="utf-8").splitlines()
        labels = (folder / f"labels.{split}").read_text(encoding="utf-8").splitlines()
        groups: dict[str, dict[str, str]] = {}
        for premise, hypothesis, label in zip(s1, s2, labels, strict=True):
            group = groups.setdefault(premise, {})
            group.setdefault(label.strip(), hypothesis)
        for index, (premise, group) in enumerate(groups.items()):
            if "entailment" in group and "contradiction" in group:
                row = {
                    "id": f"snli-{split}-{index}",
                    "anchor": detokenise(premise),
                    "positive": detokenise(group["entailment"]),
                    "negative": detokenise(group["contradiction"]),
                }
                if all(_good(row[k]) for k in ("anchor", "positive", "negative")):
                    rows.append(row)
    return rows


def xnli_triplets(folder: Path) -> list[dict[str, str]]:
    """The same from the English columns of myXNLI (NC licence: never ship the result)."""
    groups: dict[str, dict[str, str]] = {}
    for path in sorted(folder.glob("*.tsv")):
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
                group = groups.setdefault(row["sentence1_en"], {})
                group.setdefault(row["label"], row["sentence2_en"])
    rows = []
    for index, (premise, group) in enumerate(groups.items()):
        if "entailment" in group and "contradiction" in group:
            row = {
                "id": f"xnli-{index}",
                "anchor": premise.strip(),
                "positive": group["entailment"].strip(),
                "negative": group["contradiction"].strip(),
            }
            if all(_good(row[k]) for k in ("anchor", "positive", "negative")):
                rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--xnli", action="store_true", help="build from myXNLI (not shippable)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.xnli:
        rows = xnli_triplets(args.data / "myxnli_xnli_en_my_sw_ur")
        out = args.out or Path("xnli_en_pool.jsonl")
    else:
        rows = snli_triplets(args.data / "snli_dev_test_tok")
        out = args.out or OUT
    random.Random(args.seed).shuffle(rows)
    rows = sorted(rows[: args.n], key=lambda r: r["id"])
    with open(out, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps({**row, "lang": "eng"}, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} triplets to {out}")


if __name__ == "__main__":
    main()
