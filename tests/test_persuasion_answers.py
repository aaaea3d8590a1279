"""Persuasion answer extraction against hand-checked utterances (issue 24): the answer an
agent states is the one graded, and a wrong one is never credited."""

from __future__ import annotations

import pytest

from societygym.envs.persuasion.dialogue import extract_answers
from societygym.envs.trivia.answers import RuleBasedExtractor, is_correct

QUESTION = "What is the capital of Australia?"
ALIASES = ["Canberra"]


@pytest.mark.parametrize(
    ("utterance", "stated", "correct"),
    [
        ("Answer: Canberra", "Canberra", True),
        ("answer: canberra.", "canberra", True),  # case and trailing period forgiven
        ("I said Sydney before. Answer: Canberra", "Canberra", True),
        ("Answer: Sydney\nActually, Answer: Canberra", "Canberra", True),  # the last one
        # an explicit answer opening a sentence wins over a name mentioned before it
        ("Canberra? No. Answer: Sydney", "Sydney", False),
        ("Answer: Sydney", "Sydney", False),
        ("It is not Sydney; it is Canberra.", "Canberra", True),
        ("I think it is Sydney, not Canberra.", "Sydney", False),
        ("Answer: I don't know", None, False),  # abstains
        ("You are right.", None, False),
    ],
)
def test_stated_answer_is_the_graded_one(utterance: str, stated: str | None, correct: bool):
    [extracted] = extract_answers([utterance], [QUESTION], RuleBasedExtractor())
    assert extracted == stated
    assert is_correct(extracted, ALIASES) is correct
