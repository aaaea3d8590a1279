"""A TextCraft task: a goal and the crafting commands shown for it.

As in ADaPT, the agent sees the goal's whole canonical recipe tree plus up to
``num_distractors`` recipes that share an ingredient with it, shuffled. Distractors are drawn
from a sorted list with ``random.Random`` seeded by (seed, goal), so a task depends on neither
hash seeds nor file order (ADaPT sampled from sets with the global ``random``).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from societygym.envs.programs.jsonl import numbered_rows
from societygym.envs.programs.textcraft.recipes import RecipeBook, readable

if TYPE_CHECKING:
    from societygym.envs.programs.textcraft.adapt import AdaptBook

NUM_DISTRACTORS = 10
_GOAL = re.compile(r"craft (.+?)\.?", re.IGNORECASE)


@dataclass(frozen=True)
class TextCraftTask:
    """A goal and its crafting commands; ``task_id``, ``program`` (a reference program) and
    ``world`` (the world whose vocabulary the commands use) when loaded from a file."""

    goal: str
    commands: tuple[str, ...]
    task_id: str | None = None
    program: str | None = None
    world: str = "minecraft"

    @property
    def text(self) -> str:
        return "Crafting commands:\n" + "\n".join(self.commands) + f"\n\nGoal: craft {self.goal}."


def make_task(
    book: RecipeBook | AdaptBook, goal: str, seed: int, num_distractors: int = NUM_DISTRACTORS
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


def load_regal_jsonl(path: str | Path) -> list[TextCraftTask]:
    """Tasks from ReGAL's TextCraft files (``python_data/textcraft/*/{train,dev,test_d2}.jsonl``):
    ``{"idx": "env_150", "language": ["craft brick wall."], "metadata": "Crafting commands:
    …", "program": …}`` per line. The commands are kept as the file shows them, the ``idx``
    is the task id, and the tasks run in ADaPT's world (``world="adapt"``)."""
    path = Path(path)
    tasks = []
    for number, row in numbered_rows(path):
        language, metadata = row.get("language"), row.get("metadata")
        query = language[0] if isinstance(language, list) and language else None
        goal = _GOAL.fullmatch(query.strip()) if isinstance(query, str) else None
        if goal is None or not isinstance(metadata, str):
            raise ValueError(
                f"{path}:{number}: expected 'language' (['craft X.']) and 'metadata' "
                "(the crafting commands)"
            )
        commands = tuple(c.strip() for c in metadata.splitlines() if c.startswith("craft "))
        program = row.get("program")
        tasks.append(
            TextCraftTask(
                goal=readable(goal.group(1)),
                commands=commands,
                task_id=str(row.get("idx", f"{path.name}:{number}")),
                program=program if isinstance(program, str) else None,
                world="adapt",
            )
        )
    return tasks
