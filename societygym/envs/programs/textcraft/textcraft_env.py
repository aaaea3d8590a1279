"""TextCraft-v0: craft a Minecraft item from text commands, one command per step (ADaPT)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import gymnasium as gym

from societygym.envs.instances import pick_index
from societygym.envs.levels import check_level, only_one
from societygym.envs.programs.plausible import sample_textcraft_command
from societygym.envs.programs.textcraft.recipes import DEFAULT_VERSION, RecipeBook
from societygym.envs.programs.textcraft.tasks import NUM_DISTRACTORS, TextCraftTask, make_task
from societygym.envs.programs.textcraft.world import MAX_COMMAND_LENGTH
from societygym.envs.programs.textcraft.worlds import load_rules, new_world
from societygym.spaces import UnicodeText

if TYPE_CHECKING:
    from societygym.envs.programs.textcraft.adapt import AdaptBook

MAX_OBSERVATION_LENGTH = 8192
# (recipe depth of the goal, distractor recipes shown), easiest first
DIFFICULTY: tuple[tuple[int, int], ...] = ((1, 2), (2, 5), (3, 10), (4, 15))
DIFFICULTY_LEVELS = tuple(
    f"goals of crafting depth {depth}, {shown} distractor recipes" for depth, shown in DIFFICULTY
)


class TaskSource:
    """Where an env's episodes come from: a world's goals (laid out per seed) or given tasks.

    ``world``: ``"minecraft"``, ``"adapt"``, or None for ``"adapt"`` when the tasks were
    loaded from ReGAL's files and ``"minecraft"`` otherwise. Every given task's goal must be
    craftable in the world, so that a bad task fails here rather than at its reset.
    ``depth`` keeps the world's goals of these crafting depths (None: ``book.goals``, every
    goal of depth >= 2); ``difficulty`` sets depth and ``num_distractors`` (``DIFFICULTY``).
    """

    def __init__(
        self,
        version: str,
        world: str | None,
        tasks: Sequence[TextCraftTask] | None,
        num_distractors: int | None,
        depth: int | Sequence[int] | None = None,
        difficulty: int | None = None,
    ) -> None:
        self.tasks = tuple(tasks) if tasks is not None else None
        if self.tasks is not None and not self.tasks:
            raise ValueError("no TextCraft tasks: the task list is empty")
        if world is None:
            adapt = self.tasks is not None and any(t.world == "adapt" for t in self.tasks)
            world = "adapt" if adapt else "minecraft"
        self.world = world
        self.book = load_rules(version, world)
        only_one("TextCraft", difficulty=difficulty, depth=depth, num_distractors=num_distractors)
        level = check_level(difficulty, DIFFICULTY_LEVELS, "TextCraft")
        if level is not None:
            depth, num_distractors = DIFFICULTY[level - 1]
        if self.tasks is not None and depth is not None:
            raise ValueError(
                "TextCraft: depth and difficulty choose among the world's goals, not given tasks"
            )
        self.goals = self.book.goals if depth is None else goals_of_depth(self.book, depth)
        self.num_distractors = NUM_DISTRACTORS if num_distractors is None else int(num_distractors)
        bad = sorted({t.goal for t in self.tasks or () if not self.book.is_craftable(t.goal)})
        if bad:
            raise ValueError(f"goals no recipe makes in the {world!r} world: {bad[:10]}")

    def draw(
        self, env: gym.Env, options: dict | None, seed: int | None
    ) -> tuple[str, TextCraftTask]:
        """The episode's (task id, task)."""
        if self.tasks is None:
            index, task = draw_task(env, self.book, self.goals, options, seed, self.num_distractors)
            return f"textcraft-{index}", task
        options = options or {}
        if "goal" in options:
            goals = [t.goal for t in self.tasks]
            if options["goal"] not in goals:
                raise ValueError(f"no task has the goal {options['goal']!r}")
            index = goals.index(options["goal"])
        else:
            index = pick_index(env.np_random, len(self.tasks), options)
        task = self.tasks[index]
        return task.task_id or f"textcraft-task-{index}", task


def goals_of_depth(book: RecipeBook | AdaptBook, depth: int | Sequence[int]) -> tuple[str, ...]:
    """The craftable items of crafting depth ``depth`` (one or several), deepest first, then
    by name (``book.goals``' order); a depth no item has is a ValueError naming the valid ones."""
    wanted = {depth} if isinstance(depth, int) else set(depth)
    crafted = sorted(item for item in book.recipes if book.depth[item] >= 1)
    valid = sorted({book.depth[item] for item in crafted})
    if not wanted or not wanted <= set(valid):
        raise ValueError(
            f"TextCraft: depth must be among {valid} (or a list of them); got {depth!r}"
        )
    chosen = (item for item in crafted if book.depth[item] in wanted)
    return tuple(sorted(chosen, key=lambda item: (-book.depth[item], item)))


def pick_goal(env: gym.Env, goals: Sequence[str], options: dict | None) -> tuple[int, str]:
    """``options={"index": i}`` (into ``goals``) or ``{"goal": name}``; else the RNG picks."""
    options = options or {}
    if "goal" in options:
        goal = str(options["goal"])
        if goal not in goals:
            raise ValueError(f"{goal!r} is not a goal (an item of the env's crafting depths)")
        return goals.index(goal), goal
    index = pick_index(env.np_random, len(goals), options)
    return index, goals[index]


def draw_task(
    env: gym.Env,
    book: RecipeBook | AdaptBook,
    goals: Sequence[str],
    options: dict | None,
    seed: int | None,
    num_distractors: int,
) -> tuple[int, TextCraftTask]:
    """The episode's (index, task); the layout seed is the reset seed, else drawn from the RNG."""
    index, goal = pick_goal(env, goals, options)
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
    ``goal``, ``task_id`` (``textcraft-<index>``, the goal's index in ``env.source.goals``
    (``book.goals`` by default), or a given task's id),
    ``inventory`` (item → count), ``success``, ``invalid``, ``error`` (why a command failed),
    ``steps``.

    ## Arguments
    ``version``: the minecraft-data version of the recipes; ``max_steps``; ``num_distractors``
    (default 10). ``depth``: goals of these crafting depths only (1-4; default: every goal of
    depth >= 2); ``difficulty``: 1-4 (``difficulty_levels``), goals of depth 1 to 4 with 2, 5,
    10 and 15 distractor recipes; None (default) keeps the usual mix.
    ``world``: ``"minecraft"`` (this suite's rules above) or ``"adapt"`` (ADaPT's game, which
    ReGAL's data use: tag items such as ``oak logs`` and ``planks``, one batch per craft; see
    ``textcraft.adapt``); ``tasks``: explicit ``TextCraftTask`` s, e.g.
    ``tasks.load_regal_jsonl(path)`` (then ``world`` defaults to ``"adapt"``).
    ``reset(options={"index": i})`` or ``{"goal": "lectern"}`` picks the goal (or task); the
    layout of a world goal's commands depends on the reset seed.

    ## Version history
    v0: first release.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 1}
    sample_plausible_action = staticmethod(sample_textcraft_command)
    difficulty_levels: ClassVar[tuple[str, ...]] = DIFFICULTY_LEVELS

    def __init__(
        self,
        version: str = DEFAULT_VERSION,
        max_steps: int = 40,
        num_distractors: int | None = None,
        render_mode: str | None = None,
        world: str | None = None,
        tasks: Sequence[TextCraftTask] | None = None,
        depth: int | Sequence[int] | None = None,
        difficulty: int | None = None,
    ) -> None:
        if max_steps < 1:
            raise ValueError("max_steps must be at least 1")
        self.source = TaskSource(version, world, tasks, num_distractors, depth, difficulty)
        self.book = self.source.book
        self.world = self.source.world
        self.max_steps = int(max_steps)
        self.num_distractors = self.source.num_distractors
        self.render_mode = render_mode
        self.observation_space = UnicodeText(MAX_OBSERVATION_LENGTH)
        self.action_space = UnicodeText(MAX_COMMAND_LENGTH)
        self.task: TextCraftTask | None = None
        self._world = new_world(self.book)
        self._task_id = ""
        self._steps = 0
        self._done = True
        self._last = ""

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._task_id, self.task = self.source.draw(self, options, seed)
        self._world = new_world(self.book)
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
            "task_id": self._task_id,
            "inventory": dict(self._world.inventory),
            "success": success,
            "invalid": invalid,
            "steps": self._steps,
        }

    def render(self) -> str | None:
        return self._last if self.render_mode == "ansi" else None
