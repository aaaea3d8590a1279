"""The records that flow through a teaching episode: task items, training examples, grades."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass


def _fields(record: TaskItem | Example) -> dict[str, str | None]:
    """A record's fields without ``image`` when it has none: text domains' records and
    fingerprints stay what they were before images existed."""
    return {k: v for k, v in asdict(record).items() if not (k == "image" and v is None)}


@dataclass(frozen=True)
class TaskItem:
    """One evaluation question with its gold answer and skill label.

    ``image`` is a reference the domain resolves (a scene description, a dataset image id,
    an encoded PNG); None for text-only domains.
    """

    id: str
    question: str
    answer: str
    skill: str
    image: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return _fields(self)


@dataclass(frozen=True)
class Example:
    """One training example written by a teacher (or a data-generation engine).

    ``image``: what the question is about in an image domain (a scene description or an
    encoded image; see the domain), None otherwise.
    """

    instruction: str
    response: str
    skill: str | None = None
    image: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return _fields(self)


@dataclass(frozen=True)
class Graded:
    """The student's answer to one task item."""

    item: TaskItem
    prediction: str
    correct: bool


def question_key(question: str) -> str:
    """Hash of a question up to case and whitespace: what split disjointness is checked on."""
    normal = " ".join(question.lower().split())
    return hashlib.sha256(normal.encode()).hexdigest()[:16]


def fingerprint(items: Iterable[TaskItem]) -> str:
    """A hash of a whole split (ids, questions, answers, skills, in order) for pinning it."""
    digest = hashlib.sha256()
    for item in items:
        digest.update(json.dumps(item.to_dict(), sort_keys=True).encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]


def accuracy(graded: Iterable[Graded]) -> float:
    graded = list(graded)
    return sum(g.correct for g in graded) / len(graded) if graded else 0.0


def accuracy_by_skill(graded: Iterable[Graded], skills: Iterable[str]) -> dict[str, float]:
    """Accuracy per skill, in the order of ``skills`` (0.0 for a skill with no items)."""
    buckets: dict[str, list[Graded]] = {skill: [] for skill in skills}
    for g in graded:
        buckets.setdefault(g.item.skill, []).append(g)
    return {skill: accuracy(gs) for skill, gs in buckets.items()}
