"""ReGAL's three domains as training and the agent see them.

A domain supplies training examples (query, reference program, expected result) and is the
code bank's :class:`~societygym.envs.programs.codebank.Judge`: it runs a program, after the
helpers it needs, through the domain's own env (so in the sandbox, with the env's limits) and
compares its result with the expected one. ``expected`` is plain JSON, because test cases are
saved with the bank:

- LOGO: the original program. Both programs run in the sandbox and the drawings are compared
  with the env's judge (ink overlap >= 0.98); the original is never run in this process, as
  it may come from a saved bank.
- Date: the original program's answer (MM/DD/YYYY); the answers must be equal.
- TextCraft: the goal; the program must craft it.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar

from societygym.envs.programs.codebank import Check

WORKERS = 2  # the default sandbox pool's size: more threads would only queue


@dataclass(frozen=True)
class Example:
    """A training task: ``expected`` is what a rewritten program's result must match."""

    id: str
    query: str
    program: str
    expected: Any


class Domain:
    """Base: parallel checks and the definition probe; subclasses run one program."""

    name: ClassVar[str]
    env_id: ClassVar[str]
    batch_size: ClassVar[int]  # ReGAL's tuple size for this domain
    description: ClassVar[str]  # what the programs are, for the refactoring prompt
    primitives: frozenset[str] = frozenset()
    probe: ClassVar[str] = ""  # a program that runs and does nothing, to test definitions

    def __init__(self, timeout_s: float = 5.0) -> None:
        self.timeout_s = timeout_s  # per program run, as the env's ``timeout_s``

    @property
    def api(self) -> str:
        """What programs may use, as the env tells its agents."""
        raise NotImplementedError

    def examples(self, split: str = "train") -> list[Example]:
        raise NotImplementedError

    def check(self, program: str, helpers: Sequence[str], expected: Any) -> Check:
        raise NotImplementedError

    def query_from(self, observation_text: str) -> str:
        """The task's query, read back from the env's observation text."""
        raise NotImplementedError

    def probe_expected(self) -> Any:
        return ""

    def task_key(self, query: str) -> str:
        """What makes two queries the same task (a test task must not see its own demo)."""
        return query.strip()

    def check_many(self, jobs: Sequence[tuple[str, Sequence[str], Any]]) -> list[Check]:
        if len(jobs) <= 1:
            return [self.check(*job) for job in jobs]
        with ThreadPoolExecutor(WORKERS) as pool:  # sandbox runs wait on other processes
            return list(pool.map(lambda job: self.check(*job), jobs))

    def defines(self, helpers: Sequence[str]) -> str | None:
        result = self.check(self.probe, helpers, self.probe_expected())
        return None if result.ran else result.message


def _failed(message: str) -> Check:
    return Check(passed=False, ran=False, message=message)


class LogoDomain(Domain):
    name = "logo"
    env_id = "ReGAL-Logo-v0"
    batch_size = 5
    description = "drawing pictures with a Python turtle DSL (LOGO)"
    CACHE = 256  # original drawings kept: a 512 x 512 image is 256 KiB

    def __init__(self, timeout_s: float = 5.0) -> None:
        from societygym.envs.programs.logo.dsl import dsl_namespace

        super().__init__(timeout_s)
        self.primitives = frozenset(dsl_namespace())
        self._drawings: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()  # checks run on several threads

    @property
    def api(self) -> str:
        from societygym.envs.programs.logo.dsl import DSL_REFERENCE

        return DSL_REFERENCE

    def examples(self, split: str = "train") -> list[Example]:
        from societygym.envs.programs.logo.tasks import load_logo_tasks

        return [Example(t.id, t.query, t.program, t.program) for t in load_logo_tasks(split)]

    def _draw(self, program: str, helpers: Sequence[str]) -> tuple[Any, str | None]:
        """The program's drawing (grayscale array) in the sandbox, or why it failed."""
        from societygym.envs.programs.logo.logo_env import ReGALLogoEnv
        from societygym.envs.programs.logo.tasks import LogoTask

        blank = LogoTask(id="regal-check", family="check", query="", program="", split="train")
        try:
            env = ReGALLogoEnv(
                tasks=[blank], helpers=helpers, timeout_s=self.timeout_s, info_images=True
            )
        except ValueError as error:
            return None, str(error)
        env.reset(options={"index": 0})
        info = env.step(program)[-1]
        if info["error"] is not None:
            return None, f"{info['error_type']}: {info['error']}"
        return info["rendered"], None

    def _original(self, program: str) -> tuple[Any, str | None]:
        """The original program's drawing, remembered: every test case of a task needs it."""
        with self._lock:
            if program in self._drawings:
                self._drawings.move_to_end(program)
                return self._drawings[program], None
        drawing, error = self._draw(program, ())
        if error is None:
            with self._lock:
                self._drawings[program] = drawing
                while len(self._drawings) > self.CACHE:
                    self._drawings.popitem(last=False)
        return drawing, error

    def check(self, program: str, helpers: Sequence[str], expected: Any) -> Check:
        from societygym.envs.programs.logo.judge import THRESHOLD, judge

        target, error = self._original(expected)
        if error is not None:
            return _failed(f"the original program fails: {error}")
        drawing, error = self._draw(program, helpers)
        if error is not None:
            return _failed(error)
        verdict = judge(drawing, target)
        if verdict.correct:
            return Check(passed=True)
        return Check(
            False, message=f"{verdict.overlap:.3f} of the ink matches ({THRESHOLD} needed)"
        )

    def query_from(self, observation_text: str) -> str:
        from societygym.envs.programs.logo.logo_env import ASK, GUIDE

        return observation_text.partition(GUIDE)[0].removeprefix(ASK).strip()


class DateDomain(Domain):
    name = "date"
    env_id = "ReGAL-Date-v0"
    batch_size = 3
    description = "answering date questions with Python programs"
    primitives = frozenset({"answer"})
    probe = 'answer = ""'

    @property
    def api(self) -> str:
        from societygym.envs.programs.date.date_env import INSTRUCTIONS

        return INSTRUCTIONS

    def examples(self, split: str = "train") -> list[Example]:
        from societygym.envs.programs.date.tasks import load_tasks

        tasks = load_tasks("generated", split)
        return [Example(t.id, t.question, t.program, t.answer) for t in tasks if t.program]

    def check(self, program: str, helpers: Sequence[str], expected: Any) -> Check:
        from societygym.envs.programs.date.date_env import ReGALDateEnv
        from societygym.envs.programs.date.tasks import DateTask

        task = DateTask(
            id="regal-check", family="check", question="", answer=expected, program=None
        )
        env = ReGALDateEnv(tasks=[task], helpers=helpers, timeout_s=self.timeout_s)
        env.reset(options={"index": 0})
        info = env.step(program)[-1]
        if "error" in info:
            return _failed(info["error"])
        if info["correct"]:
            return Check(passed=True)
        return Check(False, message=f"answered {info['answer']!r}, expected {expected!r}")

    def query_from(self, observation_text: str) -> str:
        from societygym.envs.programs.date.date_env import INSTRUCTIONS

        return observation_text.partition(INSTRUCTIONS)[0].strip().removeprefix("Question: ")


# TextCraft has no splits of its own: goals are split here by a stable hash of their name.
TEXTCRAFT_SPLIT_PERCENT = {"train": 40, "dev": 20, "test": 40}


def textcraft_split(goal: str) -> str:
    bucket = int(hashlib.sha256(goal.encode()).hexdigest()[:8], 16) % 100
    for split, share in TEXTCRAFT_SPLIT_PERCENT.items():
        if bucket < share:
            return split
        bucket -= share
    raise AssertionError("TEXTCRAFT_SPLIT_PERCENT must add up to 100")


class TextCraftDomain(Domain):
    name = "textcraft"
    env_id = "ReGAL-TextCraft-v0"
    batch_size = 4
    description = "crafting Minecraft items with Python programs (TextCraft)"
    primitives = frozenset({"get_object", "craft_object", "check_inventory", "command_trace"})

    @property
    def api(self) -> str:
        from societygym.envs.programs.textcraft.program_env import INSTRUCTIONS

        return INSTRUCTIONS

    def examples(self, split: str = "train") -> list[Example]:
        from societygym.envs.programs.textcraft.planner import program_from_commands, solve
        from societygym.envs.programs.textcraft.recipes import load_book
        from societygym.envs.programs.textcraft.tasks import make_task

        book = load_book()
        return [
            Example(
                f"textcraft-{index}",
                make_task(book, goal, seed=0).text,
                program_from_commands(solve(goal, book)),
                goal,
            )
            for index, goal in enumerate(book.goals)
            if split == "all" or textcraft_split(goal) == split
        ]

    def probe_expected(self) -> Any:
        from societygym.envs.programs.textcraft.recipes import load_book

        return load_book().goals[0]

    def check(self, program: str, helpers: Sequence[str], expected: Any) -> Check:
        from societygym.envs.programs.textcraft.program_env import TextCraftProgramEnv

        env = TextCraftProgramEnv(helpers=helpers, timeout_s=self.timeout_s)
        env.reset(options={"goal": expected})
        info = env.step(program)[-1]
        if "error" in info:
            return _failed(info["error"])
        if info["success"]:
            return Check(passed=True)
        last = "; ".join(step["message"] for step in info["trace"][-3:]) or "no commands"
        return Check(False, message=f"{expected} was not crafted (last messages: {last})")

    def query_from(self, observation_text: str) -> str:
        from societygym.envs.programs.textcraft.program_env import INSTRUCTIONS

        return observation_text.partition(INSTRUCTIONS)[0].strip()

    def task_key(self, query: str) -> str:
        # the commands shown vary with the layout seed; the task is the goal
        return query.rpartition("Goal: craft ")[2].strip().removesuffix(".")


DOMAINS: dict[str, type[Domain]] = {d.name: d for d in (LogoDomain, DateDomain, TextCraftDomain)}


def get_domain(name: str, **kwargs: Any) -> Domain:
    """A domain by name (``logo``, ``date``, ``textcraft``) or by env id (``ReGAL-Date-v0``);
    ``kwargs`` (``timeout_s``) go to its constructor."""
    key = name.rpartition(":")[2]
    for domain in DOMAINS.values():
        if key in (domain.name, domain.env_id):
            return domain(**kwargs)
    known = ", ".join([*DOMAINS, *(d.env_id for d in DOMAINS.values())])
    raise ValueError(f"unknown ReGAL domain {name!r}; use one of {known}")
