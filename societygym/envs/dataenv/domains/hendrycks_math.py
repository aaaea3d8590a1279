"""The MATH benchmark (Hendrycks et al.) as a teaching domain, in the
``EleutherAI/hendrycks_math`` schema: ``problem``, ``level``, ``type``, ``solution``.

Both evaluation splits come from MATH *test*, partitioned by question hash within each
subject, so MATH train stays free for data-selection teachers (the original drew its
validation set from MATH train, which its own baseline also sampled). Skills are the seven
subjects. The gold answer is the last ``\\boxed{}`` of the reference solution.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from societygym.envs.dataenv.domain import Domain
from societygym.envs.dataenv.domains.math_answers import answers_match, last_boxed
from societygym.envs.dataenv.records import TaskItem, question_key

HUB_ID = "EleutherAI/hendrycks_math"
SUBJECTS = (
    "algebra",
    "counting_and_probability",
    "geometry",
    "intermediate_algebra",
    "number_theory",
    "prealgebra",
    "precalculus",
)


def load_rows(source: str | os.PathLike, split: str = "test") -> list[dict]:
    """Rows from a local ``.json``/``.jsonl`` file (or folder of them) or the hub dataset."""
    from datasets import load_dataset

    path = Path(source)
    if path.exists():
        files = sorted(map(str, path.glob("*.json*"))) if path.is_dir() else [str(path)]
        return list(load_dataset("json", data_files=files, split="train"))
    return [row for subject in SUBJECTS for row in load_dataset(str(source), subject, split=split)]


class HendrycksMathDomain(Domain):
    """MATH test problems; ``validation_fraction`` of each subject goes to validation."""

    name = "hendrycks_math"
    max_new_tokens = 384

    def __init__(self, source: str | os.PathLike = HUB_ID, validation_fraction: float = 0.5):
        if not 0 < validation_fraction < 1:
            raise ValueError("validation_fraction must be in (0, 1)")
        self.source = source
        self.validation_fraction = validation_fraction

    @cached_property
    def _splits(self) -> dict[str, list[TaskItem]]:
        by_subject: dict[str, list[TaskItem]] = {}
        for row in load_rows(self.source):
            answer = last_boxed(row["solution"])
            if answer is None:  # a handful of MATH solutions have no boxed answer
                continue
            key = question_key(row["problem"])
            item = TaskItem(f"math/{key}", row["problem"], answer, row["type"])
            by_subject.setdefault(row["type"], []).append(item)
        splits: dict[str, list[TaskItem]] = {"validation": [], "test": []}
        for subject in sorted(by_subject):
            items = sorted(by_subject[subject], key=lambda i: i.id)  # hash order: stable
            cut = round(len(items) * self.validation_fraction)
            splits["validation"] += items[:cut]
            splits["test"] += items[cut:]
        return splits

    @property
    def skills(self) -> tuple[str, ...]:
        return tuple(sorted({i.skill for s in self._splits.values() for i in s}))

    def load_split(self, split: str) -> list[TaskItem]:
        return list(self._splits[split])

    def is_correct(self, prediction: str, item: TaskItem) -> bool:
        return answers_match(prediction, item.answer)
