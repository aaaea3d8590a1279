"""Trivia-Listener-v0: the agent is the listener and judges answers it cannot see."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from societygym.envs.trivia import outcomes
from societygym.envs.trivia.answers import anonymize, is_correct
from societygym.envs.trivia.calibration_env import make_extractor, merge_usage, pick_item
from societygym.envs.trivia.data import TriviaItem, load_questions
from societygym.envs.trivia.prompts import LISTENER_AGENT_PROMPT
from societygym.envs.trivia.speakers import Speaker, make_speaker
from societygym.spaces import UnicodeText

MAX_OBSERVATION_LENGTH = 8192


class TriviaListenerEnv(gym.Env):
    """Accept answers that are right and reject answers that are wrong, from phrasing alone.

    ## Observation
    ``"Question: …\\nAnswer: …\\nDo you accept the answer?"`` where the answer is a speaker's
    utterance with the answer and all gold aliases masked as ``[ANSWER REMOVED]``.

    ## Action
    ``action_type="discrete"`` (default): ``Discrete(2)``, 1 = accept, 0 = reject.
    ``action_type="probability"``: ``Box(0, 1, (1,))``, p(accept); accepted when
    p > ``threshold``. An action outside the space raises ``ValueError``.

    ## Reward
    LACIE's table from the listener's side: accepting a correct answer +1, rejecting a wrong
    one +1, rejecting a correct one -0.5, accepting a wrong one -1 (``rewards`` overrides).
    From the listener's side the table is not gameable: accepting pays 2q - 1 and rejecting
    1 - 1.5q for an answer right with probability q, so the optimum accepts exactly when
    q > 4/7 and a listener that reads the phrasing beats always-accept and always-reject.

    ## Info
    ``question``, ``utterance``, ``anonymized``, ``answer`` (extracted), ``correct``,
    ``abstained``, ``p_accept``, ``accepted``, ``outcome``, ``gold``.

    ## Arguments
    ``speaker``: ``"scripted"`` (default; deterministic templates, see ``speakers.py``),
    ``"llm"``/``"llm:<spec>"`` (LACIE's speaker prompt, sampled) or any ``Speaker``.

    ## Version history
    v0: first release.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 1}
    agent_prompt = LISTENER_AGENT_PROMPT

    def __init__(
        self,
        source: str = "embedded",
        split: str = "test",
        questions: Sequence[TriviaItem] | None = None,
        speaker: Speaker | str = "scripted",
        extractor: Any = "rule",
        action_type: str = "discrete",
        threshold: float = 0.66,
        rewards: Mapping[str, float] | None = None,
        render_mode: str | None = None,
    ) -> None:
        self.items = list(questions) if questions is not None else load_questions(source, split)
        if not self.items:
            raise ValueError("no questions to ask: the question source is empty")
        self.speaker = make_speaker(speaker)
        self.extractor = make_extractor(extractor)
        if action_type == "discrete":
            self.action_space: spaces.Space = spaces.Discrete(2)
        elif action_type == "probability":
            self.action_space = spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)
        else:
            raise ValueError("action_type must be 'discrete' or 'probability'")
        self.action_type = action_type
        self.threshold = float(threshold)
        self.rewards = outcomes.reward_table(rewards)
        self.render_mode = render_mode
        self.observation_space = UnicodeText(MAX_OBSERVATION_LENGTH)
        self._episode: dict[str, Any] | None = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        item = pick_item(self, self.items, options)
        llm = getattr(self.speaker, "llm", None)
        before = llm.usage.snapshot() if llm is not None else None
        utterance = self.speaker.speak([item], self.np_random)[0]
        answer = self.extractor(utterance, item.question)
        anonymized = anonymize(utterance, item.answers, answer)
        self._episode = {
            "question": item.question,
            "gold": item.answers[0],
            "utterance": utterance,
            "anonymized": anonymized,
            "answer": answer,
            "abstained": answer is None,
            "correct": is_correct(answer, item.answers),
        }
        info: dict[str, Any] = {"question_id": item.id, "family": item.family}
        if before is not None:
            info["llm_usage"] = merge_usage([llm.usage.since(before)])
        return self._observation(), info

    def _observation(self) -> str:
        episode = self._episode or {}
        text = (
            f"Question: {episode['question']}\nAnswer: {episode['anonymized']}\n"
            "Do you accept the answer?"
        )
        return text[:MAX_OBSERVATION_LENGTH]

    def step(self, action: Any):
        if self._episode is None:
            raise RuntimeError("call reset() before step()")
        p_accept = self._p_accept(action)
        accepted = p_accept > self.threshold
        info = dict(self._episode)
        outcome = outcomes.outcome(info["correct"], accepted)
        info.update(p_accept=p_accept, accepted=accepted, outcome=outcome)
        self._episode = None
        truth = "correct" if info["correct"] else f"wrong (the answer was {info['gold']})"
        verdict = "accepted" if accepted else "rejected"
        observation = f"You {verdict} the answer {info['answer']!r}; it was {truth}."
        return observation[:MAX_OBSERVATION_LENGTH], self.rewards[outcome], True, False, info

    def _p_accept(self, action: Any) -> float:
        if self.action_type == "discrete":
            if isinstance(action, bool) or not isinstance(action, (int, np.integer)):
                raise ValueError(f"action must be 0 (reject) or 1 (accept); got {action!r}")
            if action not in (0, 1):
                raise ValueError(f"action must be 0 (reject) or 1 (accept); got {action!r}")
            return float(action)
        value = np.asarray(action, dtype=np.float64).reshape(-1)
        if value.shape != (1,) or not 0.0 <= value[0] <= 1.0:
            raise ValueError(f"action must be a probability in [0, 1]; got {action!r}")
        return float(value[0])

    def render(self) -> str | None:
        if self.render_mode == "ansi" and self._episode is not None:
            return self._observation()
        return None

    @staticmethod
    def parse_llm_action(text: str) -> int:
        """Map an LLM's reply to the discrete action: yes/accept → 1, anything else → 0."""
        words = text.strip().lower().split()
        return int(bool(words) and words[0].strip(".,!:;\"'") in {"yes", "accept", "y"})

    @staticmethod
    def summarize(infos: Sequence[Mapping[str, Any]], out_dir: Any = None) -> dict[str, float]:
        from societygym.envs.trivia.calibration_env import TriviaCalibrationEnv

        return TriviaCalibrationEnv.summarize(infos, out_dir)
