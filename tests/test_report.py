"""The run report from hand-written manifests: links, plots, HTML, bad manifests."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from tripletforge.cli.main import app
from tripletforge.pipeline.manifest import write_manifest
from tripletforge.report import build_report


def _summary(main: float, align: float = 0.5, unif: float = -1.5) -> dict:
    return {
        "main": main,
        "main_task": "sts",
        "alignment": align,
        "uniformity": unif,
        "datasets": {"semrel-hau-dev": main},
    }


def _stage(run: Path, unit: str, stage: str, metrics: dict, status: str = "complete") -> None:
    lang, arm, *size = unit.split("/")
    write_manifest(
        run / unit / stage,
        {
            "stage": stage,
            "unit": unit,
            "lang": lang,
            "arm": arm,
            "size": int(size[0]) if size else None,
            "status": status,
            "metrics": metrics,
            "seconds": 1.5,
            "error": "boom" if status == "failed" else None,
        },
    )


def fake_run(run: Path) -> Path:
    (run / "config.yaml").parent.mkdir(parents=True, exist_ok=True)
    (run / "config.yaml").write_text(
        "name: fake\nlanguages: [hau]\nsizes: [10, 20]\n"
        "arms: [{name: icl}, {name: real}, {name: extra}]\n"
    )
    _stage(run, "hau/base", "evaluate", {"base": _summary(20.0, 0.6, -1.0)})
    for arm, gain in (("icl", 5.0), ("real", 8.0)):
        _stage(run, f"hau/{arm}", "generate", {"seeds": 30, "triplets": 26})
        _stage(
            run,
            f"hau/{arm}",
            "filter",
            {
                "rows_out": 21,
                "funnel": [
                    {"filter": "length", "rows_in": 26, "rows_out": 24},
                    {"filter": "leakage", "rows_in": 24, "rows_out": 21},
                ],
            },
        )
        for size in (10, 20):
            score = 20.0 + gain * size / 20
            rows = 15 if (arm, size) == ("icl", 20) else size  # fewer survived than asked
            _stage(run, f"hau/{arm}/{size}", "train", {"rows": rows})
            _stage(
                run,
                f"hau/{arm}/{size}",
                "merge",
                {"alpha": 0.5, "dev_metric": "spearman",
                 "dev_scores": {"0.0": {"hau": 30.0}, "0.5": {"hau": 33.0}}},
            )  # fmt: skip
            _stage(
                run,
                f"hau/{arm}/{size}",
                "evaluate",
                {"trained": _summary(score), "merged": _summary(score + 1, 0.4, -1.2)},
            )
    _stage(run, "hau/extra/10", "train", {}, status="failed")
    # units no longer in the config (an arm removed, a size changed): left out, counted
    _stage(run, "hau/old/10", "evaluate", {"trained": _summary(77.7)})
    _stage(run, "hau/icl/40", "evaluate", {"trained": _summary(77.7)})
    (run / "hau" / "broken").mkdir(parents=True)
    (run / "hau" / "broken" / "manifest.json").write_text("{not json")
    return run


def test_report_tables_link_every_number_to_its_manifest(tmp_path: Path) -> None:
    run = fake_run(tmp_path / "fake")
    paths = build_report(run)
    text = paths.markdown.read_text()
    assert "[29.0](../hau/real/20/evaluate/manifest.json)" in text  # merged, size 20
    assert "[0.50](../hau/icl/10/merge/manifest.json)" in text  # chosen α
    assert "[+9.0](../hau/real/20/evaluate/manifest.json)" in text  # Δ vs base
    assert "hau/extra/10/train" in text and "boom" in text  # failed stage listed
    assert paths.data.unreadable == ["hau/broken/manifest.json"]
    assert paths.data.stale == [
        "hau/icl/40/evaluate/manifest.json",
        "hau/old/10/evaluate/manifest.json",
    ]
    assert "77.7" not in text and "Left out: 2 manifest(s)" in text
    assert "[20 (only 15)](../hau/icl/20/train/manifest.json)" in text
    assert paths.data.trained_rows("hau", "icl", 20) == 15
    results = text.split("## Results")[1].split("##")[0]
    for line in results.splitlines():
        if line.startswith("| hau"):
            numbers = re.findall(r"(?<![\[\w.])[-+]?\d+\.\d+(?![\w\]])", line)
            assert not numbers, f"unlinked number in {line}"
    for link in re.findall(r"\]\((\.\./[^)]+)\)", text):
        assert (paths.markdown.parent / link).resolve().exists(), link
    assert set(paths.plots) == {"main_by_arm", "scaling", "alignment_uniformity", "funnel",
                                "merge_tradeoff"}  # fmt: skip
    for png in paths.plots.values():
        assert png.read_bytes()[:4] == b"\x89PNG"
    page = paths.html.read_text()
    assert page.count("data:image/png;base64,") == 5 and "src='plots/" not in page
    assert "href='../hau/real/20/evaluate/manifest.json'" in page
    assert paths.main_score_lines() == [
        "hau (sts ×100): base 20.0; icl@20 25.0 (merged α=0.5: 26.0); "
        "real@20 28.0 (merged α=0.5: 29.0)"
    ]


def test_report_cli(tmp_path: Path) -> None:
    run = fake_run(tmp_path / "fake")
    result = CliRunner().invoke(app, ["report", str(run), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "report.html").exists()
    assert "skipped 1 unreadable manifest" in result.output
    missing = CliRunner().invoke(app, ["report", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_report_says_which_generate_stages_were_not_deterministic(tmp_path: Path) -> None:
    run = fake_run(tmp_path / "run")
    why = "llama.cpp with 8 parallel slots batches requests differently run to run"
    metrics = {"seeds": 30, "triplets": 26, "deterministic": False, "nondeterminism": why}
    _stage(run, "hau/icl", "generate", metrics)
    paths = build_report(run)
    md = paths.markdown.read_text(encoding="utf-8")
    assert "**Not deterministic:**" in md
    assert f"[hau/icl/generate](../hau/icl/generate/manifest.json): {why}" in md
    assert "hau/real/generate" not in md.split("## ")[0]  # the other arm's engine was
    html = paths.markdown.with_name("report.html").read_text(encoding="utf-8")
    assert "Not deterministic" in html


def _protected_merge(run: Path, unit: str, **extra: object) -> None:
    scores = {"0.0": {"hau": 30.0, "kin": 40.0, "eng": 50.0},
              "0.5": {"hau": 34.0, "kin": 39.8, "eng": 50.1},
              "1.0": {"hau": 38.0, "kin": 38.5, "eng": 49.0}}  # fmt: skip
    metrics = {"alpha": 0.5, "dev_metric": "cosine_spearman", "dev_scores": scores,
               "best_mean_alpha": 1.0, "payers_alpha": 1.0, "payers": {"kin": 1.5, "eng": 1.0},
               "serves_all": True, "tolerance": {"hau": 0.5, "kin": 0.5, "eng": 0.5},
               "verdict": "α=0.5 chosen over the best-mean α=1"} | extra  # fmt: skip
    _stage(run, unit, "merge", metrics)


def test_report_names_the_languages_that_pay_and_draws_the_tradeoff(tmp_path: Path) -> None:
    run = fake_run(tmp_path / "run")
    _protected_merge(run, "hau/icl/20")
    _protected_merge(run, "hau/real/20", alpha=0.0, payers_alpha=0.5, payers={"kin": 0.2},
                     serves_all=False, tolerance={"hau": 0.0, "kin": 0.0, "eng": 0.0},
                     verdict="one model cannot serve all languages: ... kin −0.20",
                     soup={"chosen": ["c-2", "c-4"], "dev_last": {"hau": 37.0, "kin": 38.0,
                                                                 "eng": 48.0}})  # fmt: skip
    paths = build_report(run)
    md = paths.markdown.read_text(encoding="utf-8")
    head = md.split("## ")[0]
    assert "**One model cannot serve all languages:**" in head
    assert "[hau/real/20](../hau/real/20/merge/manifest.json): one model cannot serve" in head
    assert "hau/icl/20" not in head  # guarded, but one model still serves every language
    merge = md.split("## Merge search")[1].split("\n## ")[0]
    # α = 1 of hau/icl/20: mean (38 + 38.5 + 49) / 3, worst Δ kin −1.5
    assert "[41.8 (-1.5 kin)](../hau/icl/20/merge/manifest.json)" in merge
    assert "| hau kin eng |" in merge  # every judged language
    pays = md.split("## Who pays for one model")[1].split("\n## ")[0]
    assert "| hau | icl | 20 | [0.50](../hau/icl/20/merge/manifest.json) | kin |" in pays
    assert "[-1.50](../hau/icl/20/merge/manifest.json)" in pays and "| no |" in pays
    curve = paths.data.merge("hau", "icl", 20).curve()
    assert [(p.alpha, p.worst_lang) for p in curve] == [(0.0, "eng"), (0.5, "kin"), (1.0, "kin")]
    assert paths.data.merge("hau", "real", 20).soup_last.worst_delta == -2.0
    assert paths.plots["merge_tradeoff"].read_bytes()[:4] == b"\x89PNG"
    assert "Merge trade-off" in md and "One model cannot serve all" in paths.html.read_text()


def test_a_shared_mix_merge_is_one_unit_in_the_report():
    from tripletforge.report.collect import Merge, RunData
    from tripletforge.report.render import cannot_serve_all

    scores = {"0.0": {"hau": 30.0, "ary": 50.0}, "1.0": {"hau": 40.0, "ary": 40.0}}
    shared = "all/mix/64/merge/manifest.json"
    data = RunData(run_dir=Path("."), name="t", config={})
    for lang in ("hau", "ary"):  # the collector lists a mix merge once per language it serves
        data.merges.append(
            Merge(lang, "mix", 64, 0.0, "spearman", scores, shared, serves_all=False,
                  payers={"ary": 10.0}, verdict="kept the base")
        )  # fmt: skip
    data.merges.append(Merge("hau", "icl", 64, 1.0, "spearman", scores, "hau/icl/64/merge/m"))
    units = data.merge_units()
    assert sorted((m.lang, m.arm) for m in units) == [("all", "mix"), ("hau", "icl")]
    assert [unit for unit, _, _ in cannot_serve_all(data)] == ["all/mix/64"]
