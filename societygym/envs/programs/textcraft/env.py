"""TextCraft-v0: craft a Minecraft item from text commands, one command per step (ADaPT)."""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym

from societygym.envs.instances import pick_index
from societygym.envs.programs.textcraft.recipes import DEFAULT_VERSION, RecipeBook, load_book
from societygym.envs.programs.textcraft.tasks import NUM_DISTRACTORS, TextCraftTask, make_task
from societygym.envs.programs.textcraft.world import MAX_COMMAND_LENGTH, World
from societygym.spaces import UnicodeText

MAX_OBSERVATION_LENGTH = 8192


def pick_goal(env: gym.Env, book: RecipeBook, options: dict | None) -> tuple[int, str]:
    """``options={"index": i}`` (into ``book.goals``) or ``{"goal": name}``; else the RNG picks."""
    options = options or {}
    if "goal" in options:
        goal = str(options["goal"])
        if goal not in book.goals:
            raise ValueError(f"{goal!r} is not a goal (an item of crafting depth >= 2)")
        return book.goals.index(goal), goal
    index = pick_index(env.np_random, len(book.goals), options)
    return index, book.goals[index]


def draw_task(
    env: gym.Env, book: RecipeBook, options: dict | None, seed: int | None, num_distractors: int
) -> tuple[int, TextCraftTask]:
    """The episode's (index, task); the layout seed is the reset seed, else drawn from the RNG."""
    index, goal = pick_goal(env, book, options)
    layout = seed if seed is not None else int(env.np_random.integers(2**31))
    return index, make_task(book, goal, layout, num_distractors)


class TextCraftEnv(gym.Env[str, str]):
    """Craft the goal item by gathering raw items and crafting, one command per step.

    ## Observation
    At reset: "Crafting commands:" (the goal's recipe tree plus up to ``num_distractors``
    recipes sharing an ingredient, shuffled) and "Goal: craft X.". After a step: the command's
    message ("Got 1 oak log", "Crafted 4 oak planks", "Inventory: [oak planks] (4)",
    "Could not find …", "Could not find a valid recipe for …", "Wrong item format: …").
    ``UnicodeText``.

    ## Action
    One command (``UnicodeText``): ``get N item``, ``craft N X using N a, N b`` or
    ``inventory``; the rules are in ``societygym.envs.programs.textcraft.world``. A command that
    fails changes nothing and sets ``info["invalid"]``; a non-``str`` action raises TypeError.

    ## Reward and episode end
    1 and ``terminated`` on the step that crafts the goal, else 0. ``truncated`` after
    ``max_steps`` steps (ADaPT's 40).

    ## Info
    ``goal``, ``task_id`` (``textcraft-<index>``, the goal's index in ``book.goals``),
    ``inventory`` (item → count), ``success``, ``invalid``, ``error`` (why a command failed),
    ``steps``.

    ## Arguments
    ``version``: the minecraft-data version of the recipes; ``max_steps``; ``num_distractors``.
    ``reset(options={"index": i})`` or ``{"goal": "lectern"}`` picks the goal; the layout of
    the commands depends on the reset seed.

    ## Version history
    v0: first release.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"]}

    def __init__(
        self,
        version: str = DEFAULT_VERSION,
        max_steps: int = 40,
        num_distractors: int = NUM_DISTRACTORS,
        render_mode: str | None = None,
    ) -> None:
        if max_steps < 1:
            raise ValueError("max_steps must be at least 1")
        self.book = load_book(version)
        self.max_steps = int(max_steps)
        self.num_distractors = int(num_distractors)
        self.render_mode = render_mode
        self.observation_space = UnicodeText(MAX_OBSERVATION_LENGTH)
        self.action_space = UnicodeText(MAX_COMMAND_LENGTH)
        self.task: TextCraftTask | None = None
        self._world = World(self.book)
        self._index = 0
        self._steps = 0
        self._done = True
        self._last = ""

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._index, self.task = draw_task(self, self.book, options, seed, self.num_distractors)
        self._world = World(self.book)
        self._steps = 0
        self._done = False
        self._last = self.task.text
        return self.task.text, self._info(success=False, invalid=False)

    def step(self, action: str):
        if self._done or self.task is None:
            raise RuntimeError("the episode is over: call reset()")
        if not isinstance(action, str):
            raise TypeError(f"the action is a command, a str; got {type(action)}")
        self._steps += 1
        before = self._world.inventory[self.task.goal]
        outcome = self._world.execute(action)
        # goals are never raw, so only crafting can add one
        success = self._world.inventory[self.task.goal] > before
        truncated = not success and self._steps >= self.max_steps
        self._done = success or truncated
        self._last = outcome.message
        info = self._info(success=success, invalid=not outcome.ok)
        if outcome.error:
            info["error"] = outcome.error
        return outcome.message, float(success), success, truncated, info

    def _info(self, success: bool, invalid: bool) -> dict[str, Any]:
        assert self.task is not None
        return {
            "goal": self.task.goal,
            "task_id": f"textcraft-{self._index}",
            "inventory": dict(self._world.inventory),
            "success": success,
            "invalid": invalid,
            "steps": self._steps,
        }

    def render(self) -> str | None:
        return self._last if self.render_mode == "ansi" else None
