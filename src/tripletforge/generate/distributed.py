"""Distributed generation with Ray Data: seeds sharded over actors, one backend per actor.

>>> stats = generate_triplets_ray(config, RayOptions(workers=4))

The driver reads the seeds and skips finished anchors exactly like the local runner, then
streams the pending ones through ``ray.data.from_items(...).map_batches(GenerationWorker,
compute=ActorPoolStrategy(size=workers))``. Each actor builds the backend and the strategy
once and turns a batch of ``chunk_size`` anchors into finished rows with the local runner's
chunk code (:func:`tripletforge.generate.runner.run_chunk`), so an anchor gives the same
row on either engine (per-anchor seeds; backends that seed each request).

The driver is the single appender: every batch is appended and fsynced as soon as it comes
back, and a ``seed_id`` is written at most once per run (Ray may re-run a batch after a worker
dies). A killed run therefore resumes like a local one: finished anchors are skipped, a torn
last line is dropped and redone, nothing is lost or duplicated.

Ray is imported only here, and only when this engine is used (``pip install 'ray[data]'``).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from tripletforge.data.jsonl import JsonlAppender
from tripletforge.data.schemas import SeedSentence
from tripletforge.generate.backends import get_backend
from tripletforge.generate.config import GenerationConfig
from tripletforge.generate.runner import (
    GenerationStats,
    finish_run,
    make_context,
    plan_run,
    progress_note,
    record_chunk,
    run_chunk,
)
from tripletforge.progress import progress_task

#: Environment variables forwarded to the workers of a Ray cluster (a local instance inherits
#: the driver's environment anyway).
FORWARDED_ENV = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HOME")


class WorkerFailed(RuntimeError):
    """A Ray generation worker failed (its error, e.g. a model not found, is the message)."""


def _error_line(exc: BaseException) -> str:
    """The ``SomeError: message`` line of a Ray error's remote traceback."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in reversed(lines):
        if re.match(r"^[\w.]*(Error|Exception): ", line):
            return line
    return lines[-1] if lines else type(exc).__name__


@dataclass(frozen=True)
class RayOptions:
    """How generation is spread over a Ray cluster.

    ``address``: an existing cluster (``"auto"``, ``"ray://head:10001"``); ``None`` connects to
    ``RAY_ADDRESS`` if set, else starts a local instance with ``num_cpus`` CPUs.
    ``gpus_per_worker`` defaults to 1 for the ``vllm`` backend and 0 otherwise.
    """

    workers: int = 2
    cpus_per_worker: float = 1.0
    gpus_per_worker: float | None = None
    address: str | None = None
    num_cpus: int | None = None
    preserve_order: bool = True  # write anchors in seed order, as the local runner does

    def gpus(self, backend: str) -> float:
        if self.gpus_per_worker is not None:
            return self.gpus_per_worker
        return 1.0 if backend == "vllm" else 0.0


class GenerationWorker:
    """A Ray Data actor: one backend and strategy, chunks of seeds in, finished rows out.

    Each input row is one chunk (list columns ``seed_id``, ``text``, ``lang``); each output
    row is one anchor: ``seed_id``, ``ok`` (triplet or rejected), ``row`` (the row as JSON)
    and ``chunk_stats`` (JSON counters of the chunk, on its first anchor only).
    """

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = GenerationConfig.model_validate(config)
        self.backend = get_backend(
            self.config.backend, self.config.model, **self.config.backend_kwargs()
        )
        self.ctx, self.strategy = make_context(self.config, self.backend)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {"seed_id": [], "ok": [], "row": [], "chunk_stats": []}
        for texts, langs, seed_ids in zip(
            batch["text"], batch["lang"], batch["seed_id"], strict=True
        ):
            seeds = [
                SeedSentence(text=str(text), lang=str(lang), seed_id=str(seed_id))
                for text, lang, seed_id in zip(texts, langs, seed_ids, strict=True)
            ]
            stats = GenerationStats()
            tokens = self.backend.tokens_generated
            rows, bad = run_chunk(seeds, self.config, self.ctx, self.strategy, self.backend, stats)
            counters = {
                "requests": stats.requests,
                "tokens": self.backend.tokens_generated - tokens,
                "rejections": dict(stats.rejections),
            }
            done = [(r, True) for r in rows] + [(r, False) for r in bad]
            out["seed_id"] += [r["seed_id"] for r, _ in done]
            out["ok"] += [ok for _, ok in done]
            out["row"] += [json.dumps(r, ensure_ascii=False) for r, _ in done]
            out["chunk_stats"] += [json.dumps(counters) if i == 0 else "" for i in range(len(done))]
        return out

    def __del__(self) -> None:
        backend = getattr(self, "backend", None)
        if backend is not None:
            backend.close()


def init_ray(options: RayOptions) -> bool:
    """Connect to or start Ray; True when this call started it (and should shut it down)."""
    import ray

    if ray.is_initialized():
        return False
    env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
    runtime_env = {"env_vars": env} if env else None
    address = options.address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, runtime_env=runtime_env, log_to_driver=False)
    else:
        ray.init(  # "local": a new instance, even if a `ray start` cluster was left behind
            address="local",
            num_cpus=options.num_cpus,
            include_dashboard=False,
            runtime_env=runtime_env,
            log_to_driver=False,
        )
    return True


def _batches(
    config: GenerationConfig, options: RayOptions, pending: Sequence[SeedSentence]
) -> Iterator:
    """Stream the workers' output blocks (one per chunk) back to the driver."""
    import ray

    data = ray.data.DataContext.get_current()
    data.execution_options.preserve_order = options.preserve_order
    data.enable_progress_bars = False
    # one item per chunk: the same anchors go together as in the local runner
    size = config.chunk_size
    chunks = [pending[first : first + size] for first in range(0, len(pending), size)]
    items = [
        {
            "seed_id": [s.seed_id for s in chunk],
            "text": [s.text for s in chunk],
            "lang": [s.lang for s in chunk],
        }
        for chunk in chunks
    ]
    dataset = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
        GenerationWorker,
        fn_constructor_kwargs={"config": config.model_dump(mode="json")},
        batch_size=1,
        batch_format="numpy",
        # one chunk at a time per actor: an actor that loads its model first takes no more
        # than its share, and the last chunks go to whichever actor is free
        compute=ray.data.ActorPoolStrategy(size=options.workers, max_tasks_in_flight_per_actor=1),
        num_cpus=options.cpus_per_worker,
        num_gpus=options.gpus(config.backend),
    )
    yield from dataset.iter_batches(batch_size=None, batch_format="numpy")


def generate_triplets_ray(
    config: GenerationConfig, options: RayOptions | None = None
) -> GenerationStats:
    """:func:`~tripletforge.generate.runner.generate_triplets` on a Ray cluster (same files)."""
    options = options or RayOptions()
    if options.workers < 1:
        raise ValueError("workers must be >= 1")
    start = time.perf_counter()
    pending, done, stats = plan_run(config)
    if pending:
        started = init_ray(options)
        try:
            _drive(config, options, pending, done, stats, start)
        except Exception as exc:
            if type(exc).__module__.startswith("ray."):
                raise WorkerFailed(f"generation worker failed: {_error_line(exc)}") from exc
            raise
        finally:
            if started:
                import ray

                ray.shutdown()
    return finish_run(config, stats, start)


def _drive(
    config: GenerationConfig,
    options: RayOptions,
    pending: Sequence[SeedSentence],
    done: set[str],
    stats: GenerationStats,
    start: float,
) -> None:
    """Append every returned batch durably, each seed_id at most once."""
    with (
        JsonlAppender(config.out) as out,
        JsonlAppender(config.rejected_path) as rejected,
        progress_task("generate", len(pending), enabled=config.progress) as bar,
    ):
        for batch in _batches(config, options, pending):
            rows, bad = [], []
            for seed_id, ok, row, chunk_stats in zip(
                batch["seed_id"], batch["ok"], batch["row"], batch["chunk_stats"], strict=True
            ):
                if chunk_stats:
                    counters = json.loads(str(chunk_stats))
                    stats.requests += counters["requests"]
                    stats.tokens_generated += counters["tokens"]
                    stats.rejections.update(counters["rejections"])
                if str(seed_id) in done:  # a batch re-run after a worker failure
                    continue
                done.add(str(seed_id))
                (rows if bool(ok) else bad).append(json.loads(str(row)))
            record_chunk(rows, bad, out, rejected, stats, start)
            bar.advance(len(rows) + len(bad), note=progress_note(stats))
