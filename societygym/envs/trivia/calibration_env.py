"""Trivia-Calibration-v0: a speaker answers and conveys confidence to a listener."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym

from societygym.envs.instances import pick_index
from societygym.envs.trivia import outcomes
from societygym.envs.trivia.answers import (
    LLMAnswerExtractor,
    RuleBasedExtractor,
    anonymize,
    is_correct,
)
from societygym.envs.trivia.data import TriviaItem
from societygym.envs.trivia.difficulty import DIFFICULTY_LEVELS, choose_questions
from societygym.envs.trivia.listeners import Listener, make_listener
from societygym.envs.trivia.plausible import sample_utterance
from societygym.envs.trivia.prompts import SPEAKER_PROMPT
from societygym.spaces import UnicodeText

MAX_QUESTION_LENGTH = 2048


def make_extractor(spec: Any = "rule") -> Any:
    """``"rule"`` (default), ``"llm"`` (embedded model), ``"llm:<llm spec>"`` or an instance."""
    from societygym.specs import resolve

    return resolve(spec, "extractor", {"rule": RuleBasedExtractor}, LLMAnswerExtractor)


def pick_item(env: gym.Env, items: Sequence[TriviaItem], options: dict | None) -> TriviaItem:
    """``options={"index": i}`` addresses one question; otherwise the env's RNG picks."""
    return items[pick_index(env.np_random, len(items), options)]


def llm_usage_of(component: Any) -> Any:
    """The ``usage`` counter of a component backed by an LLM, if any."""
    llm = getattr(component, "llm", None)
    return getattr(llm, "usage", None)


class TriviaCalibrationEnv(gym.Env[str, str]):
    """Answer a trivia question so that a listener trusts you exactly when you are right.

    One question per episode (LACIE). The listener cannot see the answer: it reads the
    utterance with the answer and every alias of the gold answer masked, and returns
    p(accept); it accepts when p(accept) > ``threshold``.

    ## Observation
    The question (``UnicodeText``). After the step: a short text with the verdict.

    ## Action
    The speaker's utterance, any ``str`` of at most ``max_utterance_length`` characters.
    A non-``str`` action raises ``TypeError``; a longer one is invalid (``invalid_reward``,
    ``info["error"]``); one with no extractable answer is an abstention.

    ## Reward (``reward=``, presets in ``outcomes.py``)
    ``"calibrated"`` (default, for RL): ``c - (p_accept - c)**2`` with c = 1 if correct else 0,
    accuracy plus the Brier score of the listener's p(accept). Proper, so its optimum is a
    correct speaker whose conveyed confidence matches its chance of being right: 1 for a
    believed right answer, at most 0 for any wrong one (hedged: near 0; believed: near -1).
    ``"net"``: the listener's net gain, +1 true accept, -1 false accept, else 0.
    ``"lacie"``: LACIE's table, true accept +1, true reject +1, false reject -0.5, false
    accept -1 (``rewards`` overrides entries). Built for ranking samples into DPO pairs;
    under RL "be wrong and hedge" earns +1, so it is not the default.
    Every preset: abstention ``abstain_reward`` (default 0), over-long ``invalid_reward``.

    ## Info
    ``question``, ``utterance``, ``answer`` (extracted, or None), ``correct``, ``abstained``,
    ``anonymized``, ``p_accept``, ``accepted``, ``outcome`` (TA/TR/FR/FA/abstain/invalid),
    ``net_accept`` (+1 true accept, -1 false accept, else 0: what the listener gained),
    ``gold``, ``llm_usage`` when an LLM listener or extractor ran.

    ## Arguments
    ``source``/``split``: ``"embedded"`` generated trivia (default), ``"triviaqa"`` or a
    ``.jsonl`` path; ``questions``: explicit items. ``listener``: ``"lexical"`` (default; fast,
    deterministic cue reader), ``"llm"`` (LACIE's P(yes)/(P(yes)+P(no)) with the embedded
    model), ``"llm:<spec>"`` or any object with ``p_accept_batch``. ``extractor``: ``"rule"``
    (default) or ``"llm"``. ``families``: keep only these embedded families
    (``data.FAMILIES``); ``difficulty``: 1-3 (``difficulty_levels``), the families the
    embedded model answers right at least 20% of the time, sometimes, or never
    (``trivia.difficulty``); None (default) keeps them all.

    ## Version history
    v0: first release; the ``reward`` presets, with ``"calibrated"`` as the default (it was
    LACIE's table, under which always hedging scored about 1).
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 1}
    agent_prompt = SPEAKER_PROMPT.replace("{question}", "{observation}")
    sample_plausible_action = staticmethod(sample_utterance)
    difficulty_levels = DIFFICULTY_LEVELS

    def __init__(
        self,
        source: str = "embedded",
        split: str = "test",
        questions: Sequence[TriviaItem] | None = None,
        listener: Listener | str = "lexical",
        extractor: Any = "rule",
        threshold: float = 0.66,
        reward: str = outcomes.CALIBRATED,
        rewards: Mapping[str, float] | None = None,
        abstain_reward: float = 0.0,
        invalid_reward: float = -1.0,
        max_utterance_length: int = 4096,
        render_mode: str | None = None,
        families: Sequence[str] | None = None,
        difficulty: int | None = None,
    ) -> None:
        self.items = choose_questions(
            source, split, questions, families, difficulty, "Trivia-Calibration"
        )
        if not self.items:
            raise ValueError("no questions to ask: the question source is empty")
        self.listener = make_listener(listener)
        self.extractor = make_extractor(extractor)
        self.threshold = float(threshold)
        self.reward = outcomes.SpeakerReward(reward, rewards)
        self.abstain_reward = float(abstain_reward)
        self.invalid_reward = float(invalid_reward)
        self.render_mode = render_mode
        self.observation_space = UnicodeText(MAX_QUESTION_LENGTH)
        self.action_space = UnicodeText(max_utterance_length)
        self._item: TriviaItem | None = None
        self._last: dict[str, Any] = {}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._item = pick_item(self, self.items, options)
        self._last = {}
        return self._item.question, {"question_id": self._item.id, "family": self._item.family}

    def step(self, action: str):
        if self._item is None:
            raise RuntimeError("call reset() before step()")
        if not isinstance(action, str):
            raise TypeError(f"the action is the speaker's utterance, a str; got {type(action)}")
        item = self._item
        info: dict[str, Any] = {"question": item.question, "gold": item.answers[0]}
        if not self.action_space.contains(action):
            reward = self._invalid(info, action)
        else:
            reward = self._judge(info, item, action)
        info["net_accept"] = outcomes.net_accept(info["outcome"])
        self._item = None
        self._last = info
        return self._verdict_text(info), reward, True, False, info

    def _invalid(self, info: dict[str, Any], action: str) -> float:
        info.update(
            utterance=action[:200],
            answer=None,
            correct=False,
            abstained=False,
            anonymized="",
            p_accept=0.0,
            accepted=False,
            outcome=outcomes.INVALID,
            error=f"utterance of {len(action)} characters exceeds the limit of "
            f"{self.action_space.max_length}",
        )
        return self.invalid_reward

    def _judge(self, info: dict[str, Any], item: TriviaItem, utterance: str) -> float:
        usages = [u for u in map(llm_usage_of, (self.listener, self.extractor)) if u]
        before = [u.snapshot() for u in usages]
        answer = self.extractor(utterance, item.question)
        anonymized = anonymize(utterance, item.answers, answer)
        p_accept = self.listener.p_accept_batch([item.question], [anonymized])[0]
        abstained = answer is None
        correct = is_correct(answer, item.answers)
        accepted = (not abstained) and p_accept > self.threshold
        outcome = outcomes.ABSTAIN if abstained else outcomes.outcome(correct, accepted)
        info.update(
            utterance=utterance,
            answer=answer,
            correct=correct,
            abstained=abstained,
            anonymized=anonymized,
            p_accept=float(p_accept),
            accepted=accepted,
            outcome=outcome,
        )
        if usages:
            info["llm_usage"] = merge_usage(u.since(b) for u, b in zip(usages, before, strict=True))
        if abstained:
            return self.abstain_reward
        return self.reward(outcome, correct, p_accept)

    @staticmethod
    def _verdict_text(info: dict[str, Any]) -> str:
        if info["outcome"] == outcomes.INVALID:
            return f"Invalid utterance: {info['error']}."
        if info["abstained"]:
            return "You abstained: no answer could be extracted."
        verdict = "accepted" if info["accepted"] else "rejected"
        truth = "correct" if info["correct"] else f"wrong (the answer was {info['gold']})"
        return f"The listener {verdict} your answer (p={info['p_accept']:.2f}). It was {truth}."

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        if self._item is not None:
            return f"Question: {self._item.question}"
        return self._verdict_text(self._last) if self._last else ""

    @staticmethod
    def summarize(infos: Sequence[Mapping[str, Any]], out_dir: Any = None) -> dict[str, float]:
        """Calibration metrics over episodes; writes a reliability diagram into ``out_dir``."""
        from societygym.envs.trivia.metrics import calibration_report

        report = calibration_report(infos)
        if out_dir is not None:
            from pathlib import Path

            from societygym.envs.trivia.reliability import save_reliability_diagram

            answered = [i for i in infos if not i.get("abstained") and "p_accept" in i]
            if answered:
                save_reliability_diagram(
                    [i["p_accept"] for i in answered],
                    [bool(i["correct"]) for i in answered],
                    Path(out_dir) / "reliability.png",
                )
        return report


def merge_usage(deltas: Any) -> dict[str, int]:
    total: dict[str, int] = {}
    for delta in deltas:
        for key, value in delta.items():
            total[key] = total.get(key, 0) + value
    return total
