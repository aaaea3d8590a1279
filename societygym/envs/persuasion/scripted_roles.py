"""Model-free players: a scripted ``Persuasion-v0`` debater and a scripted stand-in for an LLM
playing PBT's roles; fast and deterministic, for tests, benchmarks and sanity baselines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from societygym.agents.base import BaseAgent
from societygym.envs.persuasion.dialogue import same_answer
from societygym.envs.persuasion.partners import CONCEDE, argue, check_style
from societygym.envs.persuasion.prompts import ROLES
from societygym.envs.trivia.data import TriviaItem, _stable_int, load_embedded
from societygym.envs.trivia.speakers import ScriptedSpeaker
from societygym.llm.base import BaseLLM, Generation, Message, Prompt


class ScriptedDebater(BaseAgent):
    """Opens with the right answer with probability ``p_correct`` (else a distractor), then
    defends its answer with ``style`` arguments, or adopts the partner's answer with
    probability ``p_yield``. Every reply ends with "Answer: X", as the env asks.

    It looks the question up by ``info["question_id"]`` in ``questions`` (default: every
    embedded question). Its choices depend only on ``seed`` and the observation, so runs
    replay exactly whatever the batching.
    """

    def __init__(
        self,
        style: str = "logical",
        p_correct: float = 0.5,
        p_yield: float = 0.3,
        seed: int = 0,
        questions: Sequence[TriviaItem] | None = None,
    ) -> None:
        self.style = check_style(style)
        self.p_correct = float(p_correct)
        self.p_yield = float(p_yield)
        self.seed = seed
        self._pool = list(questions) if questions is not None else load_embedded()
        self._items = {item.id: item for item in self._pool}

    def act(self, observation: Any, info: dict[str, Any]) -> str:
        if not info.get("to_act", True):
            return ""
        item = self._items.get(info.get("question_id", ""))
        if item is None:
            raise ValueError(f"ScriptedDebater does not know question {info.get('question_id')!r}")
        rng = np.random.default_rng(_stable_int(f"{self.seed}\n{observation}"))
        own, partner = info.get("answer"), info.get("partner_answer")
        disagree = not same_answer(own, partner, item.answers)
        if own is not None and partner is not None and disagree and rng.random() < self.p_yield:
            text, answer = CONCEDE.format(a=partner), partner
        else:
            answer = own if own is not None else self._opening_answer(item, rng)
            text = argue(self.style, answer, partner, rng)
        return f"{text}\nAnswer: {answer}"

    def _opening_answer(self, item: TriviaItem, rng: np.random.Generator) -> str:
        if rng.random() < self.p_correct:
            return item.answers[0]
        return ScriptedSpeaker._wrong_answer(item, self._pool, rng)


class ScriptedRoleLLM(BaseLLM):
    """A model-free stand-in for an LLM playing PBT's roles (the ``LLM`` protocol), to run the
    tree builder and role partners without a model (smoke runs, benchmarks, tests).

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
