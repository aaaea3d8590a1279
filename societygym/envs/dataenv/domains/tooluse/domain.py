"""Tool use as a teaching domain: the student answers a request with an M&Ms-style JSON plan
over deterministic tools; a plan is correct when it executes to the gold result.

The student sees the tool catalog and the request; teachers see the request (``question``)
and the gold plan (``answer``). Per-item plan metrics (exact match, tool-name F1, argument
F1, execution pass) come from ``plan_metrics``; the env reports their means in ``info``
(``PlanDomain.report``). Teacher data: ``instruction`` = a request, ``response`` = a plan;
an example is accepted only when its plan parses, names known tools with the right
arguments, and runs (the reason is reported otherwise).
"""

from __future__ import annotations

import json
import random
from abc import abstractmethod
from collections.abc import Sequence
from functools import cache, cached_property
from importlib import resources
from typing import Any

import numpy as np

from societygym.envs.dataenv.domain import SPLITS, Domain
from societygym.envs.dataenv.domains.tooluse import plans, tasks
from societygym.envs.dataenv.domains.tooluse.tools import TOOLS, catalog
from societygym.envs.dataenv.records import Example, Graded, TaskItem, fingerprint, question_key

SPLITS_FILE = "tooluse_splits.jsonl"
PER_SKILL = 20
SPLIT_SEEDS = {"validation": 5_000_011, "test": 6_000_001}
FINGERPRINTS = {"validation": "289fdabe31809620", "test": "f66cc8e977d97162"}
PROMPT = (
    "Tools:\n{catalog}\nRequest: {request}\n"
    'Reply with only a JSON list of steps [{{"tool": ..., "args": {{...}}}}]; an argument '
    '"<node-K>.<output>" is the output of step K (from 0).'
)


def build_splits(per_skill: int = PER_SKILL) -> dict[str, list[tuple[TaskItem, Any]]]:
    """Per skill, the first ``per_skill`` distinct requests of each split's seed that no
    earlier split holds; each with its gold result."""
    taken: set[str] = set()
    out: dict[str, list[tuple[TaskItem, Any]]] = {}
    for split in SPLITS:
        rng = random.Random(SPLIT_SEEDS[split])
        rows = []
        for skill in tasks.SKILLS:
            kept = 0
            while kept < per_skill:
                task = tasks.sample(skill, rng)
                key = question_key(task.request)
                if key in taken:
                    continue
                taken.add(key)
                item = TaskItem(
                    f"tooluse/{split}/{skill}/{kept}",
                    task.request,
                    plans.dump_plan(task.plan),
                    skill,
                )
                rows.append((item, task.result))
                kept += 1
        out[split] = rows
    return out


def write_splits(path: Any) -> None:
    with open(path, "w") as f:
        for split, rows in build_splits().items():
            for item, result in rows:
                row = {"split": split, **item.__dict__, "result": result}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")


@cache
def frozen_splits() -> dict[str, tuple[tuple[TaskItem, Any], ...]]:
    text = (
        resources.files("societygym.envs.dataenv.domains.tooluse")
        .joinpath("data", SPLITS_FILE)
        .read_text()
    )
    rows = [json.loads(line) for line in text.splitlines() if line]
    splits = {
        split: tuple(
            (TaskItem(r["id"], r["question"], r["answer"], r["skill"]), r["result"])
            for r in rows
            if r["split"] == split
        )
        for split in SPLITS
    }
    for split, pairs in splits.items():
        if FINGERPRINTS[split] and fingerprint(i for i, _ in pairs) != FINGERPRINTS[split]:
            raise RuntimeError(f"{SPLITS_FILE} {split} split does not match its fingerprint")
    return splits


class PlanDomain(Domain):
    """A domain whose replies are plans: it reports ``plan_metrics`` over graded replies."""

    @abstractmethod
    def plan_metrics(self, replies: Sequence[str], items: Sequence[TaskItem]) -> dict:
        """Corpus plan metrics (``plans.mean_scores``) of ``replies`` against ``items``."""

    def report(self, graded: Sequence[Graded]) -> dict[str, float]:
        if not graded:
            return {}
        metrics = self.plan_metrics([g.prediction for g in graded], [g.item for g in graded])
        # None: not measurable here (M&Ms' model tools are never executed)
        return {k: v for k, v in metrics.items() if v is not None}


class ToolUseDomain(PlanDomain):
    """Generated multi-step tool-use requests over ``tools.TOOLS`` (nine skills)."""

    name = "tooluse"
    max_new_tokens = 96
    example_hint = (
        "Each instruction is a request; the response is only its plan as a JSON list of "
        '{"tool": ..., "args": {...}} steps over the tools the student is shown: '
        + ", ".join(TOOLS)
        + ". Plans that do not run are rejected.",
    )

    def __init__(self, max_new_tokens: int | None = None) -> None:
        if max_new_tokens is not None:
            self.max_new_tokens = int(max_new_tokens)
        self._fresh: dict[str, Any] = {}  # gold results of generated requests by question key

    @cached_property
    def _results(self) -> dict[str, Any]:
        return {i.id: r for pairs in frozen_splits().values() for i, r in pairs}

    @property
    def skills(self) -> tuple[str, ...]:
        return tasks.SKILLS

    def load_split(self, split: str) -> list[TaskItem]:
        return [item for item, _ in frozen_splits()[split]]

    def describe_skill(self, skill: str) -> str:
        return tasks.DESCRIPTIONS.get(skill, super().describe_skill(skill))

    def prompt(self, request: str) -> str:
        return PROMPT.format(catalog=catalog(), request=request)

    def student_input(self, item: TaskItem) -> str:
        return self.prompt(item.question)

    def training_pair(self, example: Example) -> tuple[str, str]:
        return (self.prompt(example.instruction), example.response)

    def gold_result(self, item: TaskItem) -> Any:
        """The result a plan must produce: the split's or generator's, else what the item's
        own plan (a teacher's) executes to; None when that fails."""
        if item.id in self._results:
            return self._results[item.id]
        key = question_key(item.question)
        if key in self._fresh:
            return self._fresh[key]
        try:
            return plans.execute(plans.parse_plan(item.answer))
        except plans.PlanError:
            return None

    def plan_scores(self, replies: Sequence[str], items: Sequence[TaskItem]) -> list:
        return [
            plans.score_plan(reply, plans.parse_plan(item.answer), self.gold_result(item))
            for reply, item in zip(replies, items, strict=True)
        ]

    def plan_metrics(self, replies: Sequence[str], items: Sequence[TaskItem]) -> dict:
        """Exact match, tool F1, argument F1, execution pass rate (and parse rate)."""
        return plans.mean_scores(self.plan_scores(replies, items))

    def is_correct(self, prediction: str, item: TaskItem) -> bool:
        return bool(self.plan_scores([prediction], [item])[0].executed)

    def grade(self, predictions: Sequence[str], items: Sequence[TaskItem]) -> list[bool]:
        return [bool(s.executed) for s in self.plan_scores(predictions, items)]

    def as_task_item(self, example: Example) -> TaskItem:
        key = question_key(example.instruction)
        return TaskItem(
            f"tooluse/example/{key}", example.instruction, example.response, example.skill or ""
        )

    def check_example(self, example: Example) -> str | None:
        reason = super().check_example(example)
        if reason is not None:
            return reason
        try:
            plans.execute(plans.parse_plan(example.response))
        except plans.PlanError as error:
            return f"the plan does not run: {error}"
        return None

    def verify(self, example: Example) -> bool | None:
        """False when the plan cannot run; None otherwise (a teacher's request has no
        independent answer key to check the result against)."""
        return None if self.check_example(example) is None else False

    def generate(self, skill: str, count: int, rng: np.random.Generator) -> list[Example]:
        if skill not in tasks.SKILLS:
            raise ValueError(f"unknown tool-use skill {skill!r}")
        local = random.Random(int(rng.integers(2**31)))
        seen = set(self.held_out_keys)
        out: list[Example] = []
        for _ in range(50 * count):
            if len(out) == count:
                break
            task = tasks.sample(skill, local)
            key = question_key(task.request)
            if key in seen:
                continue
            seen.add(key)
            example = Example(task.request, plans.dump_plan(task.plan), skill)
            # "What is the capital of X, in capital letters?" holds a held-out question
            if self.near_duplicate(example) is not None:
                continue
            self._fresh[key] = task.result
            out.append(example)
        return out
