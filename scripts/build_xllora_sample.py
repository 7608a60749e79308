"""Build the shipped XL-LoRA sample ``resources/xllora/`` from the XL-LoRA generator data.

The XL-LoRA generator training pairs of arXiv 2603.01732 (MIT, mbasoz/xllora-embedding:
``data/``; a copy is in ``shared/data/xllora_generator_data``) are two CSVs of 10k rows each:
``*_pos.csv`` (``sent0,sent1``: premise in one of 14 XNLI languages → English entailment) and
``*_neg.csv`` (``sent0,hard_neg`` → English contradiction). This script keeps the same seeded
sample of row numbers from both files, rows unchanged, with the files' own CSV quoting, and
copies the licence next to them: a sample small enough to train adapters on a CPU
(``adapters.xlora.pairs: sample`` in a pipeline config).

    python scripts/build_xllora_sample.py [--data ../shared/data] [--n 600] [--seed 13]
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "tripletforge" / "resources" / "xllora"


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--n", type=int, default=600, help="rows kept per polarity")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    folder = args.data / "xllora_generator_data"
    files = {kind: next(folder.glob(f"*_{kind}.csv")) for kind in ("pos", "neg")}
    tables = {kind: read_rows(path) for kind, path in files.items()}
    count = min(len(rows) for _, rows in tables.values())
    chosen = sorted(random.Random(args.seed).sample(range(count), args.n))
    OUT.mkdir(parents=True, exist_ok=True)
    for kind, path in files.items():
        header, rows = tables[kind]
        out = OUT / path.name.replace("_10k_", "_sample_")
        with open(out, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows[i] for i in chosen)
        print(f"{out}: {len(chosen)} rows")
    shutil.copy(folder / "LICENSE", OUT / "LICENSE")


if __name__ == "__main__":
    main()
