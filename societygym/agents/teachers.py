"""Baseline teachers for the DataEnv teaching envs (DataEnvGym's example policies).

- ``NoStateTeacher``: ignores the student; spreads its examples evenly over the skills
  (the paper's state-agnostic baseline, here with the domain's procedural generator so that
  the comparison isolates the effect of reading the state).
- ``SkillListTeacher``: reads per-skill validation accuracy and gives each skill examples
  in proportion to its error rate, optionally only to the ``focus`` weakest. (The original
  sorted by the number of correct answers, so "highest error rate" picked the easiest.)
- ``LearningProgressTeacher``: gives each skill examples in proportion to its recent
  learning progress (the smoothed absolute change of its validation accuracy), with a
  uniform share for exploration (absolute learning progress, as in teacher-student
  curriculum learning).
- ``llm_teacher``: any LLM backend reading the env's text observation (open-ended,
  skill-list, or skill-tree prompts), replying with JSON.
- ``AlternatingTreePolicy`` / ``ThresholdTreePolicy``: skill-tree policies that explore new
  subskills for weak skills and exploit by moving allocation to where the student still
  fails on the generated data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from societygym.agents.base import BaseAgent
from societygym.envs.dataenv.domain import Domain
from societygym.envs.dataenv.domains import make_domain


def allocate(weights: Sequence[float], total: int) -> list[int]:
    """Integers proportional to ``weights`` summing to ``total`` (largest remainders)."""
    w = np.asarray(weights, dtype=float)
    if total <= 0 or w.sum() <= 0:
        return [0] * len(w)
    exact = w / w.sum() * total
    counts = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - counts), kind="stable")[: total - counts.sum()]:
        counts[i] += 1
    return counts.tolist()


def _examples_left(observation: Any) -> int:
    return int(np.asarray(observation["budget"])[2])


class _ProceduralTeacher(BaseAgent):
    """Writes examples with the domain's generator, ``examples_per_step`` per step, over
    ``skills`` (default: the domain's; pass the env's ``skills`` when it teaches fewer)."""

    def __init__(
        self,
        domain: str | Domain = "math",
        examples_per_step: int = 100,
        seed: int = 0,
        skills: Sequence[str] | None = None,
    ):
        self.domain = make_domain(domain)
        self.skills = tuple(skills) if skills is not None else self.domain.skills
        self.examples_per_step = int(examples_per_step)
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def reset(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    def weights(self, observation: Any) -> list[float]:
        raise NotImplementedError

    def act(self, observation: Any, info: dict[str, Any]) -> list[dict[str, Any]]:
        total = min(self.examples_per_step, _examples_left(observation))
        counts = allocate(self.weights(observation), total)
        return [
            example.to_dict()
            for skill, n in zip(self.skills, counts, strict=True)
            if n
            for example in self.domain.generate(skill, n, self.rng)
        ]


class NoStateTeacher(_ProceduralTeacher):
    """Uniform over skills, whatever the student does."""

    def weights(self, observation: Any) -> list[float]:
        return [1.0] * len(self.skills)


class SkillListTeacher(_ProceduralTeacher):
    """Examples in proportion to each skill's validation error rate (needs ``skill_accuracy``)."""

    def __init__(self, *args: Any, focus: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.focus = focus

    def weights(self, observation: Any) -> list[float]:
        if "skill_accuracy" not in observation:
            raise ValueError("SkillListTeacher needs a skill-list or skill-tree env")
        errors = 1.0 - np.asarray(observation["skill_accuracy"], dtype=float)
        if self.focus is not None:
            errors[np.argsort(-errors, kind="stable")[self.focus :]] = 0.0
        return errors.tolist() if errors.sum() > 0 else [1.0] * len(errors)


def learning_progress_weights(progress: Sequence[float], explore: float) -> list[float]:
    """Allocation weights from per-skill learning progress: a share ``explore`` spread
    evenly, the rest in proportion to ``progress``; uniform when no skill moved."""
    p = np.asarray(progress, dtype=float)
    if p.sum() <= 0:
        return [1.0] * len(p)
    return (explore / len(p) + (1.0 - explore) * p / p.sum()).tolist()


class LearningProgressTeacher(_ProceduralTeacher):
    """Examples where the student is learning now: in proportion to each skill's absolute
    change in (feedback) validation accuracy, smoothed over steps by an exponential moving
    average (``smoothing`` is the newest step's weight). A drop counts as progress too: a
    skill being forgotten is in flux, not mastered. ``explore`` of each step is spread
    evenly so that a skill whose progress is not measured yet still gets data; the first
    step, before any change is seen, is uniform. Needs ``skill_accuracy``."""

    def __init__(
        self, *args: Any, smoothing: float = 0.5, explore: float = 0.2, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if not (0.0 < smoothing <= 1.0 and 0.0 <= explore <= 1.0):
            raise ValueError("smoothing must be in (0, 1] and explore in [0, 1]")
        self.smoothing = float(smoothing)
        self.explore = float(explore)
        self._last: np.ndarray | None = None
        self._progress: np.ndarray | None = None

    def reset(self) -> None:
        super().reset()
        self._last, self._progress = None, None

    def weights(self, observation: Any) -> list[float]:
        if "skill_accuracy" not in observation:
            raise ValueError("LearningProgressTeacher needs a skill-list or skill-tree env")
        accuracy = np.asarray(observation["skill_accuracy"], dtype=float)
        if self._last is not None:
            change = np.abs(accuracy - self._last)
            previous = change if self._progress is None else self._progress
            self._progress = self.smoothing * change + (1.0 - self.smoothing) * previous
        self._last = accuracy
        if self._progress is None:
            return [1.0] * len(accuracy)
        return learning_progress_weights(self._progress, self.explore)


def llm_teacher(llm: Any = "embedded", max_tokens: int = 1024, temperature: float = 0.7) -> Any:
    """An LLM teacher for any DataEnv kind: it reads the env's text and answers in JSON."""
    from societygym.agents.llm_agent import LLMAgent

    return LLMAgent(llm, max_tokens=max_tokens, temperature=temperature)


class _TreePolicy(BaseAgent):
    """Shared skill-tree moves: explore weak skills, exploit by following generated accuracy."""

    def __init__(self, allocation: int = 10, explore_skills: int = 2, subskills: int = 2):
        self.allocation = int(allocation)
        self.explore_skills = int(explore_skills)
        self.subskills = int(subskills)

    def explore(self, tree: dict[str, Any]) -> list[dict[str, Any]]:
        """New subskills for the weakest skills that still have room."""
        weakest = sorted(tree, key=lambda s: tree[s]["accuracy"])[: self.explore_skills]
        actions = []
        for skill in weakest:
            start = len(tree[skill]["subskills"])
            names = [f"{skill} set {start + k + 1}" for k in range(self.subskills)]
            actions.append(
                {"skill": skill, "explore": {"subskills": names, "allocation": self.allocation}}
            )
        return actions

    def exploit(self, tree: dict[str, Any]) -> list[dict[str, Any]]:
        """Double allocation where the student still fails generated data; stop where it
        solves all of it."""
        actions = []
        for skill, node in tree.items():
            changes = {}
            for name, sub in node["subskills"].items():
                acc = sub["student_accuracy"]
                if acc is not None and acc >= 1.0:
                    changes[name] = 0
                elif acc is not None and sub["allocation"]:
                    changes[name] = min(2 * sub["allocation"], 100)
            if changes:
                actions.append({"skill": skill, "exploit": {"allocation": changes}})
        return actions


class AlternatingTreePolicy(_TreePolicy):
    """Explore, exploit, explore, ... (the original's alternating policy)."""

    def reset(self) -> None:
        self.calls = 0

    def act(self, observation: Any, info: dict[str, Any]) -> list[dict[str, Any]]:
        tree = json.loads(observation["tree"])
        self.calls = getattr(self, "calls", 0) + 1
        return self.explore(tree) if self.calls % 2 == 1 else self.exploit(tree)


class ThresholdTreePolicy(_TreePolicy):
    """Exploit while the last reward exceeds ``threshold``, else explore."""

    def __init__(self, *args: Any, threshold: float = 0.01, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.threshold = float(threshold)

    def reset(self) -> None:
        self.last: float | None = None

    def act(self, observation: Any, info: dict[str, Any]) -> list[dict[str, Any]]:
        tree = json.loads(observation["tree"])
        accuracy = float(np.asarray(observation["accuracy"])[0])
        last, self.last = getattr(self, "last", None), accuracy
        if last is not None and accuracy - last > self.threshold:
            return self.exploit(tree) or self.explore(tree)
        return self.explore(tree)
