"""The CLI convention, in one place.

- Every command is registered with :func:`command`: it gets ``--quiet/-q`` and
  ``--verbose/-v`` and one error path for user errors (a bad setting, a missing or malformed
  file, an unknown name): one ``error:`` message that names the fix, exit code 2, no
  traceback (``--verbose`` adds it). Outputs are ``--out/-o``.
- Options come from settings classes.

Each stage has one settings class (pydantic) that the pipeline uses directly; its command's
options are derived from it here (:func:`settings_options`): one ``--field-name`` per field,
with the field's default, type, choices and description, so names and defaults never drift
from the library. A command that takes a ``--config`` YAML and flags resolves them with one
rule (:func:`resolve_settings`): **an explicit flag beats the file, which beats the default**
(click's ``ParameterSource`` tells an explicit flag from a default).
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from pydantic import BaseModel
from pydantic.fields import FieldInfo

#: Settings fields never offered as flags: mappings are set by ``-B``/``-S`` key=value options
#: or in the ``--config`` file.
_MAPPING_ORIGINS = (dict, Mapping)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
        # str | Path and similar: a string on the command line
        return str, True
    return annotation, False


def _cli_type(annotation: Any) -> Any | None:
    """The type typer parses a field as (None: not offered as a flag)."""
    inner, _ = _unwrap_optional(annotation)
    origin = typing.get_origin(inner)
    if origin is Literal:
        return inner
    if origin in (list, tuple, set) or inner in (list, tuple):
        return str  # comma-separated
    if origin in _MAPPING_ORIGINS or inner in _MAPPING_ORIGINS:
        return None
    if inner in (bool, int, float, str, Path):
        return inner
    return str


def _is_sequence(annotation: Any) -> bool:
    inner, _ = _unwrap_optional(annotation)
    return typing.get_origin(inner) in (list, tuple, set)


def _default(info: FieldInfo) -> Any:
    if info.default_factory is not None:
        return info.default_factory()  # type: ignore[call-arg]
    return None if info.is_required() else info.default


def settings_options(
    *models: type[BaseModel],
    exclude: Collection[str] = (),
    flags: Mapping[str, tuple[str, ...]] | None = None,
    panel: str | None = None,
    prefix: str | None = None,
) -> list[inspect.Parameter]:
    """One keyword parameter per settings field, for a typer command's signature.

    ``flags`` overrides the option names of a field (``{"output_dir": ("--out", "-o")}``;
    for a bool, ``("--x/--no-x",)``). Sequences are given comma-separated; mapping fields
    are left out (they come from ``key=value`` options or the config file). ``prefix`` names
    a nested section of a settings class (``ConnectSettings.align``): its fields become
    ``--align-epochs`` (parameter ``align_epochs``), which :func:`resolve_settings` puts back
    under ``align:`` when given its ``sections``; ``flags`` and ``exclude`` still use the
    section's own field names.
    """
    flags = dict(flags or {})
    params: list[inspect.Parameter] = []
    seen: set[str] = set()
    for model in models:
        for name, info in model.model_fields.items():
            if name in exclude or name in seen:
                continue
            cli_type = _cli_type(info.annotation)
            if cli_type is None:
                continue
            seen.add(name)
            default = _default(info)
            _, optional = _unwrap_optional(info.annotation)
            if _is_sequence(info.annotation):
                default = ",".join(map(str, default)) if default else None
                optional = True
            param = f"{prefix}_{name}" if prefix else name
            if cli_type is bool:
                decls = flags.get(name, (f"{_flag(param)}/--no-{param.replace('_', '-')}",))
            else:
                decls = flags.get(name, (_flag(param),))
            annotation = cli_type | None if optional or default is None else cli_type
            help_text = (info.description or "").rstrip(".")
            option = typer.Option(*decls, help=help_text, rich_help_panel=panel)
            params.append(
                inspect.Parameter(
                    param,
                    inspect.Parameter.KEYWORD_ONLY,
                    default=default,
                    annotation=Annotated[annotation, option],
                )
            )
    return params


#: The click exception every usage error derives from (typer ships its own click).
ClickException: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
)


def explicit(ctx: typer.Context, names: Collection[str]) -> set[str]:
    """The parameters among ``names`` given on the command line (or by environment).

    click's ``ParameterSource`` tells a typed flag from a default.
    """
    typed = {"COMMANDLINE", "ENVIRONMENT"}
    return {n for n in names if getattr(ctx.get_parameter_source(n), "name", None) in typed}


def read_config_file(path: Path | None, *models: type[BaseModel]) -> dict[str, Any]:
    """The fields of a ``--config`` YAML file; unknown fields raise ``typer.BadParameter``."""
    if path is None:
        return {}
    import yaml

    if not Path(path).is_file():
        raise typer.BadParameter(f"{path} is not a file", param_hint="--config")
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise typer.BadParameter(
            f"{path} is not valid YAML: {exc}", param_hint="--config"
        ) from None
    if not isinstance(data, dict):
        raise typer.BadParameter(f"{path} must be a mapping of settings", param_hint="--config")
    allowed = [n for model in models for n in model.model_fields]
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise typer.BadParameter(
            f"{path}: unknown setting(s) {unknown}; allowed: {', '.join(allowed)}",
            param_hint="--config",
        )
    return data


def resolve_settings(
    ctx: typer.Context,
    values: Mapping[str, Any],
    config: Path | None,
    *models: type[BaseModel],
    sections: Mapping[str, type[BaseModel]] | None = None,
) -> dict[str, Any]:
    """Settings fields: the file's, overridden by the flags given explicitly.

    ``values`` are the command's parsed option values (defaults included); a flag the user
    did not type does not override the file, and fields neither typed nor in the file are
    left to the settings class's defaults. Sequence flags are split on commas. ``sections``
    maps a nested section's name to its class (options made with ``prefix=`` that name): a
    typed ``--align-epochs`` overrides ``align: {epochs: …}`` of the file, keeping the
    section's other keys.
    """
    fields = read_config_file(config, *models)
    annotations = {n: f.annotation for m in models for n, f in m.model_fields.items()}
    places: dict[str, tuple[str, ...]] = {n: (n,) for n in annotations}
    for section, model in (sections or {}).items():
        for n, f in model.model_fields.items():
            annotations[f"{section}_{n}"] = f.annotation
            places[f"{section}_{n}"] = (section, n)
    for name in explicit(ctx, [n for n in values if n in annotations]):
        value = values[name]
        if _is_sequence(annotations[name]) and isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        *parents, last = places[name]
        target = fields
        for part in parents:
            inner = target.get(part) or {}
            if not isinstance(inner, Mapping):
                raise typer.BadParameter(
                    f"{config}: {part!r} must be a mapping of settings", param_hint="--config"
                )
            target[part] = dict(inner)
            target = target[part]
        target[last] = value
    return fields


def _parameters(fn: Callable) -> list[inspect.Parameter]:
    """``fn``'s parameters with string annotations resolved (``**kwargs`` left out)."""
    hints = typing.get_type_hints(fn, include_extras=True)
    return [
        p.replace(annotation=hints.get(p.name, p.annotation))
        for p in inspect.signature(fn).parameters.values()
        if p.kind != inspect.Parameter.VAR_KEYWORD
    ]


def with_options(params: list[inspect.Parameter]) -> Callable[[Callable], Callable]:
    """Give a command extra keyword parameters (typer reads the signature).

    The command receives them in ``**options``; its own parameters come first.
    """

    def decorate(fn: Callable) -> Callable:
        own = _parameters(fn)
        names = {p.name for p in own}
        extra = [p for p in params if p.name not in names]

        @functools.wraps(fn)
        def command(*args: Any, **kwargs: Any) -> Any:
            return fn(*args, **kwargs)

        command.__signature__ = inspect.Signature([*own, *extra])  # type: ignore[attr-defined]
        return command

    return decorate


# --- one error path --------------------------------------------------------------------


def _flag_of(loc: tuple[Any, ...], sections: Collection[str] = ()) -> str:
    """The flag of a pydantic error location: ``--field-name``; a field of a nested section
    (one of ``sections``, whose fields are offered as ``--section-field``) as that flag,
    e.g. ``("align", "epochs")`` → ``--align-epochs``; any deeper key or index after it."""
    if not loc:
        return "settings"
    head, *rest = loc
    if head in sections and rest and isinstance(rest[0], str):
        head, rest = f"{head}_{rest[0]}", rest[1:]
    name = _flag(str(head)) if isinstance(head, str) else str(head)
    return name + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in rest)


def error_message(exc: BaseException, sections: Collection[str] = ()) -> str:
    """The user-facing text of a user error (settings errors name their flags).

    ``sections``: the nested settings sections whose fields are flags ``--section-field``
    (:func:`settings_options`). An unknown key inside a section can only come from the
    ``--config`` file and is named by its key there (``--config: align.epochz``); a check of a
    whole section (its fields together) names the section (``finetune settings``), not a flag.
    """
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        lines = []
        for item in exc.errors():
            loc = tuple(item["loc"])
            msg = item["msg"].removeprefix("Value error, ")
            where = _flag_of(loc, sections)
            if item["type"] == "missing":
                msg = "required; give it (or set it in --config)"
            elif item["type"] == "extra_forbidden":
                if len(loc) > 1:  # a key inside a section: only a --config file sets those
                    where = "--config: " + ".".join(str(p) for p in loc)
                msg = "unknown setting; remove it"
            elif item["type"] == "value_error" and isinstance(item.get("input"), dict):
                where = " ".join([".".join(str(p) for p in loc), "settings"]).strip()
            lines.append(f"{where}: {msg}")
        return "; ".join(lines)
    if isinstance(exc, typer.BadParameter):
        hint = f"{exc.param_hint}: " if isinstance(exc.param_hint, str) else ""
        return f"{hint}{exc.message}"
    if isinstance(exc, ClickException):
        return str(getattr(exc, "message", exc))
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(exc) or type(exc).__name__


def _user_errors() -> tuple[type[BaseException], ...]:
    """What counts as the user's mistake (the message is the report; no traceback)."""
    from tripletforge.generate.distributed import WorkerFailed
    from tripletforge.pipeline.runner import RunLockedError

    return (
        ValueError,  # bad settings (pydantic), configs, suites, data, language codes
        OSError,  # missing, unreadable or misplaced files
        ImportError,  # an optional dependency that is not installed
        ClickException,  # a bad flag value found by the command itself
        RunLockedError,
        WorkerFailed,
    )


QUIET = Annotated[
    bool, typer.Option("--quiet", "-q", help="Only results and errors: no progress displays.")
]
VERBOSE = Annotated[
    bool,
    typer.Option(
        "--verbose", "-v", help="Show library logs and warnings on the terminal, and tracebacks."
    ),
]


def command(app: typer.Typer, name: str, **kwargs: Any) -> Callable[[Callable], Callable]:
    """Register ``fn`` as ``name`` on ``app`` with the convention (see the module docstring)."""

    def decorate(fn: Callable) -> Callable:
        params = _parameters(fn)
        extra = [
            inspect.Parameter(
                "quiet", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=QUIET
            ),
            inspect.Parameter(
                "verbose", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=VERBOSE
            ),
        ]

        @functools.wraps(fn)
        def run(*args: Any, quiet: bool = False, verbose: bool = False, **kw: Any) -> Any:
            from contextlib import nullcontext

            from rich.markup import escape

            from tripletforge.cli.output import configure, console
            from tripletforge.progress import quiet_library_bars

            configure(quiet=quiet, verbose=verbose)
            errors = _user_errors()
            try:
                # the libraries' own tqdm bars only with --verbose: each command shows its own
                with nullcontext() if verbose else quiet_library_bars():
                    return fn(*args, **kw)
            except (typer.Exit, typer.Abort):
                raise
            except errors as exc:
                if verbose:
                    console().print_exception(show_locals=False)
                message = escape(error_message(exc))
                console().print(f"[red]error:[/red] {message}", highlight=False)
                raise typer.Exit(2) from None

        run.__signature__ = inspect.Signature([*params, *extra])  # type: ignore[attr-defined]
        app.command(name, **kwargs)(run)
        return fn

    return decorate
