"""Code domains: the student writes Python functions, judged pass@1 by unit tests run in the
sandbox (``societygym.sandbox``); teacher data is verified the same way before training.

Teacher data format: the ``instruction`` states the task and carries its tests as
``assert`` lines (as the generated problems do: MBPP's format); the ``response`` is the
code. An example is accepted only when its code passes its own asserts in the sandbox
(the original never ran generated code); each rejection says why.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cached_property

import numpy as np

from societygym.envs.dataenv.domain import SPLITS, Domain
from societygym.envs.dataenv.domains.code import generated, problems
from societygym.envs.dataenv.domains.code.execution import Judge, Problem, defines, extract_code
from societygym.envs.dataenv.records import Example, TaskItem, fingerprint, question_key
from societygym.sandbox import Sandbox

BENCHMARKS = ("generated", "humaneval")
FINGERPRINTS = {
    "generated": generated.FINGERPRINTS,
    "humaneval": {"validation": "5cffbf289cb2c30f", "test": "36a27c860ae1534f"},
}
TOKENS = {"generated": 128, "humaneval": 384, "livecodebench": 768}


def assert_lines(instruction: str) -> list[str]:
    return [ln.strip() for ln in instruction.splitlines() if ln.lstrip().startswith("assert ")]


def called_name(assert_line: str) -> str:
    """The function an ``assert name(...) == ...`` line calls ('' when it calls none)."""
    head = assert_line.removeprefix("assert").strip()
    name = head.split("(", 1)[0].strip()
    return name if name.isidentifier() and "(" in head else ""


def problem_from_example(instruction: str, skill: str, problem_id: str) -> Problem:
    """A gradable problem whose tests are the instruction's asserts."""
    tests = assert_lines(instruction)
    entry = called_name(tests[0]) if tests else ""
    return Problem(problem_id, skill, entry, instruction, "", tests="\n".join(tests))


class CodeDomain(Domain):
    """Function-writing problems: the generated pool (default) or HumanEval.

    ``benchmark``: ``"generated"`` (five skills of short problems a small student can learn;
    frozen splits of 20 per skill) or ``"humaneval"`` (HumanEval's 164 problems halved into
    validation and test, skills labelled heuristically onto the same five). Either way the
    procedural generator writes new pool problems, none sharing a task with a held-out one.
    ``timeout``: seconds per sandbox run. ``sandbox``: a pool to use (default: the shared one).
    ``max_new_tokens``: the student's answer length (default 128; 384 for HumanEval).
    ``isolation``: the sandbox's kernel layers, ``"auto"`` or ``"required"`` (pass it as
    ``domain_kwargs={"isolation": "required"}`` to the env).
    """

    name = "code"
    benchmarks: tuple[str, ...] = BENCHMARKS
    verification_failure = "the solution fails its tests"
    example_hint = (
        "Each instruction states a function-writing task and ends with its tests as `assert` "
        "lines; the response is only the Python code. Code that fails its own asserts is "
        "rejected.",
    )

    def __init__(
        self,
        benchmark: str = "generated",
        timeout: float = 3.0,
        sandbox: Sandbox | None = None,
        max_new_tokens: int | None = None,
        isolation: str = "auto",
    ) -> None:
        if benchmark not in self.benchmarks:
            raise ValueError(
                f"unknown code benchmark {benchmark!r}; expected one of {self.benchmarks}"
            )
        self.benchmark = benchmark
        self.max_new_tokens = int(max_new_tokens or TOKENS[benchmark])
        self.judge = Judge(sandbox, timeout=timeout, isolation=isolation)
        self._fresh: dict[str, Problem] = {}  # generated training problems by question key

    # --- problems ----------------------------------------------------------------------------

    def problem_splits(self) -> dict[str, list[Problem]]:
        if self.benchmark == "humaneval":
            from societygym.envs.dataenv.domains.code.humaneval import humaneval_splits

            return humaneval_splits()
        return {s: list(ps) for s, ps in generated.frozen_splits().items()}

    @cached_property
    def _splits(self) -> dict[str, list[Problem]]:
        splits = self.problem_splits()
        pins = FINGERPRINTS.get(self.benchmark, {})
        for split in SPLITS:
            pinned = pins.get(split)
            if pinned and fingerprint(self._items(splits[split])) != pinned:
                raise RuntimeError(f"the {self.benchmark} {split} split does not match its pin")
        return splits

    @cached_property
    def _by_id(self) -> dict[str, Problem]:
        return {p.id: p for split in self._splits.values() for p in split}

    @cached_property
    def _held_out_tasks(self) -> frozenset[str]:
        return frozenset(
            generated.task_key(generated.description_of(p.prompt))
            for split in self._splits.values()
            for p in split
        )

    @staticmethod
    def _items(problems_: Sequence[Problem]) -> list[TaskItem]:
        return [TaskItem(p.id, p.prompt, p.solution, p.skill) for p in problems_]

    def problem(self, item: TaskItem) -> Problem:
        """The problem behind an item: a split's, a generated one's (with its hidden tests),
        else one whose tests are the asserts in the item's question."""
        known = self._by_id.get(item.id) or self._fresh.get(question_key(item.question))
        return known or problem_from_example(item.question, item.skill, item.id)

    # --- the Domain interface ----------------------------------------------------------------

    @property
    def skills(self) -> tuple[str, ...]:
        present = {p.skill for split in self._splits.values() for p in split}
        return tuple(s for s in self.skill_order() if s in present)

    def skill_order(self) -> tuple[str, ...]:
        return problems.SKILLS

    def load_split(self, split: str) -> list[TaskItem]:
        return self._items(self._splits[split])

    def describe_skill(self, skill: str) -> str:
        return problems.DESCRIPTIONS.get(skill, super().describe_skill(skill))

    def is_correct(self, prediction: str, item: TaskItem) -> bool:
        return self.grade([prediction], [item])[0]

    def grade(self, predictions: Sequence[str], items: Sequence[TaskItem]) -> list[bool]:
        return self.judge.judge(predictions, [self.problem(i) for i in items])

    def as_task_item(self, example: Example) -> TaskItem:
        key = question_key(example.instruction)
        return TaskItem(
            f"code/example/{key}", example.instruction, example.response, example.skill or ""
        )

    def check_example(self, example: Example) -> str | None:
        reason = super().check_example(example) or self._static_reason(example)
        if reason is not None:
            return reason
        verdict = self._run_own_tests(example)
        return None if verdict.passed else f"{self.verification_failure} ({verdict.reason})"

    def verify(self, example: Example) -> bool | None:
        if self._static_reason(example) is not None:
            return False
        return self._run_own_tests(example).passed

    def _static_reason(self, example: Example) -> str | None:
        tests = assert_lines(example.instruction)
        if not tests:
            return "the instruction has no `assert` lines to test the solution with"
        description = generated.description_of(example.instruction)
        if generated.task_key(description) in self._held_out_tasks:
            return "the task is a held-out evaluation problem"
        entry = called_name(tests[0])
        if not entry or not defines(extract_code(example.response), entry):
            return f"the response does not define the tested function {entry or '(none)'!r}"
        return None

    def _run_own_tests(self, example: Example):
        problem = problem_from_example(example.instruction, example.skill or "", "teacher")
        return self.judge.run_programs([extract_code(example.response)], [problem])[0]

    def generate(self, skill: str, count: int, rng: np.random.Generator) -> list[Example]:
        if skill not in problems.SKILLS:
            raise ValueError(f"unknown code skill {skill!r}; expected one of {problems.SKILLS}")
        seed = int(rng.integers(2**31))
        made = generated.fresh(skill, count, seed, self._held_out_tasks, self.judge)
        for p in made:
            self._fresh[question_key(p.prompt)] = p
        return [Example(p.prompt, p.solution, skill) for p in made]


class LiveCodeBenchDomain(CodeDomain):
    """LiveCodeBench problems (``livecodebench.py``), skills = difficulty. No procedural
    generator: teach it with an LLM teacher, whose code is verified like any other."""

    name = "livecodebench"
    benchmarks = ("livecodebench",)
    generate = Domain.generate  # type: ignore[assignment]

    def __init__(
        self,
        source: str | os.PathLike | None = None,
        timeout: float = 6.0,
        sandbox: Sandbox | None = None,
        max_new_tokens: int | None = None,
    ) -> None:
        from societygym.envs.dataenv.domains.code.livecodebench import HUB_ID

        super().__init__("livecodebench", timeout, sandbox, max_new_tokens)
        self.source = source if source is not None else HUB_ID

    def problem_splits(self) -> dict[str, list[Problem]]:
        from societygym.envs.dataenv.domains.code.livecodebench import livecodebench_splits

        return livecodebench_splits(self.source)

    def skill_order(self) -> tuple[str, ...]:
        from societygym.envs.dataenv.domains.code.livecodebench import DIFFICULTIES

        return DIFFICULTIES

    def describe_skill(self, skill: str) -> str:
        return f"{skill} competitive-programming problems"
