"""A TextCraft task: a goal and the crafting commands shown for it.

As in ADaPT, the agent sees the goal's whole canonical recipe tree plus up to
``num_distractors`` recipes that share an ingredient with it, shuffled. Distractors are drawn
from a sorted list with ``random.Random`` seeded by (seed, goal), so a task depends on neither
hash seeds nor file order (ADaPT sampled from sets with the global ``random``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from societygym.envs.programs.textcraft.recipes import RecipeBook

NUM_DISTRACTORS = 10


@dataclass(frozen=True)
class TextCraftTask:
    goal: str
    commands: tuple[str, ...]

    @property
    def text(self) -> str:
        return "Crafting commands:\n" + "\n".join(self.commands) + f"\n\nGoal: craft {self.goal}."


def make_task(
    book: RecipeBook, goal: str, seed: int, num_distractors: int = NUM_DISTRACTORS
) -> TextCraftTask:
    if not book.is_craftable(goal):
        raise ValueError(f"{goal!r} cannot be a goal: no recipe makes it")
    tree = book.tree(goal)
    in_tree = {recipe.output for recipe in tree}
    ingredients = {item for recipe in tree for item in recipe.ingredients()}
    sharing = {user for item in ingredients for user in book.users.get(item, ())}
    candidates = sorted(recipe for recipe in sharing if recipe.output not in in_tree)
    rng = random.Random(f"textcraft/{seed}/{goal}")
    chosen = rng.sample(candidates, min(num_distractors, len(candidates)))
    commands = [recipe.command() for recipe in (*tree, *chosen)]
    rng.shuffle(commands)
    return TextCraftTask(goal, tuple(commands))
