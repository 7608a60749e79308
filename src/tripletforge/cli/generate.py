"""`tripletforge` commands of the generate stage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def _options(pairs: list[str]) -> dict[str, object]:
    """``key=value`` pairs (values parsed as JSON when they parse) to a dict."""
    options: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected key=value, got {pair!r}")
        try:
            options[key.replace("-", "_")] = json.loads(value)
        except ValueError:
            options[key.replace("-", "_")] = value
    return options


def generate(
    seeds: Annotated[Path, typer.Option(help="Seed file: .txt, .csv/.tsv, .jsonl or .parquet.")],
    out: Annotated[Path, typer.Option(help="Output JSONL (appended; re-running resumes).")],
    lang: Annotated[
        str | None, typer.Option(help="ISO 639-3 language of seed rows without a lang column.")
    ] = None,
    strategy: Annotated[str, typer.Option(help="Generation strategy (registry name).")] = "icl",
    backend: Annotated[
        str, typer.Option(help="llamacpp | transformers | openai | vllm.")
    ] = "llamacpp",
    model: Annotated[
        str, typer.Option(help="Built-in generator (smollm2-135m, gemma3-270m), path or hub id.")
    ] = "smollm2-135m",
    k: Annotated[int, typer.Option(help="Few-shot examples per prompt.")] = 3,
    pool: Annotated[
        str, typer.Option(help="Few-shot pool: snli-en or a JSONL of anchor/positive/negative.")
    ] = "snli-en",
    mode: Annotated[
        str, typer.Option(help="monolingual (anchor's language) or crosslingual (English).")
    ] = "monolingual",
    joint: Annotated[bool, typer.Option(help="One prompt for both passes.")] = False,
    prompt_format: Annotated[str, typer.Option(help="auto | chat | completion.")] = "auto",
    seed: Annotated[int, typer.Option(help="Run seed (per-anchor RNG from seed and seed_id).")] = 0,
    limit: Annotated[int | None, typer.Option(help="Use only the first N seeds.")] = None,
    temperature: Annotated[float, typer.Option()] = 0.7,
    top_p: Annotated[float, typer.Option()] = 0.95,
    max_tokens: Annotated[int, typer.Option()] = 64,
    max_attempts: Annotated[int, typer.Option(help="Tries per pass before rejecting.")] = 3,
    chunk_size: Annotated[int, typer.Option(help="Anchors per batch and durable write.")] = 16,
    parquet: Annotated[bool, typer.Option(help="Also export the output as Parquet.")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    backend_option: Annotated[
        list[str],
        typer.Option(
            "--backend-option",
            "-B",
            help="Backend setting key=value, repeatable (base_url=..., threads=2, parallel=8).",
        ),
    ] = [],  # noqa: B006  (typer needs a literal default)
    strategy_option: Annotated[
        list[str],
        typer.Option(
            "--strategy-option",
            "-S",
            help="Strategy setting key=value, repeatable (compose/xlora: positive_adapter=DIR, "
            "negative_adapter=DIR, lambda=1.0, lang_target=DIR or JSON {lang: DIR}).",
        ),
    ] = [],  # noqa: B006  (typer needs a literal default)
    engine: Annotated[
        str, typer.Option(help="local (one process) | ray (Ray Data actors; pip install ray).")
    ] = "local",
    workers: Annotated[int, typer.Option(help="ray: actors, each with its own backend.")] = 2,
    worker_cpus: Annotated[float, typer.Option(help="ray: CPUs per actor.")] = 1.0,
    worker_gpus: Annotated[
        float | None, typer.Option(help="ray: GPUs per actor (default 1 for vllm, else 0).")
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option(help="ray: cluster address (auto, ray://head:10001); default: local."),
    ] = None,
) -> None:
    """Generate (anchor, entailment, contradiction) triplets from seed sentences."""
    from rich.console import Console

    from tripletforge.generate import GenerationConfig, generate_triplets
    from tripletforge.generate.distributed import WorkerFailed

    console = Console(stderr=True)
    if engine not in ("local", "ray"):
        console.print(f"error: --engine must be local or ray, not {engine!r}", highlight=False)
        raise typer.Exit(2)
    try:
        strategy_options = _options(strategy_option)
        backend_options = _options(backend_option)
        config = GenerationConfig(
            seeds=seeds,
            out=out,
            lang=lang,
            strategy=strategy,
            backend=backend,
            model=model,
            k=k,
            pool=pool,
            mode=mode,  # type: ignore[arg-type]
            joint=joint,
            prompt_format=prompt_format,  # type: ignore[arg-type]
            seed=seed,
            limit=limit,
            temperature=temperature,
            top_p=top_p,
            max_tokens=max_tokens,
            max_attempts=max_attempts,
            chunk_size=chunk_size,
            parquet=parquet,
            progress=progress,
            backend_options=backend_options,
            strategy_options=strategy_options,
        )
        if engine == "ray":
            from tripletforge.generate.distributed import RayOptions, generate_triplets_ray

            options = RayOptions(workers, worker_cpus, worker_gpus, ray_address)
            stats = generate_triplets_ray(config, options)
        else:
            stats = generate_triplets(config)
    except (ValueError, FileNotFoundError, ModuleNotFoundError, ImportError, WorkerFailed) as exc:
        console.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
        raise typer.Exit(2) from exc
    report = stats.seed_report
    if report is not None:
        console.print(f"seeds: {report.summary()}", highlight=False, markup=False)
        for bad in report.bad_rows[:10]:
            console.print(f"  skipped {bad}", highlight=False, markup=False)
        if len(report.bad_rows) > 10:
            console.print(f"  … and {len(report.bad_rows) - 10} more", highlight=False)
    if stats.output_report is not None and stats.output_report.bad_rows:
        console.print(f"resume: {stats.output_report.summary()}", highlight=False, markup=False)
    console.print(stats.summary(), highlight=False, markup=False)
    if stats.parquet_path:
        console.print(f"parquet: {stats.parquet_path}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("generate")(generate)
