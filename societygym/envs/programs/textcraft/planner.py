"""A planner that reads the recipes and writes a command sequence crafting a goal.

It follows the canonical recipe tree: the total need of every item is propagated from the
goal down (deepest first, so every consumer is counted before its ingredients), each raw item
is gathered once, and each intermediate is crafted once, in as many batches as its consumers
need. A plan therefore has one command per item of the tree.
"""

from __future__ import annotations

import json
from collections import Counter

from societygym.envs.programs.textcraft.recipes import RecipeBook


def solve(goal: str, book: RecipeBook, amount: int = 1) -> list[str]:
    """Commands that leave at least ``amount`` of ``goal`` in an empty inventory."""
    if not book.is_craftable(goal):
        raise ValueError(f"{goal!r} has no recipe to craft it from")
    need: Counter[str] = Counter({goal: amount})
    crafts = []
    for recipe in book.tree(goal):  # deepest first: consumers before their ingredients
        times = -(-need[recipe.output] // recipe.count)
        for item, count in recipe.inputs:
            need[item] += times * count
        crafts.append(recipe.command(times))
    gets = [f"get {need[item]} {item}" for item in sorted(need) if item in book.raw]
    return gets + crafts[::-1]


def program_from_commands(commands: list[str]) -> str:
    """The same plan as a ReGAL program over ``get_object`` / ``craft_object``."""
    lines = []
    for command in commands:
        if command.startswith("get "):
            lines.append(f"get_object({json.dumps(command[4:])})")
        else:
            target, _, ingredients = command[len("craft ") :].partition(" using ")
            used = json.dumps(ingredients.split(", "))
            lines.append(f"craft_object({json.dumps(target)}, {used})")
    lines.append("check_inventory()")
    return "\n".join(lines) + "\n"
