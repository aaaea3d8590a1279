"""Plausible random actions for the trivia and persuasion envs (the ``random-valid`` agent).

The answer is drawn from the *answer vocabulary* of the question's family (every canonical
answer of the embedded questions of that family: a capital for a capital question, a year
for a statehood question), so a random speaker is right about as often as a guess among
its family's answers; other questions (TriviaQA, JSONL) draw from the whole vocabulary.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

# hedges from sure to unsure: a random speaker conveys a random confidence
CONFIDENCE = (
    "I am certain it is {answer}.",
    "I'm fairly sure the answer is {answer}.",
    "I think it's {answer}.",
    "Maybe {answer}? I'm not sure.",
    "No idea, my wild guess is {answer}.",
)
REPLIES = (
    "I'll keep my answer.",
    "You may be right, I'll change my answer.",
    "I'm not convinced by that argument.",
    "That's a fair point.",
)


@functools.cache
def _vocabulary() -> dict[str, tuple[str, ...]]:
    """Family -> its distinct canonical answers (``""`` -> all of them), sorted."""
    from societygym.envs.trivia.data import load_embedded

    by_family: dict[str, set[str]] = {}
    for item in load_embedded():
        by_family.setdefault(item.family, set()).add(item.answers[0])
    every = set().union(*by_family.values())
    return {"": tuple(sorted(every)), **{f: tuple(sorted(a)) for f, a in by_family.items()}}


def family_of(info: Mapping[str, Any]) -> str:
    """The question's family from ``info["family"]`` or its id (``"<family>/<key>"``)."""
    family = info.get("family") or str(info.get("question_id", "")).partition("/")[0]
    return family if family in _vocabulary() else ""


def random_answer(info: Mapping[str, Any], rng: np.random.Generator) -> str:
    answers = _vocabulary()[family_of(info)]
    return answers[int(rng.integers(len(answers)))]


def sample_utterance(
    observations: Sequence[Any], info: Mapping[str, Any], rng: np.random.Generator
) -> str:
    """A random answer of the question's family, said with a random confidence."""
    template = CONFIDENCE[int(rng.integers(len(CONFIDENCE)))]
    return template.format(answer=random_answer(info, rng))


def sample_persuasion_reply(
    observations: Sequence[Any], info: Mapping[str, Any], rng: np.random.Generator
) -> str:
    """A reply ending in ``Answer: X``: X is the agent's own answer, the partner's or a random
    one of the family, each a third of the time (whichever are known)."""
    options = [info.get("answer"), info.get("partner_answer"), random_answer(info, rng)]
    known = [o for o in options if isinstance(o, str) and o]
    answer = known[int(rng.integers(len(known)))]
    opening = REPLIES[int(rng.integers(len(REPLIES)))] + " " if info.get("history") else ""
    said = CONFIDENCE[int(rng.integers(len(CONFIDENCE)))].format(answer=answer)
    return f"{opening}{said} Answer: {answer}"
