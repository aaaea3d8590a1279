"""ReGAL-TextCraft-v0: craft a Minecraft item by writing one program (ReGAL's TextCraft)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import gymnasium as gym

from societygym.envs.programs.helpers import (
    BASE_OBSERVATION_LENGTH,
    checked_helpers,
    describe,
    observation_length,
    with_helpers,
)
from societygym.envs.programs.plausible import sample_textcraft_program
from societygym.envs.programs.textcraft.program_api import TRACE_NAME, ProgramWorld, replay
from societygym.envs.programs.textcraft.recipes import DEFAULT_VERSION
from societygym.envs.programs.textcraft.tasks import TextCraftTask
from societygym.envs.programs.textcraft.textcraft_env import DIFFICULTY_LEVELS, TaskSource
from societygym.spaces import UnicodeText

INSTRUCTIONS = """\
Write a Python program that crafts the goal with these functions:
- get_object("1 oak log") gathers a raw item (one that no recipe makes);
- craft_object("4 oak planks", ["1 oak log"]) crafts with exactly the ingredients of a recipe \
(or k times them, making k times the output);
- check_inventory() returns the inventory, e.g. "Inventory: [oak planks] (4)".
Each returns the game's message as a str. You succeed if the goal is in the inventory when \
the program ends."""
ADAPT_INSTRUCTIONS = """\
Write a Python program that crafts the goal with these functions:
- get_object("1 oak logs") gathers a raw item (one that no recipe makes);
- craft_object("4 oak planks", ["1 oak logs"]) crafts one batch with exactly the ingredients \
of a recipe (an ingredient such as "planks" is filled by any kind: "2 oak planks"); the output \
is the recipe's, whatever count you ask for;
- check_inventory() returns the inventory, e.g. "Inventory: [oak planks] (4) ".
Each returns the game's message as a str. You succeed if the goal is in the inventory when \
the program ends."""


class TextCraftProgramEnv(gym.Env[str, str]):
    """Write one program that crafts the goal (ReGAL's TextCraft program mode).

    ## Observation
    The crafting commands and goal (as in ``TextCraft-v0``), the program API
    (``get_object``, ``craft_object``, ``check_inventory``) and any ``helpers``
    (``UnicodeText``). After the step: a verdict text.

    ## Action
    Python source (``UnicodeText``), run only in ``societygym.sandbox`` with a fresh world,
    after the ``helpers``, under a CPU/wall-clock ``timeout_s`` and at most ``MAX_COMMANDS``
    game commands. A non-``str`` action raises TypeError.

    ## Reward
    1 if the goal is in the inventory when the program ends, else 0 (also when the program
    fails: syntax error, exception, timeout, forbidden operation).

    ## Info
    ``goal``, ``task_id``, ``success``, ``trace`` (each command with its message),
    ``inventory``, and ``error`` when the program failed. The verdict comes from replaying
    the program's commands outside the sandbox.

    ## Arguments
    ``version``, ``num_distractors``, ``world``, ``tasks``, ``depth`` and ``difficulty`` (goal
    depth 1-4 with 2-15 distractor recipes) as in ``TextCraft-v0`` (ReGAL's
    files: ``tasks=tasks.load_regal_jsonl(path)``, run in ADaPT's world); ``helpers``: helper
    source snippets (a code bank) shown in the observation and defined before the program.
    ``reset(options={"index": i})`` or ``{"goal": name}`` picks the goal (or task).

    ## Version history
    v0: first release.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 1}
    sample_plausible_action = staticmethod(sample_textcraft_program)
    difficulty_levels: ClassVar[tuple[str, ...]] = DIFFICULTY_LEVELS

    def __init__(
        self,
        version: str = DEFAULT_VERSION,
        num_distractors: int | None = None,
        helpers: Sequence[str] = (),
        timeout_s: float = 5.0,
        max_program_length: int = 16384,
        render_mode: str | None = None,
        world: str | None = None,
        tasks: Sequence[TextCraftTask] | None = None,
        isolation: str = "auto",
        depth: int | Sequence[int] | None = None,
        difficulty: int | None = None,
    ) -> None:
        self.version = version
        self.source = TaskSource(version, world, tasks, num_distractors, depth, difficulty)
        self.book = self.source.book
        self.world = self.source.world
        self._instructions = ADAPT_INSTRUCTIONS if self.world == "adapt" else INSTRUCTIONS
        self.num_distractors = self.source.num_distractors
        self.helpers = checked_helpers(helpers)
        self.timeout_s = float(timeout_s)
        self.isolation = isolation  # the sandbox's kernel layers: "auto" or "required"
        self.render_mode = render_mode
        self.observation_space = UnicodeText(observation_length(self.helpers))
        self.action_space = UnicodeText(max_program_length)
        self.task: TextCraftTask | None = None
        self._task_id = ""
        self._last = ""

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._task_id, self.task = self.source.draw(self, options, seed)
        self._last = describe(f"{self.task.text}\n\n{self._instructions}", self.helpers)
        return self._last, {"goal": self.task.goal, "task_id": self._task_id}

    def step(self, action: str):
        if self.task is None:
            raise RuntimeError("the episode is over: call reset()")
        if not isinstance(action, str):
            raise TypeError(f"the action is a program, a str; got {type(action)}")
        task, self.task = self.task, None
        info: dict[str, Any] = {"goal": task.goal, "task_id": self._task_id}
        info.update(self.evaluate(action, task.goal))
        self._last = verdict_text(info)[:BASE_OBSERVATION_LENGTH]
        return self._last, float(info["success"]), True, False, info

    def evaluate(self, program: str, goal: str) -> dict[str, Any]:
        """Run ``program`` in the sandbox and judge its commands by replaying them."""
        limit = self.action_space.max_length
        if len(program) > limit:
            return self._failed(goal, f"the program has {len(program)} characters; limit {limit}")
        from societygym.sandbox import Policy, get_sandbox

        policy = Policy.stdlib(
            namespace=ProgramWorld(self.version, world=self.world).namespace(),
            cpu_seconds=self.timeout_s,
            wall_seconds=2 * self.timeout_s,
            isolation=self.isolation,
        )
        source = with_helpers(program, self.helpers)
        result = get_sandbox().run(source, result_name=TRACE_NAME, policy=policy)
        if not result.ok:
            return self._failed(goal, f"{result.error_type}: {result.error.strip()}")
        trace = result.value
        if not (isinstance(trace, list) and all(isinstance(c, str) for c in trace)):
            return self._failed(goal, f"the program replaced `{TRACE_NAME}`, its command record")
        return replay(self.version, trace, goal, self.world)

    def _failed(self, goal: str, error: str) -> dict[str, Any]:
        return {**replay(self.version, [], goal, self.world), "error": error}

    def render(self) -> str | None:
        return self._last if self.render_mode == "ansi" else None


def verdict_text(info: dict[str, Any]) -> str:
    if "error" in info:
        return f"The program failed: {info['error']}"
    outcome = "crafted" if info["success"] else "did not craft"
    return f"The program {outcome} {info['goal']} in {len(info['trace'])} commands."
