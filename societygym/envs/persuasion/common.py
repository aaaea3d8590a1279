"""What the two-agent env and the single-agent evaluations share: questions, utterance checks,
observation texts and spaces."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from societygym.envs.persuasion.dialogue import Dialogue
from societygym.envs.persuasion.prompts import OVER
from societygym.envs.trivia.calibration_env import MAX_QUESTION_LENGTH
from societygym.envs.trivia.data import TriviaItem
from societygym.envs.trivia.difficulty import choose_questions
from societygym.spaces import UnicodeText

_PER_TURN = 16  # "Partner: " and the line break
_INSTRUCTIONS = 512  # the instruction or verdict after the transcript


def questions_from(
    source: str,
    split: str,
    questions: Sequence[TriviaItem] | None,
    families: Iterable[str] | None = None,
    difficulty: int | None = None,
) -> list[TriviaItem]:
    """The questions to discuss, kept to ``families`` and question difficulty ``difficulty``
    (``trivia.difficulty``; None for either: all)."""
    items = choose_questions(source, split, questions, families, difficulty, "Persuasion")
    if not items:
        raise ValueError("no questions to discuss: the question source is empty")
    return items


def check_utterance(action: object, max_length: int) -> tuple[str, str | None]:
    """The utterance to record and an error message: a non-``str`` is a ``TypeError``; an
    over-long one is cut to ``max_length`` characters, so observations stay in their space."""
    if not isinstance(action, str):
        raise TypeError(f"an action is an utterance, a str; got {type(action).__name__}")
    if len(action) <= max_length:
        return action, None
    return action[:max_length], (
        f"utterance of {len(action)} characters cut to the limit of {max_length}"
    )


def observation_space(max_turns: int, max_utterance_length: int) -> UnicodeText:
    """Room for the question, ``max_turns`` utterances and the closing instruction."""
    return UnicodeText(
        MAX_QUESTION_LENGTH + max_turns * (max_utterance_length + _PER_TURN) + _INSTRUCTIONS
    )


def observation(dialogue: Dialogue, viewer: str, instruction: str) -> str:
    return f"{dialogue.transcript(viewer)}\n\n{instruction}"


def verdict(dialogue: Dialogue, viewer: str) -> str:
    truth = "right" if dialogue.correct(viewer) else "wrong"
    return f"{OVER} The answer was {dialogue.item.answers[0]}: your answer was {truth}."


def agent_info(dialogue: Dialogue, agent: str, done: bool) -> dict[str, Any]:
    """The agent's answers and flips, the question, and the dialogue as ``history``:
    ``[["you" | "partner", text], ...]`` for agents that want turns; ``gold`` at the end."""
    info = dialogue.summary(agent)
    info.update(
        question=dialogue.item.question,
        question_id=dialogue.item.id,
        history=[["you" if mine else "partner", text] for mine, text in dialogue.history(agent)],
    )
    if done:
        info["gold"] = dialogue.item.answers[0]
    return info
