"""Entry point of the ``tripletforge`` command: one sub-module registers each stage's commands."""

from __future__ import annotations

import typer

from tripletforge.cli import adapters, connect, evaluate, filter, generate, merge, models, train
from tripletforge.cli import report as report_cli
from tripletforge.cli import run as run_cli

app = typer.Typer(
    name="tripletforge",
    help="Build sentence-embedding models for low-resource languages from LLM-written triplets.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

for _module in (
    models,
    generate,
    adapters,
    filter,
    train,
    merge,
    evaluate,
    connect,
    run_cli,
    report_cli,
):
    _module.register(app)


if __name__ == "__main__":
    app()
