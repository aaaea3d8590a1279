"""ReGAL's TextCraft program API, as it runs inside the sandbox, and the trusted replay.

This module stays light (no gymnasium): sandbox workers import it to rebuild the world.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from societygym.envs.programs.textcraft.recipes import DEFAULT_VERSION
from societygym.envs.programs.textcraft.worlds import load_rules, new_world

MAX_COMMANDS = 1000
TRACE_NAME = "command_trace"


class ProgramWorld:
    """ReGAL's program API over a fresh ``World``, recording every command it runs.

    It pickles as its recipe version, world name and trace list alone: the sandbox worker
    rebuilds the world (with its own cached recipe book) for every run, and the list it fills
    is the one the namespace exposes as ``command_trace`` (pickle keeps the two references one
    object).
    """

    def __init__(
        self,
        version: str = DEFAULT_VERSION,
        trace: list[str] | None = None,
        world: str = "minecraft",
    ) -> None:
        self.version = version
        self.world_name = world
        self.world = new_world(load_rules(version, world))
        self.trace: list[str] = [] if trace is None else trace

    def __reduce__(self) -> tuple:
        if self.trace:
            raise TypeError("only a fresh ProgramWorld (no commands run yet) can be pickled")
        return (ProgramWorld, (self.version, self.trace, self.world_name))

    def namespace(self) -> dict[str, Any]:
        return {
            "get_object": self.get_object,
            "craft_object": self.craft_object,
            "check_inventory": self.check_inventory,
            TRACE_NAME: self.trace,
        }

    def _run(self, command: str) -> str:
        if len(self.trace) >= MAX_COMMANDS:
            return f"Could not execute {command}: the program used all {MAX_COMMANDS} commands"
        self.trace.append(command)
        return self.world.execute(command).message

    def get_object(self, item: str) -> str:
        _require_str(item, "get_object's argument")
        return self._run(f"get {item}")

    def craft_object(self, target: str, ingredients: Sequence[str]) -> str:
        _require_str(target, "craft_object's target")
        if isinstance(ingredients, str) or not isinstance(ingredients, list | tuple):
            raise TypeError('craft_object\'s ingredients are a list such as ["1 oak log"]')
        for ingredient in ingredients:
            _require_str(ingredient, "each ingredient")
        return self._run(f"craft {target} using {', '.join(ingredients)}")

    def check_inventory(self) -> str:
        return self._run("inventory")


def _require_str(value: Any, what: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f'{what} is a str such as "1 oak log", got {type(value).__name__}')


def replay(
    book_version: str, trace: Sequence[str], goal: str, world_name: str = "minecraft"
) -> dict[str, Any]:
    """Re-run a program's commands in a trusted world: the verdict cannot be forged inside
    the sandbox, since a made-up trace is judged by what its commands really do."""
    world = new_world(load_rules(book_version, world_name))
    steps = [{"command": c, "message": world.execute(c).message} for c in trace[:MAX_COMMANDS]]
    return {
        "trace": steps,
        "inventory": dict(world.inventory),
        "success": world.inventory[goal] > 0,
    }
