"""The report's tables (every number links to its manifest) as Markdown and as one HTML page."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path

from tripletforge.report.collect import CONNECTED_MODELS, Merge, RunData

#: A table cell: text and, for a number, the manifest it comes from (relative to the run).
Cell = tuple[str, str | None]


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[Cell]]
    note: str = ""


#: What the report says above its tables when a generate stage's engine was not deterministic.
NONDETERMINISTIC = (
    "these generate stages ran on an engine whose outputs can change between runs of the same "
    "config and seed, so a rerun may write other rows and give other scores:"
)


#: What the report says above its tables when a merge kept the base to protect a language.
CANNOT_SERVE_ALL = (
    "for these merges every α > 0 costs some language more than its tolerance on dev data, so "
    "the merged model is the base; the language that pays, and how much, is named:"
)


def _num(value: float | None, manifest: str | None, digits: int = 1) -> Cell:
    if value is None:
        return ("–", None)
    return (f"{value:.{digits}f}", manifest)


def _text(value: object) -> Cell:
    return (str(value), None)


def results_table(data: RunData) -> Table:
    """Main metric of the base, each trained model and its merge, with α and Δ vs base."""
    rows: list[list[Cell]] = []
    for lang in data.languages:
        base = data.score(lang, "base", None, "base")
        base_main = base.main if base else None
        rows.append(
            [_text(lang), _text("base"), _text("–"),
             _num(base_main, base.manifest if base else None), _text("–"), _text("–"),
             _text("–"), _num(base.alignment if base else None, base.manifest if base else None, 3),
             _num(base.uniformity if base else None, base.manifest if base else None, 3)]
        )  # fmt: skip
        for arm in data.arms:
            for score in data.connected_scores(lang, arm):
                delta = (
                    score.main - base_main
                    if score.main is not None and base_main is not None
                    else None
                )
                rows.append(
                    [_text(lang), _text(f"{arm}: {CONNECTED_MODELS[score.model]}"), _text("–"),
                     _num(score.main, score.manifest), _text("–"), _text("–"),
                     (f"{delta:+.1f}", score.manifest) if delta is not None else ("–", None),
                     _num(score.alignment, score.manifest, 3),
                     _num(score.uniformity, score.manifest, 3)]
                )  # fmt: skip
            for size in data.sizes:
                trained = data.score(lang, arm, size, "trained")
                merged = data.score(lang, arm, size, "merged")
                merge = data.merge(lang, arm, size)
                if trained is None and merge is None:
                    continue
                best = merged or trained
                delta = (
                    best.main - base_main
                    if best and best.main is not None and base_main is not None
                    else None
                )
                trained_rows = data.trained_rows(lang, arm, size)
                size_cell: Cell = (str(size), None)
                if trained_rows < size:
                    manifest = (data.trains.get((lang, arm, size)) or {}).get("manifest")
                    size_cell = (f"{size} (only {trained_rows})", manifest)
                rows.append(
                    [
                        _text(lang),
                        _text(arm),
                        size_cell,
                        _num(trained.main if trained else None, trained and trained.manifest),
                        _num(merged.main if merged else None, merged and merged.manifest),
                        _num(merge.alpha if merge else None, merge and merge.manifest, 2),
                        (f"{delta:+.1f}", best.manifest) if delta is not None else ("–", None),
                        _num(best.alignment if best else None, best and best.manifest, 3),
                        _num(best.uniformity if best else None, best and best.manifest, 3),
                    ]
                )
    tasks = sorted({s.main_task for s in data.scores})
    return Table(
        "Results",
        ["lang", "arm", "size", "trained", "merged", "α", "Δ vs base", "align", "unif"],
        rows,
        note=(
            f"Main metric: MTEB's main score ×100 of the {', '.join(tasks)} data sets of the "
            "evaluation suite (mean); merged = WiSE-FT "
            "with the base, α chosen on dev data only; Δ compares the merged model (or the "
            "trained one without merge) with the base; alignment/uniformity (raw, lower is "
            "better) of that model. Each number links to the manifest that produced it. "
            "'48 (only 20)': fewer triplets survived the filters than the size asked for. "
            "A connected arm (LUSIFER) has no size: its 'target alone' row is the English "
            "target model by itself, its 'connected' row the encoder → connector → target "
            "model trained on English only; the base row is the encoder alone (when the arm "
            "connects the run's encoder, else an 'encoder alone' row)."
        ),
    )


def connect_table(data: RunData) -> Table:
    """Each connected arm's training: the two ends, steps, and the English guard's counts."""
    rows = []
    for c in data.connects:
        kept = {part: (v or {}).get("kept") for part, v in c.english.items()}
        refused = {part: (v or {}).get("refused") for part, v in c.english.items()}
        rows.append(
            [_text(c.arm), _text(c.encoder), _text(c.target), _num(c.align_steps, c.manifest, 0),
             _num(c.finetune_steps, c.manifest, 0),
             (", ".join(f"{p} {n}" for p, n in kept.items()) or "–", c.manifest),
             (", ".join(f"{p} {n}" for p, n in refused.items()) or "–", c.manifest),
             _num(c.seconds, c.manifest, 0)]
        )  # fmt: skip
    return Table(
        "Connected models (LUSIFER, trained on English only)",
        ["arm", "encoder (frozen)", "target", "align steps", "finetune steps", "English kept",
         "refused as non-English", "seconds"],
        rows,
        note="One connect stage per arm serves every language (zero-shot: no target-language "
        "text is trained on; every training text passed the English guard, whose refusals are "
        "counted here). Stage (a) aligns the connector, stage (b) fine-tunes it on English "
        "triplets (docs/connect.md).",
    )  # fmt: skip


def datasets_table(data: RunData) -> Table:
    """Every data set's MTEB main score (×100) for every evaluated model."""
    names = sorted({n for s in data.scores for n in s.datasets})
    rows = []
    for s in data.scores:
        rows.append(
            [_text(s.lang), _text(s.arm), _text(s.size if s.size is not None else "–"),
             _text(s.model)]
            + [_num(s.datasets.get(n), s.manifest) for n in names]
        )  # fmt: skip
    return Table(
        "Per data set (MTEB main score ×100)",
        ["lang", "arm", "size", "model", *names],
        rows,
        note="– = undefined on that data set (e.g. constant gold scores); means skip it.",
    )


def merge_table(data: RunData) -> Table:
    """Every α tried by each merge stage: mean dev score and the worst language's Δ."""
    grid = sorted({float(a) for m in data.merge_units() for a in m.dev_scores}, key=float)
    rows = []
    for m in sorted(data.merge_units(), key=lambda m: (m.lang, m.arm, m.size)):
        curve = {p.alpha: p for p in m.curve()}
        cells: list[Cell] = [
            _text(m.lang),
            _text(m.arm),
            _text(m.size),
            _num(m.alpha, m.manifest, 2),
            _num(m.best_mean_alpha, m.manifest, 2),
        ]
        for alpha in grid:
            point = curve.get(alpha)
            text = "–" if point is None else (
                f"{point.mean:.1f} ({point.worst_delta:+.1f} {point.worst_lang})")  # fmt: skip
            cells.append((text, m.manifest if point is not None else None))
        cells.append(_text(" ".join(_judged(m)) or "–"))
        rows.append(cells)
    metric = next((m.dev_metric for m in data.merge_units()), "dev")
    header = ["lang", "arm", "size", "chosen α", "best-mean α", *(f"α={a:g}" for a in grid),
              "judged"]  # fmt: skip
    return Table(
        f"Merge search (mean dev {metric} ×100 by α, worst language's Δ vs base)",
        header,
        rows,
        note="Each merge's α is chosen on dev data only, judging every language listed; the "
        "chosen α has the best mean among the α that keep every language within its tolerance "
        "of the base (α = 0); best-mean α is the choice without that guard. The trade-off "
        "curve plot draws these cells: mean against the worst language's Δ.",
    )


def guard_table(data: RunData) -> Table:
    """Each guarded merge's second dev set by α: its mean and worst language's Δ vs the base."""
    from tripletforge.report.collect import tradeoff_curve

    units = [m for m in data.merge_units() if m.guard]
    grid = sorted({float(a) for m in units for a in (m.guard or {}).get("scores", {})})
    rows = []
    for m in sorted(units, key=lambda m: (m.lang, m.arm, m.size)):
        guard = m.guard or {}
        curve = {p.alpha: p for p in tradeoff_curve(guard.get("scores") or {})}
        cells: list[Cell] = [_text(m.lang), _text(m.arm), _text(m.size),
                             _num(m.alpha, m.manifest, 2),
                             _text(f"{guard.get('format')} {guard.get('metric', '')}"),
                             _num(guard.get("tolerance"), m.manifest, 1)]  # fmt: skip
        for alpha in grid:
            point = curve.get(alpha)
            text = "–" if point is None else (
                f"{point.mean:.1f} ({point.worst_delta:+.1f} {point.worst_lang})")  # fmt: skip
            cells.append((text, m.manifest if point is not None else None))
        rows.append(cells)
    return Table(
        "Merge guard (a second dev set that only vetoes α: mean ×100, worst language's Δ)",
        ["lang", "arm", "size", "chosen α", "guard data", "tolerance",
         *(f"α={a:g}" for a in grid)],
        rows,
        note="An α where some language loses more than the tolerance on the guard's data is not "
        "taken; the guard never enters the mean α maximises. Its losses are named guard:<lang> "
        "among the payers.",
    )  # fmt: skip


def _judged(m: Merge) -> list[str]:
    base = m.dev_scores.get("0.0") or {}
    return [k for k in base if all((p or {}).get(k) is not None for p in m.dev_scores.values())]


def protection_table(data: RunData) -> Table:
    """The languages that pay for the no-regression guard: what they would lose at the
    best-mean α (or, when no α > 0 passes, at the best α > 0) beyond their tolerance."""
    rows: list[list[Cell]] = []
    for m in sorted(data.merge_units(), key=lambda m: (m.lang, m.arm, m.size)):
        for lang, drop in sorted(m.payers.items(), key=lambda kv: -kv[1]):
            rows.append([
                _text(m.lang), _text(m.arm), _text(m.size), _num(m.alpha, m.manifest, 2),
                _text(lang), _num(m.payers_alpha, m.manifest, 2), _num(-drop, m.manifest, 2),
                _num(m.tolerance.get(lang), m.manifest, 2),
                _text("yes" if m.serves_all else "no"),
            ])  # fmt: skip
    header = ["lang", "arm", "size", "chosen α", "pays", "at α", "Δ vs base", "tolerance",
              "one model serves all"]  # fmt: skip
    return Table(
        "Who pays for one model (the no-regression guard)",
        header,
        rows,
        note="A language listed would lose more than its tolerance at the α shown (the "
        "best-mean α), which is why a smaller α was chosen; 'no' in the last column: no α > 0 "
        "keeps every language within its tolerance, so the base was kept.",
    )


def cannot_serve_all(data: RunData) -> list[tuple[str, str, str]]:
    """(unit, verdict, manifest) of each merge where no α > 0 passes the guard."""
    return [
        (f"{m.lang}/{m.arm}/{m.size}", m.verdict or "one model cannot serve all languages",
         m.manifest)
        for m in sorted(data.merge_units(), key=lambda m: (m.lang, m.arm, m.size))
        if not m.serves_all
    ]  # fmt: skip


def _mix(data: RunData, lang: str, arm: str, size: int) -> str:
    """What a model was trained on: ``nli 16 + retrieval 16`` (rows per task), or the arm's
    one task."""
    train = data.trains.get((lang, arm, size)) or {}
    tasks = train.get("tasks")
    if tasks:
        return " + ".join(f"{t} {v.get('rows')}" for t, v in tasks.items())
    arm_config = next((a for a in data.config.get("arms") or [] if a.get("name") == arm), {})
    if arm_config.get("source", "synthetic") != "synthetic":
        return str(arm_config.get("source"))
    task = (arm_config.get("generate") or {}).get("task") or (
        data.config.get("generate") or {}
    ).get("task", "nli")
    return f"{task} {data.trained_rows(lang, arm, size)}"


def task_mix_table(data: RunData) -> Table:
    """Each trained (and merged) model's mean main score per task type (STS, retrieval, …),
    grouped by language and size, so task mixes compare at equal data size."""
    types = sorted({t for s in data.scores for t in s.tasks})
    rows: list[list[Cell]] = []
    for lang in data.languages:
        base = data.score(lang, "base", None, "base")
        if base is not None:
            rows.append(
                [_text(lang), _text("–"), _text("base"), _text("–"), _text("base")]
                + [_num(base.tasks.get(t), base.manifest) for t in types]
            )  # fmt: skip
        for size in data.sizes:
            for arm in data.arms:
                for model in ("trained", "merged"):
                    score = data.score(lang, arm, size, model)
                    if score is None:
                        continue
                    rows.append(
                        [_text(lang), _text(size), _text(arm), _text(_mix(data, lang, arm, size)),
                         _text(model)]
                        + [_num(score.tasks.get(t), score.manifest) for t in types]
                    )  # fmt: skip
    return Table(
        "Task mixes at equal data size (mean MTEB main score ×100 per task type)",
        ["lang", "size", "arm", "trained on", "model", *types],
        rows,
        note="'trained on' counts the rows of each generation task after filtering (an arm "
        "with `tasks:` splits every size by the task weights); each column is the mean main "
        "score of the evaluation suite's data sets of that task type.",
    )


def source_mix_table(data: RunData) -> Table:
    """Each mix arm's sources per size: rows used of those available, rows skipped, weight,
    batch share, and the training prompt policy applied."""
    rows: list[list[Cell]] = []
    for item in sorted(data.mixes, key=lambda m: (m["arm"], int(m["size"] or 0))):
        metrics, rel = item["metrics"], item["manifest"]
        policy = metrics.get("prompt_policy") or {}
        for src in metrics.get("sources") or []:
            skipped = ", ".join(f"{k} {v}" for k, v in (src.get("rows_skipped") or {}).items())
            langs = ", ".join(f"{k} {v}" for k, v in (src.get("by_language") or {}).items())
            used = f"{src.get('rows_used')} / {src.get('rows_requested', '?')} / "
            rows.append(
                [_text(item["arm"]), _text(item["size"]), _text(src.get("name")),
                 _text("CoSENT" if src.get("kind") == "scored" else "MNRL"),
                 _num(src.get("weight"), rel, 2),
                 (used + str(src.get("rows_available")), rel), _text(langs or "–"),
                 _text(skipped or "–"), _num(100 * float(src.get("batch_share") or 0), rel, 0),
                 _text(policy.get("applied", "–"))]
            )  # fmt: skip
    return Table(
        "Source mixes (one model for every language)",
        ["arm", "size", "source", "loss", "weight", "rows used / asked / available",
         "rows per language", "skipped", "batch share %", "prompt policy"],
        rows,
        note="A mix arm trains one model on all its sources; every source is a training set "
        "of its own (a batch never mixes sources) and gets its weight's share of batches. "
        "Rows asked = the size's share by weight (capped by the source's limit); fewer are "
        "used when the source has fewer or some are skipped. Scored pairs train with CoSENT, "
        "the other sources with MNRL.",
    )  # fmt: skip


def prompt_policy_table(data: RunData) -> Table:
    """Train stages whose prompt policy was chosen on dev (``prompt_policy: auto``)."""
    rows: list[list[Cell]] = []
    seen: set[str] = set()
    for _, train in sorted(data.trains.items(), key=lambda kv: str(kv[0])):
        policy = train.get("prompt_policy") or {}
        rel = train.get("manifest")
        if policy.get("configured") != "auto" or rel in seen:
            continue
        seen.add(rel)
        dev = policy.get("dev_scores") or {}
        unit = str(rel).rsplit("/train/", 1)[0]
        rows.append(
            [_text(unit), _text(policy.get("applied")), _num(dev.get("none"), rel),
             _num(dev.get("query"), rel), _text(policy.get("trial_steps"))]
        )  # fmt: skip
    return Table(
        "Training prompt policy chosen on dev (prompt_policy: auto)",
        ["unit", "chosen", "dev: none ×100", "dev: query ×100", "trial steps"],
        rows,
        note="none = symmetric training text gets the evaluation's STS prompt (nothing for "
        "e5); query = the encoder's query prompt. Each was trained for the trial steps and "
        "scored on the merge's dev data.",
    )


def funnel_table(data: RunData) -> Table:
    """Anchors → triplets → each filter → kept, per (language, arm[, task])."""
    steps = list(dict.fromkeys(s["filter"] for f in data.funnels for s in f.steps))
    steps.sort(key=lambda name: name != "negatives")  # mined before the filters ran
    rows = []
    for f in data.funnels:
        by_name = {s["filter"]: s for s in f.steps}
        rows.append(
            [_text(f.lang), _text(f.label), _num(f.anchors, f.source_manifest, 0),
             _num(f.generated, f.source_manifest, 0)]
            + [_num(by_name[s]["rows_out"] if s in by_name else None, f.manifest, 0)
               for s in steps]
            + [_num(f.kept, f.manifest, 0)]
        )  # fmt: skip
    return Table(
        "Filter funnel (rows left after each step)",
        ["lang", "arm", "anchors", "source", *steps, "kept"],
        rows,
    )


def adapter_table(data: RunData) -> Table:
    """Each generator adapter the run trained: data, steps, loss before and after, time."""
    rows = []
    for a in data.adapters:
        rows.append(
            [_text(a.label), _text(a.kind), _num(a.examples, a.manifest, 0),
             _num(a.steps, a.manifest, 0), _num(a.loss_first, a.manifest, 3),
             _num(a.loss_last, a.manifest, 3), _num(a.eval_before, a.manifest, 3),
             _num(a.eval_after, a.manifest, 3), _num(a.seconds, a.manifest, 0)]
        )  # fmt: skip
    base = ", ".join(sorted({f"`{a.base}`" for a in data.adapters}))
    return Table(
        "Generator adapters",
        ["adapter", "type", "examples", "steps", "loss first", "loss last", "held-out before",
         "held-out after", "seconds"],
        rows,
        note=(
            f"LoRA adapters trained by the run on {base} (TRL SFTTrainer, completion-only loss "
            "for xlora/task). Loss first/last: mean training loss (token NLL) of the first and "
            "last steps (the first step is the base model: LoRA's B starts at 0); held-out: "
            "the loss of examples kept out of training, before (base model) and after. The "
            "xlora adapters serve every language; task and English adapters every compose arm."
        ),
    )  # fmt: skip


def arm_adapter_table(data: RunData) -> Table:
    """Which adapters each (language, arm) generated with."""
    rows = []
    for a in data.arm_adapters:
        link = a.compose_manifest or a.manifest
        rows.append(
            [_text(a.lang), _text(a.arm), (a.recipe, link),
             (str(a.positive or "–"), a.sources.get("positive")),
             (str(a.negative or "–"), a.sources.get("negative"))]
        )  # fmt: skip
    return Table(
        "Which arm used which adapter",
        ["lang", "arm", "adapters", "positive pass", "negative pass"],
        rows,
        note="Composed adapters are task + λ·(language − English) of the adapters above "
        "(exact ΔW arithmetic); the recipe links to the compose stage's manifest (or the "
        "generate stage's), each adapter to the stage that made it.",
    )


def timing_table(data: RunData) -> Table:
    totals: dict[str, float] = {}
    for s in data.stages:
        if s["seconds"] is not None:
            totals[s["stage"]] = totals.get(s["stage"], 0.0) + float(s["seconds"])
    rows = [[_text(k), _num(v, None)] for k, v in totals.items()]
    rows.append([_text("total"), _num(sum(totals.values()), None)])
    return Table("Time per stage (s, last run of each)", ["stage", "seconds"], rows)


def all_tables(data: RunData) -> list[Table]:
    tables = [results_table(data)]
    if any(isinstance(a, dict) and a.get("tasks") for a in data.config.get("arms") or []):
        tables.append(task_mix_table(data))
    if data.mixes:
        tables.append(source_mix_table(data))
    policies = prompt_policy_table(data)
    if policies.rows:
        tables.append(policies)
    tables.append(datasets_table(data))
    if data.merge_units():
        tables.append(merge_table(data))
        if any(m.guard for m in data.merge_units()):
            tables.append(guard_table(data))
        if any(m.payers for m in data.merge_units()):
            tables.append(protection_table(data))
    if data.funnels:
        tables.append(funnel_table(data))
    if data.connects:
        tables.append(connect_table(data))
    if data.adapters:
        tables.append(adapter_table(data))
    if data.arm_adapters:
        tables.append(arm_adapter_table(data))
    tables.append(timing_table(data))
    return tables


def _md_cell(cell: Cell, prefix: str) -> str:
    text, link = cell
    text = text.replace("|", "\\|")
    return f"[{text}]({prefix}{link})" if link else text


def to_markdown(data: RunData, tables: list[Table], plots: dict[str, tuple[Path, str]],
                out_dir: Path) -> str:  # fmt: skip
    """The Markdown report (links and images relative to ``out_dir``)."""
    prefix = _relative_prefix(out_dir, data.run_dir)
    lines = [f"# tripletforge run `{data.name}`", ""]
    if data.config.get("description"):
        lines += [str(data.config["description"]), ""]
    lines += [
        f"- languages: {', '.join(data.config.get('languages', data.languages))}",
        f"- arms: {', '.join(a.get('name', '?') for a in data.config.get('arms', []))}",
        f"- sizes: {', '.join(str(s) for s in data.config.get('sizes', data.sizes)) or '–'}",
        f"- encoder: `{data.config.get('encoder', '?')}`; seed {data.config.get('seed', '?')}",
        "",
    ]
    failed = [s for s in data.stages if s["status"] == "failed"]
    if failed:
        lines += ["**Failed stages:**", ""]
        lines += [f"- [{s['key']}]({prefix}{s['manifest']}): {s['error']}" for s in failed]
        lines.append("")
    if data.nondeterministic:
        lines += [f"**Not deterministic:** {NONDETERMINISTIC}", ""]
        lines += [f"- [{k}]({prefix}{m}): {why}" for k, why, m in data.nondeterministic]
        lines.append("")
    if cannot_serve_all(data):
        lines += [f"**One model cannot serve all languages:** {CANNOT_SERVE_ALL}", ""]
        lines += [f"- [{unit}]({prefix}{m}): {why}" for unit, why, m in cannot_serve_all(data)]
        lines.append("")
    if data.unreadable:
        lines += [f"Unreadable manifests (skipped): {', '.join(data.unreadable)}", ""]
    if data.stale:
        lines += [
            f"Left out: {len(data.stale)} manifest(s) of units that are no longer in "
            f"config.yaml (e.g. {data.stale[0]}).",
            "",
        ]
    for table in tables:
        lines += [f"## {table.title}", ""]
        if table.note:
            lines += [table.note, ""]
        if not table.rows:
            lines += ["(nothing yet)", ""]
            continue
        lines.append("| " + " | ".join(table.header) + " |")
        lines.append("|" + "|".join("---" for _ in table.header) + "|")
        lines += ["| " + " | ".join(_md_cell(c, prefix) for c in row) + " |" for row in table.rows]
        lines.append("")
    if plots:
        lines += ["## Plots", ""]
        for path, title in plots.values():
            lines += [f"### {title}", "", f"![{title}]({path.relative_to(out_dir).as_posix()})", ""]
    return "\n".join(lines)


def _relative_prefix(out_dir: Path, run_dir: Path) -> str:
    try:
        depth = len(out_dir.resolve().relative_to(run_dir.resolve()).parts)
        return "../" * depth
    except ValueError:
        return run_dir.resolve().as_posix() + "/"


_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f3f3f3} td:first-child,td:nth-child(2){text-align:left}
a{color:#0550ae;text-decoration:none} a:hover{text-decoration:underline}
img{max-width:100%;border:1px solid #eee} .note{color:#555;font-size:.9em}
"""


def to_html(data: RunData, tables: list[Table], plots: dict[str, tuple[Path, str]],
            out_dir: Path) -> str:  # fmt: skip
    """One self-contained HTML page: tables with links to manifests, images inlined."""
    prefix = _relative_prefix(out_dir, data.run_dir)
    esc = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>tripletforge run {esc(data.name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>tripletforge run <code>{esc(data.name)}</code></h1>",
    ]
    if data.config.get("description"):
        parts.append(f"<p>{esc(str(data.config['description']))}</p>")
    for s in (s for s in data.stages if s["status"] == "failed"):
        href = esc(prefix + s["manifest"])
        parts.append(f"<p>failed: <a href='{href}'>{esc(s['key'])}</a>: {esc(str(s['error']))}</p>")
    if data.nondeterministic:
        parts.append(f"<p><b>Not deterministic:</b> {esc(NONDETERMINISTIC)}</p><ul>")
        for key, why, manifest in data.nondeterministic:
            href = esc(prefix + manifest)
            parts.append(f"<li><a href='{href}'>{esc(key)}</a>: {esc(why)}</li>")
        parts.append("</ul>")
    if cannot_serve_all(data):
        parts.append(f"<p><b>One model cannot serve all languages:</b> "
                     f"{esc(CANNOT_SERVE_ALL)}</p><ul>")  # fmt: skip
        for unit, why, manifest in cannot_serve_all(data):
            href = esc(prefix + manifest)
            parts.append(f"<li><a href='{href}'>{esc(unit)}</a>: {esc(why)}</li>")
        parts.append("</ul>")
    if data.stale:
        parts.append(
            f"<p class='note'>Left out: {len(data.stale)} manifest(s) of units that are no "
            f"longer in config.yaml (e.g. {esc(data.stale[0])}).</p>"
        )
    for table in tables:
        parts.append(f"<h2>{esc(table.title)}</h2>")
        if table.note:
            parts.append(f"<p class='note'>{esc(table.note)}</p>")
        parts.append("<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in table.header) + "</tr>")
        for row in table.rows:
            cells = []
            for text, link in row:
                inner = f"<a href='{esc(prefix + link)}'>{esc(text)}</a>" if link else esc(text)
                cells.append(f"<td>{inner}</td>")
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append("</table>")
    if plots:
        parts.append("<h2>Plots</h2>")
        for path, title in plots.values():
            encoded = base64.b64encode(path.read_bytes()).decode("ascii")
            parts.append(
                f"<h3>{esc(title)}</h3><img alt='{esc(title)}' "
                f"src='data:image/png;base64,{encoded}'>"
            )
    parts.append("</body></html>")
    return "\n".join(parts)
