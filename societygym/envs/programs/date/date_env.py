"""ReGAL-Date-v0: answer a date question by writing a Python program."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym

from societygym.envs.instances import pick_index
from societygym.envs.levels import check_choices, check_level
from societygym.envs.programs.date.regal_result import (
    OWN_NAME,
    RESULT_NAME,
    regal_result_expression,
    with_epilogue,
)
from societygym.envs.programs.date.tasks import (
    DEFAULT_PER_FAMILY,
    DIFFICULTY_LEVELS,
    FAMILIES,
    DateTask,
    load_tasks,
    select,
)
from societygym.envs.programs.helpers import (
    BASE_OBSERVATION_LENGTH,
    checked_helpers,
    describe,
    observation_length,
    with_helpers,
)
from societygym.envs.programs.plausible import sample_date_program
from societygym.spaces import UnicodeText

INSTRUCTIONS = """\
Write a Python program that answers the question. Store the answer in a variable named \
`answer`, as a string in MM/DD/YYYY format (e.g. answer = target.strftime("%m/%d/%Y")).
You may import `datetime`, `dateutil` (e.g. `from dateutil.relativedelta import relativedelta`) \
and computation-only standard modules such as `calendar` and `math`; files, processes and the \
network are not available."""


class ReGALDateEnv(gym.Env[str, str]):
    """Write a program whose ``answer`` is the date a question asks for (ReGAL's Date domain).

    One question per episode; the action is the whole program.

    ## Observation
    The question, the instructions (store the date in ``answer`` as MM/DD/YYYY; ``datetime``,
    ``dateutil`` and computation-only standard modules may be imported) and the source of any
    ``helpers`` (``UnicodeText``). After the step: a short verdict text.

    ## Action
    Python source (``UnicodeText``). It runs only in ``societygym.sandbox``, after the
    ``helpers`` in the same globals, under a CPU/wall-clock ``timeout_s``. A non-``str`` action
    raises TypeError.

    ## Reward
    1 if ``answer`` is a str equal to the gold MM/DD/YYYY date (surrounding whitespace
    ignored), else 0 — including syntax errors, exceptions, timeouts, forbidden operations
    and a missing ``answer``. A program that leaves ``answer`` unset is judged as ReGAL's
    executor judged it: by the value of its last top-level statement's ``print`` argument or
    assignment target (``societygym.envs.programs.date.regal_result``).

    ## Info
    ``task_id``, ``family``, ``question``, ``correct``, ``answer`` (the program's value, or
    None), ``gold``, and ``error`` (why the program failed; absent on success). ``stdout`` when
    the program printed.

    ## Arguments
    ``source``: ``"generated"`` (default; exact generated questions), a BIG-Bench
    ``date_understanding`` task.json or a ReGAL Date ``.jsonl`` (all its rows: a file is a
    split); ``split``: train / dev / test / all; ``tasks``: explicit ``DateTask`` items (e.g.
    ``tasks.load_regal_jsonl(path)``). ``helpers``: source snippets of helper functions (a
    code bank) shown in the observation and defined before the program runs.
    ``families``: keep only these question families (``tasks.FAMILIES`` for generated
    tasks). ``difficulty``: 1-4 (``difficulty_levels``), generated tasks whose arithmetic
    reaches at most a day, 2-31 days, 32-366 days or further from the date the question
    names; None (default) keeps every distance.
    ``reset(options={"index": i})`` addresses one task.

    ## Version history
    v0: first release.
    """

    difficulty_levels: ClassVar[tuple[str, ...]] = DIFFICULTY_LEVELS
    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 1}
    sample_plausible_action = staticmethod(sample_date_program)

    def __init__(
        self,
        source: str | Path = "generated",
        split: str = "test",
        tasks: Sequence[DateTask] | None = None,
        helpers: Sequence[str] = (),
        timeout_s: float = 5.0,
        per_family: int = DEFAULT_PER_FAMILY,
        max_program_length: int = 16384,
        render_mode: str | None = None,
        isolation: str = "auto",
        families: Sequence[str] | None = None,
        difficulty: int | None = None,
    ) -> None:
        pool = list(tasks) if tasks is not None else load_tasks(source, split, per_family)
        level = check_level(difficulty, DIFFICULTY_LEVELS, "ReGAL-Date")
        if level is not None and any(t.span_days is None for t in pool):
            raise ValueError("ReGAL-Date: difficulty needs generated tasks (source='generated')")
        known = tuple(FAMILIES) if tasks is None and source == "generated" else ()
        known = known or tuple(dict.fromkeys(t.family for t in pool))
        chosen = check_choices("families", families, known, "ReGAL-Date")
        self.tasks = select(pool, chosen, level)
        if not self.tasks:
            raise ValueError("no tasks: the source/split (and families/difficulty) is empty")
        self.helpers = checked_helpers(helpers)
        self.timeout_s = float(timeout_s)
        self.isolation = isolation  # the sandbox's kernel layers: "auto" or "required"
        self.render_mode = render_mode
        self.observation_space = UnicodeText(observation_length(self.helpers))
        self.action_space = UnicodeText(max_program_length)
        self._task: DateTask | None = None
        self._last = ""

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        index = pick_index(self.np_random, len(self.tasks), options)
        self._task = self.tasks[index]
        self._last = describe(f"Question: {self._task.question}\n\n{INSTRUCTIONS}", self.helpers)
        return self._last, {"task_id": self._task.id, "family": self._task.family}

    def step(self, action: str):
        if self._task is None:
            raise RuntimeError("the episode is over: call reset()")
        if not isinstance(action, str):
            raise TypeError(f"the action is a program, a str; got {type(action)}")
        task, self._task = self._task, None
        info: dict[str, Any] = {
            "task_id": task.id,
            "family": task.family,
            "question": task.question,
            "gold": task.answer,
        }
        info.update(self.evaluate(action, task.answer))
        self._last = verdict_text(info)[:BASE_OBSERVATION_LENGTH]
        return self._last, float(info["correct"]), True, False, info

    def evaluate(self, program: str, gold: str) -> dict[str, Any]:
        """Run ``program`` in the sandbox: ``correct``, ``answer`` and, on failure, ``error``."""
        if len(program) > self.action_space.max_length:
            return _failure(
                f"the program has {len(program)} characters; the limit is "
                f"{self.action_space.max_length}"
            )
        from societygym.sandbox import Policy, get_sandbox

        policy = Policy.stdlib(
            extra_imports=("dateutil",),
            cpu_seconds=self.timeout_s,
            wall_seconds=2 * self.timeout_s,
            isolation=self.isolation,
        )
        source = with_helpers(with_epilogue(program), self.helpers)
        result = get_sandbox().run(source, result_name=RESULT_NAME, policy=policy)
        outcome: dict[str, Any] = {"stdout": result.stdout} if result.stdout else {}
        if result.error_type == "bad_value":
            why = f"`answer` must be a str in MM/DD/YYYY ({result.error})"
            return {**outcome, **_failure(why)}
        if not result.ok:
            if f"name '{OWN_NAME}' is not defined" in result.error and (
                regal_result_expression(program) is None
            ):
                why = (
                    f"the program does not define '{OWN_NAME}' (nor end with print(x) or "
                    "x = ..., as ReGAL's programs do)"
                )
                return {**outcome, **_failure(why)}
            return {**outcome, **_failure(f"{result.error_type}: {result.error.strip()}")}
        answer = result.value
        if not isinstance(answer, str):
            why = (
                "the program did not set `answer`"
                if answer is None
                else f"`answer` must be a str in MM/DD/YYYY, got {type(answer).__name__}"
            )
            return {**outcome, **_failure(why), "answer": answer}
        return {**outcome, "correct": answer.strip() == gold, "answer": answer}

    def render(self) -> str | None:
        return self._last if self.render_mode == "ansi" else None


def _failure(error: str) -> dict[str, Any]:
    return {"correct": False, "answer": None, "error": error}


def verdict_text(info: dict[str, Any]) -> str:
    if "error" in info:
        return f"The program failed: {info['error']}"
    if info["correct"]:
        return f"Correct: {info['answer'].strip()}."
    return f"Wrong: the program answered {info['answer'].strip()!r}."
