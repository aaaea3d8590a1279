"""Plausible random actions for the teaching envs (the ``random-valid`` agent).

A data action teaches a random subset of the errors the observation shows (each question
with its gold answer, and its skill and image where shown): feedback items may be taught,
only the reward half and the test split are held out. A skill-tree action explores new
subskills or re-allocates existing ones of a random skill, with random sizes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

MAX_ALLOCATION = 10


def sample_examples(
    observations: Sequence[Any], info: Mapping[str, Any], rng: np.random.Generator
) -> list[dict[str, Any]]:
    """A random non-empty subset of the shown errors as training examples (empty when the
    student made no shown error)."""
    errors = json.loads(observations[-1]["errors"]) if observations else []
    if not errors:
        return []
    count = int(rng.integers(1, len(errors) + 1))
    picked = rng.choice(len(errors), size=count, replace=False)
    examples = []
    for index in sorted(int(i) for i in picked):
        error = errors[index]
        example = {"instruction": error["question"], "response": error["gold_answer"]}
        example.update({k: error[k] for k in ("skill", "image") if k in error})
        examples.append(example)
    return examples


def sample_tree_action(
    observations: Sequence[Any], info: Mapping[str, Any], rng: np.random.Generator
) -> dict[str, Any]:
    """Explore 1-3 new subskills of a random skill, or (when it has some) set random
    allocations of its existing ones, each half of the time."""
    tree = json.loads(observations[-1]["tree"])
    skill = sorted(tree)[int(rng.integers(len(tree)))]
    existing = sorted(tree[skill]["subskills"])
    if existing and rng.random() < 0.5:
        allocation = {name: int(rng.integers(0, MAX_ALLOCATION + 1)) for name in existing}
        return {"skill": skill, "exploit": {"allocation": allocation}}
    names = [f"{skill} {len(existing) + k + 1}" for k in range(int(rng.integers(1, 4)))]
    allocation = int(rng.integers(1, MAX_ALLOCATION + 1))
    return {"skill": skill, "explore": {"subskills": names, "allocation": allocation}}
