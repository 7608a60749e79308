"""Generation strategies, registered by name (like peft's tuners).

A strategy turns an anchor into backend requests, one per pass, choosing each pass's prompt
and model/adapter, and declares the facts the rest of the toolkit asks about it
(:class:`~tripletforge.generate.strategies.base.StrategyBase`: adapters, required mode,
options). ``icl`` ships here; ``compose`` and ``xlora`` (LoRA adapters per pass) and plugin
strategies register themselves the same way::

    @register_strategy("compose")
    class ComposeStrategy(AdapterStrategy):
        name = "compose"
        def __init__(self, ctx: StrategyContext): ...
        def plan(self, seed, passes, *, anchor_seed, attempt) -> list[GenerationRequest]: ...

Registering a name twice (with another class) is an error.
"""

from __future__ import annotations

from collections.abc import Callable

from tripletforge.generate.registry import lookup
from tripletforge.generate.strategies.base import (
    AdapterNeeds,
    Mode,
    Strategy,
    StrategyBase,
    StrategyContext,
    derive_seed,
)
from tripletforge.generate.strategies.icl import ICLStrategy

#: strategy name → class taking a :class:`StrategyContext`.
STRATEGIES: dict[str, type[StrategyBase]] = {"icl": ICLStrategy}
#: strategies shipped as modules of this package (imported on first use).
BUILTIN_STRATEGIES = ("icl", "compose", "xlora")


def _qualified(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def register_strategy(name: str) -> Callable[[type], type]:
    """Class decorator that adds a strategy to :data:`STRATEGIES`.

    Raises ``ValueError`` when ``name`` is taken by another class (re-importing the module
    that registered it is not an error).
    """

    def decorate(cls: type) -> type:
        known = STRATEGIES.get(name)
        if known is not None and _qualified(known) != _qualified(cls):
            raise ValueError(
                f"strategy {name!r} is already registered ({_qualified(known)}); "
                "register yours under another name"
            )
        STRATEGIES[name] = cls
        return cls

    return decorate


def strategy_class(name: str) -> type[StrategyBase]:
    """The class registered under ``name``.

    A name not registered yet is looked up as the module ``strategies/<name>.py``, which
    registers itself on import (so ``compose`` and ``xlora`` load only when used). Raises
    ``ValueError`` listing the known strategies for an unknown name.
    """
    return lookup(STRATEGIES, __name__, name, what="strategy", builtin=BUILTIN_STRATEGIES)


def make_strategy(name: str, ctx: StrategyContext) -> Strategy:
    """Build the strategy registered under ``name`` (see :func:`strategy_class`)."""
    return strategy_class(name)(ctx)  # type: ignore[call-arg, return-value]


__all__ = [
    "BUILTIN_STRATEGIES",
    "STRATEGIES",
    "AdapterNeeds",
    "ICLStrategy",
    "Mode",
    "Strategy",
    "StrategyBase",
    "StrategyContext",
    "derive_seed",
    "make_strategy",
    "register_strategy",
    "strategy_class",
]
