"""Frozen splits of the generated pool, and fresh problems for training data.

``build_splits`` draws, per skill, ``PER_SKILL`` problems for validation and then for test
from fixed seeds, skipping task sentences already taken; expected outputs come from the
reference solutions run in the sandbox. The result is shipped in ``data/code_splits.jsonl``
and pinned by fingerprint, so a changed template cannot silently change the benchmark.
"""

from __future__ import annotations

import json
import random
from collections.abc import Collection
from functools import cache
from importlib import resources
from pathlib import Path

from societygym.envs.dataenv.domain import SPLITS
from societygym.envs.dataenv.domains.code import problems
from societygym.envs.dataenv.domains.code.execution import Judge, Problem
from societygym.envs.dataenv.records import question_key

SPLITS_FILE = "code_splits.jsonl"
PER_SKILL = 20
SPLIT_SEEDS = {"validation": 3_000_017, "test": 4_000_037}
FINGERPRINTS = {"validation": "da67d3452332fc2c", "test": "f3fd3f7574e2359d"}


def task_key(description: str) -> str:
    """A problem's identity: its task sentence, up to case and whitespace."""
    return question_key(description)


def description_of(instruction: str) -> str:
    """The task part of an instruction: everything before its tests."""
    kept = []
    for line in instruction.splitlines():
        if line.strip() == problems.TESTS_HEADER or line.lstrip().startswith("assert "):
            break
        kept.append(line)
    return "\n".join(kept).strip()


def realize(
    drafts: list[problems.Draft], ids: list[str], judge: Judge | None = None
) -> list[Problem]:
    """Problems with tests from the reference solutions' outputs (one sandbox run each)."""
    judge = judge or Judge()
    runs = judge.outputs_many([(d.solution, d.family.name, d.inputs) for d in drafts])
    out = []
    for draft, problem_id, run in zip(drafts, ids, runs, strict=True):
        if not run.ok:
            raise RuntimeError(f"reference of {draft.family.name} failed: {run.error}")
        lines = problems.assert_lines(draft.family.name, draft.inputs, run.value)
        prompt = problems.render_prompt(draft.description, lines[: problems.SHOWN_TESTS])
        out.append(
            Problem(
                id=problem_id,
                skill=draft.family.skill,
                entry_point=draft.family.name,
                prompt=prompt,
                solution=draft.solution,
                tests="\n".join(lines),
            )
        )
    return out


def draw_distinct(
    skill: str, count: int, rng: random.Random, taken: set[str], tries: int = 200
) -> list[problems.Draft]:
    """``count`` drafts of ``skill`` whose task sentences are not in ``taken`` (updated)."""
    drafts = []
    for _ in range(tries * count):
        if len(drafts) == count:
            break
        draft = problems.draw(skill, rng)
        key = task_key(draft.description)
        if key not in taken:
            taken.add(key)
            drafts.append(draft)
    if len(drafts) < count:
        raise RuntimeError(f"only {len(drafts)} distinct {skill} problems could be drawn")
    return drafts


def build_splits(per_skill: int = PER_SKILL) -> dict[str, list[Problem]]:
    taken: set[str] = set()
    splits = {}
    for split in SPLITS:
        rng = random.Random(SPLIT_SEEDS[split])
        drafts, ids = [], []
        for skill in problems.SKILLS:
            drafts += draw_distinct(skill, per_skill, rng, taken)
            ids += [f"code/{split}/{skill}/{i}" for i in range(per_skill)]
        splits[split] = realize(drafts, ids)
    return splits


def write_splits(path: Path) -> None:
    with path.open("w") as f:
        for split, items in build_splits().items():
            for p in items:
                row = {
                    "split": split,
                    "id": p.id,
                    "skill": p.skill,
                    "entry_point": p.entry_point,
                    "prompt": p.prompt,
                    "solution": p.solution,
                    "tests": p.tests,
                }
                f.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_rows(text: str) -> dict[str, list[Problem]]:
    rows = [json.loads(line) for line in text.splitlines() if line]
    return {
        split: [
            Problem(
                r["id"], r["skill"], r["entry_point"], r["prompt"], r["solution"], tests=r["tests"]
            )
            for r in rows
            if r["split"] == split
        ]
        for split in SPLITS
    }


@cache
def frozen_splits() -> dict[str, tuple[Problem, ...]]:
    """The shipped splits (fingerprints are checked by the domain, on task items)."""
    data = resources.files("societygym.envs.dataenv.domains.code").joinpath("data", SPLITS_FILE)
    return {s: tuple(ps) for s, ps in read_rows(data.read_text()).items()}


def fresh(
    skill: str, count: int, seed: int, held_out: Collection[str], judge: Judge | None = None
) -> list[Problem]:
    """``count`` new problems of ``skill`` (distinct, none with a held-out task sentence)."""
    rng = random.Random(seed)
    drafts = draw_distinct(skill, count, rng, set(held_out))
    ids = [f"code/generated/{skill}/{seed}/{i}" for i in range(count)]
    return realize(drafts, ids, judge)
