"""The embedded math domain: 11 procedural skills with exact answers and frozen splits.

The validation and test splits live in ``data/math_splits.jsonl`` (40 items per skill each),
generated once by ``build_splits`` from fixed seeds; their fingerprints are pinned below so a
changed generator (e.g. a new reasoning-gym release) cannot silently change what students
are measured on. Training data from the procedural engine never repeats a held-out question.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

from societygym.envs.dataenv.domain import SPLITS, Domain
from societygym.envs.dataenv.domains import math_skills
from societygym.envs.dataenv.domains.math_answers import (
    answers_match,
    extract_final_answer,
    infer_form,
)
from societygym.envs.dataenv.domains.math_check import verify_math
from societygym.envs.dataenv.records import Example, TaskItem, fingerprint, question_key

SPLITS_FILE = "math_splits.jsonl"
PER_SKILL = 40
SPLIT_SEEDS = {"validation": 1_000_003, "test": 2_000_003}
FINGERPRINTS = {"validation": "59b777a0fe938038", "test": "9934854d2b421679"}


def build_splits(per_skill: int = PER_SKILL) -> dict[str, list[TaskItem]]:
    """Regenerate the frozen splits: per skill, the first ``per_skill`` distinct questions of
    each split's seed that no earlier split holds."""
    taken: set[str] = set()
    splits: dict[str, list[TaskItem]] = {}
    for split in SPLITS:
        items = []
        for skill in math_skills.SKILLS:
            kept = 0
            for question, answer in math_skills.sample(skill, 8 * per_skill, SPLIT_SEEDS[split]):
                key = question_key(question)
                if key in taken:
                    continue
                taken.add(key)
                items.append(TaskItem(f"math/{split}/{skill}/{kept}", question, answer, skill))
                kept += 1
                if kept == per_skill:
                    break
            if kept < per_skill:
                raise RuntimeError(f"only {kept} distinct {skill} questions for {split}")
        splits[split] = items
    return splits


def write_splits(path: Path) -> None:
    with path.open("w") as f:
        for split, items in build_splits().items():
            for item in items:
                row = {"split": split, **item.__dict__}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")


@cache
def frozen_splits() -> dict[str, tuple[TaskItem, ...]]:
    """The shipped splits, checked against the pinned fingerprints."""
    text = resources.files("societygym.envs.dataenv.domains").joinpath("data", SPLITS_FILE)
    rows = [json.loads(line) for line in text.read_text().splitlines() if line]
    splits = {
        split: tuple(
            TaskItem(r["id"], r["question"], r["answer"], r["skill"])
            for r in rows
            if r["split"] == split
        )
        for split in SPLITS
    }
    for split, items in splits.items():
        if fingerprint(items) != FINGERPRINTS[split]:
            raise RuntimeError(f"{SPLITS_FILE} {split} split does not match its fingerprint")
    return splits


class MathDomain(Domain):
    """Short-answer math word problems over ``math_skills.SKILLS``."""

    name = "math"
    max_new_tokens = 12

    @property
    def skills(self) -> tuple[str, ...]:
        return math_skills.SKILLS

    def load_split(self, split: str) -> list[TaskItem]:
        return list(frozen_splits()[split])

    def answer_form(self, item: TaskItem) -> str:
        """The skill's declared answer form; items of other labels (teacher examples,
        discovered skills) take the form their gold answer is written in."""
        return math_skills.ANSWER_FORMS.get(item.skill) or infer_form(item.answer)

    def is_correct(self, prediction: str, item: TaskItem) -> bool:
        return answers_match(prediction, item.answer, self.answer_form(item))

    def describe_skill(self, skill: str) -> str:
        return math_skills.DESCRIPTIONS.get(skill, super().describe_skill(skill))

    def check_example(self, example: Example) -> str | None:
        reason = super().check_example(example)
        if reason is None and not extract_final_answer(example.response).strip("$ ."):
            return "the response has no final answer"
        return reason

    def verify(self, example: Example) -> bool | None:
        return verify_math(example.instruction, example.response)

    def generate(self, skill: str, count: int, rng: np.random.Generator) -> list[Example]:
        if skill not in self.skills:
            raise ValueError(f"unknown math skill {skill!r}")
        out: list[Example] = []
        seen = set(self.held_out_keys)
        while len(out) < count:
            seed = int(rng.integers(10_000_000, 2**31))
            for question, answer in math_skills.sample(skill, 2 * (count - len(out)), seed):
                key = question_key(question)
                if key in seen or len(out) >= count:
                    continue
                seen.add(key)
                example = Example(question, answer, skill)
                if self.near_duplicate(example) is None:
                    out.append(example)
        return out
