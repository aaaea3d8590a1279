"""Plausible random actions for the teaching envs (the ``random-valid`` agent).

A data action is a random number of fresh examples of random skills, written by the
domain's procedural generator (what DataEnvGym's state-agnostic teacher does; copies of the
shown errors would be refused as held out). The domain is the registered teaching domain
whose skills include the ones the info reports. A skill-tree action explores new subskills
or re-allocates existing ones of a random skill, with random sizes.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from societygym.envs.dataenv.domain import Domain

MAX_EXAMPLES = 20
MAX_ALLOCATION = 10


@functools.cache
def _domain(name: str) -> Domain:
    from societygym.envs.dataenv.domains import make_domain

    return make_domain(name)


def teaching_domain(skills: Sequence[str]) -> Domain | None:
    """The registered teaching domain that has all of ``skills``, or None."""
    from societygym.registry import TEACHING_DOMAINS

    for teaching in TEACHING_DOMAINS:
        domain = _domain(teaching.name)
        if set(skills) <= set(domain.skills):
            return domain
    return None


def sample_examples(
    observations: Sequence[Any], info: Mapping[str, Any], rng: np.random.Generator
) -> list[dict[str, Any]]:
    """1 to 20 (at most the budget left) generated examples of skills drawn uniformly from
    those the env teaches (``info["validation"]["per_skill"]``); none when the domain is
    not one of the registered ones."""
    skills = sorted(info.get("validation", {}).get("per_skill", {}))
    domain = teaching_domain(skills) if skills else None
    left = int(np.asarray(observations[-1]["budget"])[2]) if observations else 0
    if domain is None or left < 1:
        return []
    count = int(rng.integers(1, min(MAX_EXAMPLES, left) + 1))
    per_skill = rng.multinomial(count, [1 / len(skills)] * len(skills))
    return [
        example.to_dict()
        for skill, n in zip(skills, per_skill, strict=True)
        if n
        for example in domain.generate(skill, int(n), rng)
    ]


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
