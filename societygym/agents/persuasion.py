"""Persuasion agents that need no model: a scripted ``Persuasion-v0`` debater, fast and
deterministic, for tests, benchmarks and a sanity baseline. (An LLM playing one of PBT's roles
is ``LLMPartner``, the env's own partner component, alias ``pbt-partner``.)"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from societygym.agents.base import BaseAgent
from societygym.envs.persuasion.dialogue import same_answer
from societygym.envs.persuasion.partners import CONCEDE, argue, check_style
from societygym.envs.trivia.data import TriviaItem, _stable_int, load_embedded
from societygym.envs.trivia.speakers import ScriptedSpeaker


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
