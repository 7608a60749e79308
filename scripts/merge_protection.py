"""Per-language protection of one trained model on dev data: α search on the final model and on
its per-language checkpoint soup, who pays, and the report's trade-off curve.

    OMP_NUM_THREADS=2 python scripts/merge_protection.py --model runs/m --base e5-small \
        --semrel-root ../shared/data/semrel2024 --lang afr --lang amh --lang arq --lang ary \
        --lang hau --lang kin --lang mar --lang tel --lang eng --tolerance 0.5 --out out/

``--model`` is a ``tripletforge train`` output (``--keep-checkpoints`` for the soup). Writes
``OUT/run`` (one merge manifest per end: ``final`` and ``soup``) and its report
(``OUT/run/report``, with ``plots/merge_tradeoff.png``), and prints one JSON line per end: the
chosen and best-mean α, the mean and worst language's Δ of each, the payers and the verdict.
A thin driver over :func:`tripletforge.merge.search_alpha`,
:func:`tripletforge.merge.checkpoints.soup_checkpoints` and
:func:`tripletforge.report.build_report`.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="trained model folder")
    parser.add_argument("--base", default="e5-small")
    parser.add_argument("--semrel-root", required=True)
    parser.add_argument("--lang", action="append", required=True)
    parser.add_argument("--tolerance", action="append", help="POINTS or LANG=POINTS (repeat)")
    parser.add_argument("--grid", default="0,0.25,0.5,0.75,1")
    parser.add_argument("--out", required=True)
    parser.add_argument("--no-soup", action="store_true")
    args = parser.parse_args()

    from tripletforge.merge import search_alpha
    from tripletforge.merge.checkpoints import soup_checkpoints
    from tripletforge.merge.search import parse_tolerance
    from tripletforge.pipeline.config import DevSettings
    from tripletforge.pipeline.dev import dev_scorer
    from tripletforge.pipeline.manifest import write_manifest
    from tripletforge.report import build_report
    from tripletforge.report.collect import tradeoff_curve

    out = Path(args.out)
    run = out / "run"
    tolerance = parse_tolerance(args.tolerance)
    grid = [float(a) for a in args.grid.split(",")]
    scorer, files = dev_scorer(DevSettings(format="semrel", root=args.semrel_root), args.lang)
    ends: dict[str, tuple[str, dict | None]] = {"final": (args.model, None)}
    if not args.no_soup:
        selection, soup = soup_checkpoints(args.model, out / "soup", scorer=scorer)
        last = selection.scores.get(selection.last or "")
        ends["soup"] = (str(soup), selection.to_dict() | {"model": str(soup), "dev_last": last})
    size = 0
    for name, (model, soup_record) in ends.items():
        result = search_alpha(args.base, model, scorer, grid=grid, tolerance=tolerance)
        metrics = result.to_dict() | {
            "dev_metric": "cosine_spearman", "dev_files": files, "dev_languages": args.lang,
            "dev_scores": result.scores,  # the name the pipeline's merge manifests use
            "soup": soup_record,
        }  # fmt: skip
        unit = f"all/{name}/{size}"
        write_manifest(run / unit / "merge", {
            "stage": "merge", "unit": unit, "lang": "all", "arm": name, "size": size,
            "status": "complete", "metrics": metrics, "seconds": None, "error": None,
        })  # fmt: skip
        curve = {p.alpha: p for p in tradeoff_curve(result.scores)}
        print(json.dumps({
            "end": name, "model": model, "alpha": result.alpha,
            "best_mean_alpha": result.best_mean_alpha,
            "mean": {a: round(p.mean, 2) for a, p in curve.items()},
            "worst": {a: [round(p.worst_delta, 2), p.worst_lang] for a, p in curve.items()},
            "payers": result.payers, "serves_all": result.serves_all,
            "verdict": result.verdict(),
            "scores": result.scores,
        }, ensure_ascii=False))  # fmt: skip
    arms = [
        {"name": name, "source": "triplets", "path": model} for name, (model, _) in ends.items()
    ]
    (run / "config.yaml").write_text(json.dumps({
        "name": "merge-protection", "languages": ["all"], "sizes": [size], "arms": arms,
        "description": f"α search on SemRel2024 dev ({', '.join(args.lang)}), tolerance "
                       f"{tolerance}",
    }))  # fmt: skip
    paths = build_report(run)
    print(json.dumps({"report": str(paths.markdown), "plots": {k: str(v) for k, v in
                                                               paths.plots.items()}}))  # fmt: skip


if __name__ == "__main__":
    main()
