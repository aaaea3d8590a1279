"""A model-free stand-in for an LLM playing PBT's roles, so the tree builder and the role
partners run without a model (smoke runs, benchmarks, tests)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from societygym.envs.persuasion.prompts import ROLES
from societygym.envs.trivia.data import TriviaItem, load_embedded
from societygym.llm.base import BaseLLM, Generation, Message, Prompt


class ScriptedRoleLLM(BaseLLM):
    """The ``LLM`` protocol, answered by rule.

    It reads the role and the question from the first message (as ``role_messages`` writes
    them): persuaders and the standard role state the gold answer, the resistant role a
    distractor, and the acceptant role states the distractor until it has heard the other
    side, then concedes. Questions come from ``questions`` (default: every embedded one).
    """

    def __init__(self, questions: Sequence[TriviaItem] | None = None) -> None:
        super().__init__("scripted-roles")
        items = questions if questions is not None else load_embedded()
        self._answers = {
            it.question: (it.answers[0], next(iter(it.distractors), None)) for it in items
        }

    def _reply(self, messages: Sequence[Message]) -> str:
        first = messages[0]["content"]
        right, wrong = self._answers[first.partition("\n\nQuestion: ")[2].split("\n", 1)[0]]
        role = next((r for r, text in ROLES.items() if text and text in first), "standard")
        if role not in ("resistant", "acceptant"):
            return f"The answer is {right}. Every source I know agrees."
        if role == "acceptant" and len(messages) > 1:
            return "You're right, I was wrong."
        return f"I'm sure it is {wrong}; I remember it well." if wrong else "I doubt that."

    def generate(
        self, prompts: Sequence[Prompt], *, n: int = 1, **kwargs: Any
    ) -> list[list[Generation]]:
        self.usage.add(0)
        replies = []
        for prompt in prompts:
            text = self._reply(prompt if isinstance(prompt, list) else [{"content": prompt}])
            replies.append([Generation(text) for _ in range(n)])
        return replies
