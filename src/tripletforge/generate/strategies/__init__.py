"""Generation strategies, registered by name (like peft's tuners).

A strategy turns an anchor into backend requests, one per pass, choosing each pass's prompt
and model/adapter. ``icl`` ships here; ``compose`` and ``xlora`` (LoRA adapters per pass)
register themselves the same way::

    @register_strategy("compose")
    class ComposeStrategy:
        name = "compose"
        def __init__(self, ctx: StrategyContext): ...
        def plan(self, seed, passes, *, anchor_seed, attempt) -> list[GenerationRequest]: ...
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from tripletforge.generate.strategies.base import (
    Mode,
    Strategy,
    StrategyContext,
    derive_seed,
)
from tripletforge.generate.strategies.icl import ICLStrategy

#: strategy name → class (or factory) taking a :class:`StrategyContext`.
STRATEGIES: dict[str, Callable[[StrategyContext], Strategy]] = {"icl": ICLStrategy}


def register_strategy(name: str) -> Callable[[type], type]:
    """Class decorator that adds a strategy to :data:`STRATEGIES`."""

    def decorate(cls: type) -> type:
        STRATEGIES[name] = cls
        return cls

    return decorate


def make_strategy(name: str, ctx: StrategyContext) -> Strategy:
    """Build the strategy registered under ``name``.

    A name not registered yet is looked up as the module ``strategies/<name>.py``, which
    registers itself on import (so ``compose`` and ``xlora`` load only when used).
    """
    if name not in STRATEGIES and name.isidentifier():
        try:
            import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; known: {', '.join(sorted(STRATEGIES))}")
    return STRATEGIES[name](ctx)


__all__ = [
    "STRATEGIES",
    "ICLStrategy",
    "Mode",
    "Strategy",
    "StrategyContext",
    "derive_seed",
    "make_strategy",
    "register_strategy",
]
