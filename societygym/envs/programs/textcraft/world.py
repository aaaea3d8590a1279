"""The TextCraft world: an inventory, and the three commands that change or show it.

Commands (ADaPT's grammar; case, ``minecraft:`` prefixes and underscores are forgiven):
- ``get N item`` — raw items only (those no recipe makes); the supply is unlimited.
- ``craft N X using N a, N b`` — the ingredients must be *exactly* k times the ingredients of
  one of X's recipes, and N exactly k times that recipe's output count, for a whole k >= 1
  (``craft 8 oak planks using 2 oak log`` is two batches; ``craft 1 oak planks using 1 oak
  log`` is refused because one batch makes 4). The ingredients must be in the inventory.
- ``inventory``.
Commands longer than ``MAX_COMMAND_LENGTH`` characters are refused.
Messages are ADaPT's ("Got 1 oak log", "Crafted 4 oak planks", "Could not find …"); a failed
command leaves the world unchanged and ``Outcome.error`` says precisely why.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from societygym.envs.programs.textcraft.recipes import RecipeBook, readable

# matched against whitespace-collapsed text: single spaces keep the lazy match linear-time
_GET = re.compile(r"get (.+)", re.IGNORECASE)
_CRAFT = re.compile(r"craft (.+?) using (.+)", re.IGNORECASE)
_AMOUNT = re.compile(r"(\d{1,9}) (.+)")  # at most 9 digits: no giant ints
MAX_COMMAND_LENGTH = 1024  # real commands are far shorter; bounds the cost of a forged trace
ECHO_LENGTH = 200  # messages quote at most this much of a command, however long it was


def clip(text: str) -> str:
    return text if len(text) <= ECHO_LENGTH else text[: ECHO_LENGTH - 1] + "…"


@dataclass(frozen=True)
class Outcome:
    message: str
    ok: bool
    error: str = ""  # why a failed command failed, more precisely than ADaPT's message


class BadFormat(ValueError):
    """A ``N item`` term that does not parse."""


def parse_amount(text: str) -> tuple[int, str]:
    """``"4 oak planks"`` → ``(4, "oak planks")``; raises BadFormat otherwise."""
    match = _AMOUNT.fullmatch(text.strip())
    if not match or int(match.group(1)) < 1:
        raise BadFormat(text.strip())
    return int(match.group(1)), readable(match.group(2))


class World:
    """One agent's inventory in a recipe book; ``execute`` runs one command."""

    def __init__(self, book: RecipeBook) -> None:
        self.book = book
        self.inventory: Counter[str] = Counter()

    def execute(self, command: str) -> Outcome:
        if len(command) > MAX_COMMAND_LENGTH:
            return Outcome(
                f"Could not execute {clip(command)}",
                False,
                f"a command has at most {MAX_COMMAND_LENGTH} characters",
            )
        text = " ".join(command.split())
        try:
            if text.lower() == "inventory":
                return Outcome(self.inventory_text(), True)
            if match := _CRAFT.fullmatch(text):
                return self._craft(match.group(1), match.group(2))
            if match := _GET.fullmatch(text):
                return self._get(match.group(1))
        except BadFormat as bad:
            term = clip(str(bad))
            return Outcome(f"Wrong item format: {term}", False, f"expected 'N item', got {term!r}")
        return Outcome(
            f"Could not execute {clip(text)}",
            False,
            "commands are 'get N item', 'craft N item using N a, N b' and 'inventory'",
        )

    def inventory_text(self) -> str:
        if not self.inventory:
            return "Inventory: You are not carrying anything."
        return "Inventory: " + " ".join(f"[{i}] ({n})" for i, n in sorted(self.inventory.items()))

    def _get(self, term: str) -> Outcome:
        amount, item = parse_amount(term)
        if item not in self.book.raw:
            why = "is crafted, not gathered" if self.book.is_craftable(item) else "is no item"
            return Outcome(f"Could not find {clip(item)}", False, f"{clip(item)!r} {why}")
        self.inventory[item] += amount
        return Outcome(f"Got {amount} {item}", True)

    def _craft(self, target: str, ingredients: str) -> Outcome:
        amount, item = parse_amount(target)
        needed: Counter[str] = Counter()
        for term in ingredients.split(","):
            count, ingredient = parse_amount(term)
            needed[ingredient] += count
        if self.book.match(item, amount, needed) is None:
            return Outcome(
                f"Could not find a valid recipe for {amount} {clip(item)}",
                False,
                self._recipe_error(item),
            )
        missing = {i: n - self.inventory[i] for i, n in needed.items() if self.inventory[i] < n}
        if missing:
            lacking = ", ".join(f"{n} {i}" for i, n in sorted(missing.items()))
            return Outcome(
                f"Could not find enough items to craft {amount} {item}", False, f"lacking {lacking}"
            )
        self.inventory -= needed
        self.inventory[item] += amount
        return Outcome(f"Crafted {amount} {item}", True)

    def _recipe_error(self, item: str) -> str:
        if not self.book.is_craftable(item):
            return f"no recipe makes {clip(item)!r}"
        return (
            f"the ingredients must be exactly k times one recipe's ingredients and the amount "
            f"k times its output (e.g. {self.book.canonical[item].command()})"
        )
