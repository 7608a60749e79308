"""`tripletforge generate`: a thin driver over :func:`tripletforge.generate.generate_triplets`.

Options are derived from :class:`~tripletforge.generate.config.GenerationConfig`; an explicit
flag beats ``--config``, which beats the default. ``-B``/``-S`` add ``key=value`` backend and
strategy settings on top of the file's ``backend_options``/``strategy_options``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from tripletforge.cli.common import command, resolve_settings, settings_options, with_options
from tripletforge.generate.config import GenerationConfig


def key_values(pairs: list[str], option: str) -> dict[str, object]:
    """``key=value`` pairs (values parsed as JSON when they parse) to a dict."""
    options: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected key=value, got {pair!r}", param_hint=option)
        try:
            options[key.replace("-", "_")] = json.loads(value)
        except ValueError:
            options[key.replace("-", "_")] = value
    return options


_OPTIONS = settings_options(
    GenerationConfig,
    exclude=("progress",),
    flags={"out": ("--out", "-o")},
)


@with_options(_OPTIONS)
def generate(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="YAML with generation settings; flags override it."),
    ] = None,
    backend_option: Annotated[
        list[str] | None,
        typer.Option(
            "--backend-option",
            "-B",
            help="Backend setting key=value, repeatable (base_url=..., threads=2, parallel=8).",
        ),
    ] = None,
    strategy_option: Annotated[
        list[str] | None,
        typer.Option(
            "--strategy-option",
            "-S",
            help="Strategy setting key=value, repeatable (compose/xlora: positive_adapter=DIR, "
            "negative_adapter=DIR, lambda=1.0, lang_target=DIR or JSON {lang: DIR}).",
        ),
    ] = None,
    engine: Annotated[
        Literal["local", "ray"],
        typer.Option(help="local (one process) | ray (Ray Data actors; pip install ray)."),
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
    **options: Any,
) -> None:
    """Generate (anchor, entailment, contradiction) triplets from seed sentences."""
    from tripletforge.cli.output import console, progress_enabled
    from tripletforge.generate import generate_triplets

    fields = resolve_settings(ctx, options, config, GenerationConfig)
    fields["backend_options"] = dict(fields.get("backend_options") or {}) | key_values(
        backend_option or [], "-B"
    )
    fields["strategy_options"] = dict(fields.get("strategy_options") or {}) | key_values(
        strategy_option or [], "-S"
    )
    for required in ("seed_file", "out"):
        if fields.get(required) is None:
            flag = "--" + required.replace("_", "-")
            raise typer.BadParameter(f"give {flag} (or `{required}:` in --config)", param_hint=flag)
    run = GenerationConfig(**fields, progress=progress_enabled())
    if engine == "ray":
        from tripletforge.generate.distributed import RayOptions, generate_triplets_ray

        stats = generate_triplets_ray(
            run, RayOptions(workers, worker_cpus, worker_gpus, ray_address)
        )
    else:
        stats = generate_triplets(run)
    from tripletforge.cli.output import print_read_report

    out = console()
    report = stats.seed_report
    if report is not None:
        print_read_report(report, prefix="seeds: ")
    if stats.output_report is not None and stats.output_report.bad_rows:
        out.print(f"resume: {stats.output_report.summary()}", highlight=False, markup=False)
    out.print(stats.summary(), highlight=False, markup=False)
    if stats.parquet_path:
        out.print(f"parquet: {stats.parquet_path}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    command(app, "generate")(generate)
