"""The plug-in interface every teaching domain implements (math here; VQA, code, tool use later).

A domain owns its data and its judgement: the frozen validation and test splits, the skill
labels, how a student's reply is graded, which training examples are well-formed, and a
procedural data-generation engine where it has one. The envs, the student trainer and the
teachers only ever talk to this interface, so a new domain is a new subclass, not a new env.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np

from societygym.envs.dataenv.near_duplicates import Match, NearDuplicateIndex
from societygym.envs.dataenv.records import Example, Graded, TaskItem, question_key

SPLITS = ("validation", "test")  # what a domain stores
# The stored validation split serves twice, halved per skill (even positions / odd ones):
# "validation" is what the reward is measured on and is never shown; "feedback" is what the
# teacher is shown (errors with gold answers, per-skill accuracy). Neither is trainable.
FEEDBACK = "feedback"
VIEWS = (*SPLITS, FEEDBACK)
MAX_FIELD_LENGTH = 4000  # characters in one instruction or response


class Domain(ABC):
    """A source of evaluation tasks plus the rules for grading and for training data."""

    name: str = "domain"
    #: tokens the student may generate when answering one question
    max_new_tokens: int = 16
    #: whether examples carry an ``image`` (a domain without images rejects one)
    has_images: bool = False
    #: extra lines telling an LLM teacher what an example holds beyond instruction/response
    example_hint: tuple[str, ...] = ()
    #: where ``check_example`` runs the example (code against its own tests), the start of
    #: the reason it gives for a failed run; the env then reports the pass rate in ``info``
    verification_failure: str | None = None

    @property
    @abstractmethod
    def skills(self) -> tuple[str, ...]:
        """Skill labels, in a fixed order (the order of per-skill vectors in observations)."""

    @abstractmethod
    def load_split(self, split: str) -> list[TaskItem]:
        """The frozen items of ``split`` (one of ``SPLITS``)."""

    @abstractmethod
    def is_correct(self, prediction: str, item: TaskItem) -> bool:
        """Whether the student's reply answers ``item``."""

    def student_input(self, item: TaskItem) -> Any:
        """What the student is shown for ``item``: its question text here; a domain whose
        student reads more (an image, a function signature) returns that instead."""
        return item.question

    def grade(self, predictions: Sequence[str], items: Sequence[TaskItem]) -> list[bool]:
        """Whether each reply answers its item; domains that run code override this to
        batch the sandbox runs."""
        return [self.is_correct(p, i) for p, i in zip(predictions, items, strict=True)]

    def report(self, graded: Sequence[Graded]) -> dict[str, float]:
        """Domain metrics beyond accuracy over graded replies (e.g. plan F1 for tool use),
        reported by the env under ``info["validation"]["metrics"]`` and
        ``info["test"]["metrics"]``; none by default."""
        return {}

    def training_pair(self, example: Example) -> Any:
        """What the student trains on for an accepted example: (instruction, response) for
        text students; a domain whose student needs more (an image) returns that."""
        return (example.instruction, example.response)

    def as_task_item(self, example: Example) -> TaskItem:
        """A generated example as a gradable item (to probe the student on new data)."""
        return TaskItem("generated", example.instruction, example.response, example.skill or "")

    def item_key(self, item: TaskItem) -> str:
        """What makes two evaluation items "the same question" (the held-out check): the
        question text here; an image domain hashes the image too."""
        return question_key(item.question)

    def example_key(self, example: Example) -> str:
        """``item_key`` of a training example, comparable with the held-out items' keys."""
        return question_key(example.instruction)

    def near_duplicate_scope(self, image: str | None) -> str:
        """What two questions must share to be compared as near-duplicates: nothing in a
        text domain; an image domain returns the image's identity."""
        return ""

    def make_student(self, spec: str, finetune: str, train_config: Any, seed: int) -> Any:
        """The student a spec string names, or None to use the env's default (HF causal
        LMs); a domain whose student reads more than text builds its own."""
        return None

    def observation_spaces(self, max_errors: int) -> dict[str, Any]:
        """Extra observation fields the domain adds (e.g. the error images), as spaces."""
        return {}

    def observation_fields(self, shown: Sequence[Graded], max_errors: int) -> dict[str, Any]:
        """Values of ``observation_spaces(max_errors)`` for the errors shown, in their order
        (JSON-able values: nested lists for arrays, as checkpoints store observations)."""
        return {}

    def describe_skill(self, skill: str) -> str:
        """One line telling a teacher what ``skill`` covers."""
        return skill.replace("_", " ")

    def check_example(self, example: Example) -> str | None:
        """Why a training example is unusable, or None. Subclasses add domain rules."""
        if not example.instruction.strip():
            return "empty instruction"
        if not example.response.strip():
            return "empty response"
        if max(len(example.instruction), len(example.response)) > MAX_FIELD_LENGTH:
            return f"a field exceeds {MAX_FIELD_LENGTH} characters"
        if example.skill is not None and example.skill not in self.skills:
            return f"unknown skill {example.skill!r}"
        if example.image is not None and not self.has_images:
            return f"the {self.name} domain takes no images"
        return None

    def verify(self, example: Example) -> bool | None:
        """Whether a generated example's response is right; None where no checker exists."""
        return None

    def generate(self, skill: str, count: int, rng: np.random.Generator) -> list[Example]:
        """``count`` examples of ``skill`` with answers correct by construction.

        Never returns a question of the validation or test split.
        """
        raise NotImplementedError(f"the {self.name} domain has no procedural generator")

    @property
    def has_generator(self) -> bool:
        return type(self).generate is not Domain.generate

    # --- shared helpers ---------------------------------------------------------------------

    @cached_property
    def held_out_keys(self) -> frozenset[str]:
        """Question hashes of both evaluation splits, which training data must avoid."""
        return frozenset(self.item_key(i) for s in SPLITS for i in self.load_split(s))

    @cached_property
    def held_out_index(self) -> NearDuplicateIndex:
        """Both evaluation splits, indexed for ``near_duplicate``."""
        return NearDuplicateIndex(
            (i.id, i.question, self.near_duplicate_scope(i.image))
            for s in SPLITS
            for i in self.load_split(s)
        )

    def near_duplicate(self, example: Example) -> Match | None:
        """The held-out item ``example`` trivially rewrites, if any (``near_duplicates``)."""
        return self.held_out_index.match(
            example.instruction, self.near_duplicate_scope(example.image)
        )

    def split(self, split: str, per_skill: int | None = None) -> list[TaskItem]:
        """A view of the stored splits (``VIEWS``: the reward's "validation" half, the
        shown "feedback" half, or "test"), optionally its first ``per_skill`` items of each
        skill."""
        if split not in VIEWS:
            raise ValueError(f"unknown split {split!r}; expected one of {VIEWS}")
        items = self.load_split("validation" if split == FEEDBACK else split)
        seen: dict[str, int] = {}
        taken: dict[str, int] = {}
        kept = []
        for item in items:
            position = seen.get(item.skill, 0)
            seen[item.skill] = position + 1
            if split != "test" and position % 2 != (split == FEEDBACK):
                continue
            if per_skill is None or taken.get(item.skill, 0) < per_skill:
                taken[item.skill] = taken.get(item.skill, 0) + 1
                kept.append(item)
        return kept
