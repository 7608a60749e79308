"""The generation runner: seeds in, resumable append-only rows (with provenance) out.

The task (:mod:`tripletforge.generate.tasks`: ``nli``, ``retrieval``, ``paraphrase``) decides
the passes, prompts, parser checks and row columns; everything here is the same for all.

>>> stats = generate_triplets(GenerationConfig(seed_file="seeds.txt", lang="hau", out="t.jsonl"))

Anchors are processed in chunks; each chunk's triplets go to ``out`` and its rejected anchors
(after ``max_attempts`` tries of the failed passes) to ``<out stem>.rejected.jsonl``, both
appended and fsynced. A re-run skips every seed_id found in either file, so a killed run
resumes without losing or duplicating anything (a torn last line is dropped and redone). Each
anchor's RNG seed is derived from ``(seed, seed_id)``, so results do not depend on chunking.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tripletforge.data.jsonl import JsonlAppender, iter_jsonl, read_jsonl
from tripletforge.data.schemas import ReadReport, SeedSentence
from tripletforge.data.seeds import SeedReport, read_seeds
from tripletforge.generate.backends import Backend, get_backend
from tripletforge.generate.config import GenerationConfig
from tripletforge.generate.parsing import Parsed
from tripletforge.generate.requests import GenerationRequest, Pass, SamplingParams
from tripletforge.generate.strategies import Strategy, StrategyContext, derive_seed, make_strategy
from tripletforge.generate.tasks import make_task
from tripletforge.generate.tasks.base import GenerationTask
from tripletforge.progress import progress_task


@dataclass
class GenerationStats:
    """What a run did; rejections are counted per output by reason."""

    seed_report: SeedReport | None = None
    output_report: ReadReport | None = None  # torn/malformed lines found on resume
    seeds: int = 0
    already_done: int = 0
    anchors: int = 0
    written: int = 0
    rejected: int = 0
    rejections: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    tokens_generated: int = 0
    elapsed_s: float = 0.0
    parquet_path: Path | None = None
    nondeterminism: str | None = None  # why another run may differ (None: deterministic)

    @property
    def triplets_per_s(self) -> float:
        return self.written / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def tokens_per_s(self) -> float:
        return self.tokens_generated / self.elapsed_s if self.elapsed_s else 0.0

    def summary(self) -> str:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(self.rejections.items())) or "none"
        return (
            f"{self.written} triplets written, {self.rejected} anchors rejected, "
            f"{self.already_done} already done (of {self.seeds} seeds); {self.requests} requests, "
            f"{self.tokens_generated} tokens in {self.elapsed_s:.1f} s "
            f"({self.triplets_per_s:.2f} triplets/s, {self.tokens_per_s:.1f} tok/s); "
            f"rejected outputs by reason: {reasons}"
            + (f"; not deterministic: {self.nondeterminism}" if self.nondeterminism else "")
        )


@dataclass
class _Anchor:
    sentence: SeedSentence
    anchor_seed: int
    passes: tuple[str, ...] = ("positive", "negative")  # the task's passes
    parts: dict[str, Parsed] = field(default_factory=dict)  # accepted outputs by pass
    raw: dict[str, str] = field(default_factory=dict)
    requests: dict[str, GenerationRequest] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    def missing(self) -> list[str]:
        return [p for p in self.passes if p not in self.parts]


def finished_seed_ids(config: GenerationConfig, report: ReadReport | None = None) -> set[str]:
    """seed_ids already in the output or the rejected file (a torn last line is not)."""
    done: set[str] = set()
    for path in (config.out, config.rejected_path):
        for row in iter_jsonl(path, report):
            if isinstance(row.get("seed_id"), str):
                done.add(row["seed_id"])
    return done


def _attempt(
    anchors: Sequence[_Anchor],
    strategy: Any,
    task: GenerationTask,
    backend: Backend,
    sampling: SamplingParams,
    joint: bool,
    attempt: int,
    stats: GenerationStats,
) -> None:
    plans: list[tuple[_Anchor, GenerationRequest]] = []
    for anchor in anchors:
        missing = anchor.missing()
        if not missing:
            continue
        passes: list[Pass] = ["joint"] if joint else missing  # type: ignore[list-item]
        for request in strategy.plan(
            anchor.sentence, passes, anchor_seed=anchor.anchor_seed, attempt=attempt
        ):
            plans.append((anchor, request))
    if not plans:
        return
    outputs = backend.generate([r for _, r in plans], sampling)
    stats.requests += len(plans)
    for (anchor, request), raw in zip(plans, outputs, strict=True):
        parsed = task.parse(request.pass_, raw, anchor.sentence.text, request.echo_texts)
        for pass_, result in parsed.items():
            if pass_ in anchor.parts:
                continue
            anchor.raw[pass_], anchor.requests[pass_], anchor.attempts[pass_] = (
                raw,
                request,
                attempt,
            )
            if result.ok:
                anchor.parts[pass_] = result
            else:
                stats.rejections[str(result.reason)] += 1
                anchor.reasons.append(f"{pass_}: {result.reason}")
    for anchor in anchors:
        if anchor.missing():
            continue
        for pass_, result in task.check(anchor.sentence.text, anchor.parts).items():
            del anchor.parts[pass_]
            stats.rejections[str(result.reason)] += 1
            anchor.reasons.append(f"{pass_}: {result.reason}")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _provenance(
    anchor: _Anchor,
    config: GenerationConfig,
    backend: Backend,
    task: GenerationTask,
    out_lang: str,
) -> dict[str, Any]:
    requests = [anchor.requests[p] for p in task.passes if p in anchor.requests]
    prompt_ids = list(dict.fromkeys(r.prompt_id for r in requests))
    lang, positive_lang = task.languages(anchor.sentence.lang, out_lang)
    return {
        "task": task.name,
        "lang": lang,
        "positive_lang": positive_lang,
        "seed_id": anchor.sentence.seed_id,
        "strategy": config.strategy,
        "backend": backend.name,
        "model_id": backend.model_id,
        "model_sha256": backend.model_sha256,
        "prompt_id": "+".join(prompt_ids),
        "shot_ids": {p: list(anchor.requests[p].shot_ids) for p in anchor.requests},
        "sampling": config.sampling().to_dict(),
        "seed": anchor.anchor_seed,
        "attempts": dict(anchor.attempts),
        **{f"raw_{p}": anchor.raw.get(p) for p in task.passes},
        "created_at": _now(),
    }


def export_parquet(jsonl_path: str | Path, parquet_path: str | Path | None = None) -> Path:
    """Write a JSONL artifact's readable rows to Parquet (same columns)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows, _ = read_jsonl(jsonl_path)
    target = Path(parquet_path) if parquet_path else Path(jsonl_path).with_suffix(".parquet")
    pq.write_table(pa.Table.from_pylist(rows), target)
    return target


def progress_note(stats: GenerationStats) -> str:
    """What the generation progress bar shows after the counts."""
    return f"{stats.triplets_per_s:.2f} triplets/s, {stats.rejected} rejected"


def plan_run(config: GenerationConfig) -> tuple[list[SeedSentence], set[str], GenerationStats]:
    """Seeds still to do (resume: finished and rejected seed ids are skipped), the done set,
    and the run's stats so far."""
    seeds, seed_report = read_seeds(config.seed_file, config.lang, config.max_seed_chars)
    if not seeds:
        raise ValueError(
            f"{config.seed_file}: no usable seed sentence ({seed_report.summary()}); save it as "
            "UTF-8 text, one sentence per line, or a CSV/TSV/JSONL/Parquet table with a `text` "
            "column"
        )
    if config.limit is not None:
        seeds = seeds[: config.limit]
    output_report = ReadReport(str(config.out))
    done = finished_seed_ids(config, output_report)
    pending = [s for s in seeds if s.seed_id not in done]
    stats = GenerationStats(
        seed_report=seed_report,
        output_report=output_report,
        seeds=len(seeds),
        already_done=len(seeds) - len(pending),
    )
    return pending, done, stats


def finish_run(config: GenerationConfig, stats: GenerationStats, start: float) -> GenerationStats:
    """Final timing and the optional Parquet export."""
    stats.elapsed_s = time.perf_counter() - start
    if config.parquet:
        stats.parquet_path = export_parquet(config.out)
    return stats


def record_chunk(
    rows: list[dict[str, Any]], bad: list[dict[str, Any]], out: Any, rejected: Any,
    stats: GenerationStats, start: float,
) -> None:  # fmt: skip
    """Append a chunk's triplet and rejected rows and count them."""
    out.write_many(rows)
    rejected.write_many(bad)
    stats.anchors += len(rows) + len(bad)
    stats.written += len(rows)
    stats.rejected += len(bad)
    stats.elapsed_s = time.perf_counter() - start


def make_context(config: GenerationConfig, backend: Backend) -> tuple[StrategyContext, Strategy]:
    """The strategy of a run, in the prompt format the backend's model supports."""
    if config.prompt_format == "chat" and not backend.supports_chat:
        raise ValueError(f"model {config.model!r} has no chat template: use completion format")
    chat = (
        backend.supports_chat if config.prompt_format == "auto" else config.prompt_format == "chat"
    )
    ctx = StrategyContext(
        chat=chat,
        mode=config.mode,
        k=config.k,
        pool=config.pool,
        options=config.strategy_options,
        task=config.task,
    )
    return ctx, make_strategy(config.strategy, ctx)


def run_chunk(
    seeds: Sequence[SeedSentence],
    config: GenerationConfig,
    ctx: StrategyContext,
    strategy: Strategy,
    backend: Backend,
    stats: GenerationStats,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One chunk of anchors through all attempts: (triplet rows, rejected rows).

    Both engines (local :func:`generate_triplets` and the Ray workers) run chunks through this.
    """
    task = make_task(ctx.task, chat=ctx.chat)
    chunk = [_Anchor(seed, derive_seed(config.seed, seed.seed_id), task.passes) for seed in seeds]
    sampling = config.sampling()
    for attempt in range(config.max_attempts):
        _attempt(chunk, strategy, task, backend, sampling, config.joint, attempt, stats)
    rows, bad = [], []
    for anchor in chunk:
        out_lang = ctx.out_lang(anchor.sentence.lang)
        provenance = _provenance(anchor, config, backend, task, out_lang)
        if anchor.missing():
            bad.append({"anchor": anchor.sentence.text, "reasons": anchor.reasons, **provenance})
        else:
            texts = {p: str(anchor.parts[p].text) for p in task.passes}
            rows.append(task.row(anchor.sentence, texts) | provenance)
    return rows, bad


def generate_triplets(config: GenerationConfig, backend: Backend | None = None) -> GenerationStats:
    """Run generation for ``config``; pass a built ``backend`` to reuse a loaded model."""
    start = time.perf_counter()
    pending, _, stats = plan_run(config)
    if not pending:
        return finish_run(config, stats, start)
    own_backend = backend is None
    if backend is None:
        backend = get_backend(config.backend, config.model, **config.backend_kwargs())
    tokens_before = backend.tokens_generated
    stats.nondeterminism = backend.nondeterminism()
    try:
        ctx, strategy = make_context(config, backend)
        with (
            JsonlAppender(config.out) as out,
            JsonlAppender(config.rejected_path) as rejected,
            progress_task("generate", len(pending), enabled=config.progress) as bar,
        ):
            for first in range(0, len(pending), config.chunk_size):
                chunk = pending[first : first + config.chunk_size]
                rows, bad = run_chunk(chunk, config, ctx, strategy, backend, stats)
                stats.tokens_generated = backend.tokens_generated - tokens_before
                record_chunk(rows, bad, out, rejected, stats, start)
                bar.advance(len(chunk), note=progress_note(stats))
    finally:
        if own_backend:
            backend.close()
    return finish_run(config, stats, start)
