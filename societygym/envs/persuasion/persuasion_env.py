"""Persuasion-v0: two agents answer a trivia question, then argue until they agree."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium.utils import seeding
from pettingzoo import ParallelEnv

from societygym.envs.instances import pick_index
from societygym.envs.persuasion import common
from societygym.envs.persuasion.dialogue import AGENTS, Dialogue, extract_answers
from societygym.envs.persuasion.partners import clean_reply
from societygym.envs.persuasion.prompts import AGENT_PROMPT, OPENING, REPLY, WAIT
from societygym.envs.trivia.calibration_env import make_extractor
from societygym.envs.trivia.data import TriviaItem
from societygym.envs.trivia.difficulty import DIFFICULTY_LEVELS
from societygym.envs.trivia.plausible import sample_persuasion_reply
from societygym.spaces import UnicodeText

TURN_MODES = ("alternating", "simultaneous")


class PersuasionEnv(ParallelEnv):
    """Two agents answer a question independently, then discuss it (PBT's dialogue game).

    Step 0: both agents answer without seeing each other. Then discussion turns: with
    ``turns="alternating"`` (default) one agent speaks per step, ``first_speaker`` first, and
    a round is one turn each; with ``"simultaneous"`` both speak every step, each replying to
    the other's previous turn. The episode ends (both agents terminate) as soon as the two
    current answers agree after normalisation, or after ``max_rounds`` rounds.

    ## Observation (per agent)
    The question and the dialogue from the agent's point of view ("You:" / "Partner:"),
    then what to do: answer, reply, or wait. ``UnicodeText``; the same space object per agent.

    ## Action (per agent)
    Free text. The answer is the utterance's last "Answer: X" line if it has one, otherwise
    what the extractor (rule-based by default) reads in it. An utterance that only agrees
    ("You're right.") adopts the partner's answer; one with no answer keeps the agent's own.
    Only the agents whose ``info["to_act"]`` is True must act; other actions are ignored.
    A non-``str`` action raises ``TypeError``; an over-long one is cut (``info["error"]``).

    ## Reward
    At the end, 1 for a correct final answer and 0 otherwise; with ``team_reward`` both
    agents get the mean of the two. 0 on every other step.

    ## Info (per agent)
    ``answer``, ``correct``, ``answers`` (after each of its turns), ``initial_answer``,
    ``initial_correct``, ``partner_answer``, ``agreement``, ``flips`` (each change of answer:
    turn, from, to, kind right_to_wrong / wrong_to_right / wrong_to_wrong) and their counts,
    ``to_act``, ``round``, ``question``, ``question_id``, ``history`` (``[["you" | "partner",
    text], ...]``); at the end also ``gold``.

    ## Arguments
    ``source``/``split``/``questions`` as in the trivia envs; ``extractor``: ``"rule"``,
    ``"llm"``, ``"llm:<spec>"`` or an instance; ``max_rounds`` (default 3); ``turns``;
    ``first_speaker``; ``team_reward``; ``max_utterance_length``; ``families`` and
    ``difficulty`` (1-3, ``difficulty_levels``: questions the embedded model answers right at
    least 20% of the time, sometimes, never) as in ``Trivia-Calibration-v0``.
    ``options={"index": i}`` picks question ``i``.

    ## Version history
    v0: first release.
    """

    metadata = {
        "name": "Persuasion-v0",
        "render_modes": ["ansi"],
        "render_fps": 1,
        "is_parallelizable": True,
    }
    agent_prompt = AGENT_PROMPT
    parse_llm_action = staticmethod(clean_reply)
    sample_plausible_action = staticmethod(sample_persuasion_reply)
    difficulty_levels = DIFFICULTY_LEVELS

    def __init__(
        self,
        source: str = "embedded",
        split: str = "test",
        questions: Sequence[TriviaItem] | None = None,
        extractor: Any = "rule",
        max_rounds: int = 3,
        turns: str = "alternating",
        first_speaker: str = AGENTS[0],
        team_reward: bool = False,
        max_utterance_length: int = 1000,
        render_mode: str | None = None,
        families: Sequence[str] | None = None,
        difficulty: int | None = None,
    ) -> None:
        if turns not in TURN_MODES:
            raise ValueError(f"unknown turns {turns!r}; expected one of {TURN_MODES}")
        if first_speaker not in AGENTS:
            raise ValueError(f"first_speaker must be one of {AGENTS}, got {first_speaker!r}")
        if max_rounds < 0:
            raise ValueError("max_rounds must be >= 0")
        self.items = common.questions_from(source, split, questions, families, difficulty)
        self.extractor = make_extractor(extractor)
        self.max_rounds = int(max_rounds)
        self.turns = turns
        self.order = (first_speaker, AGENTS[1 - AGENTS.index(first_speaker)])
        self.team_reward = bool(team_reward)
        self.max_utterance_length = int(max_utterance_length)
        self.render_mode = render_mode
        self.possible_agents = list(AGENTS)
        self.agents: list[str] = []
        # Alternating play has one utterance per step, simultaneous two; either way at most
        # 2 + 2 * max_rounds turns.
        obs_space = common.observation_space(2 + 2 * self.max_rounds, self.max_utterance_length)
        self.observation_spaces = dict.fromkeys(AGENTS, obs_space)
        self.action_spaces = dict.fromkeys(AGENTS, UnicodeText(self.max_utterance_length))
        self.np_random, _ = seeding.np_random()
        self._dialogue: Dialogue | None = None
        self._step = 0

    def observation_space(self, agent: str) -> UnicodeText:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> UnicodeText:
        return self.action_spaces[agent]

    @property
    def _last_step(self) -> int:
        return self.max_rounds * (2 if self.turns == "alternating" else 1)

    def _speakers(self, step: int) -> tuple[str, ...]:
        if step == 0 or self.turns == "simultaneous":
            return AGENTS
        return (self.order[(step - 1) % 2],)

    def reset(self, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self.np_random, _ = seeding.np_random(seed)
        item = self.items[pick_index(self.np_random, len(self.items), options)]
        self._dialogue = Dialogue(item, AGENTS)
        self._step = 0
        self.agents = list(AGENTS)
        return self._observations(done=False), self._infos(done=False, errors={})

    def step(self, actions: Mapping[str, Any]):
        if self._dialogue is None or not self.agents:
            raise RuntimeError("call reset() before step(), and again after the episode ends")
        dialogue = self._dialogue
        speakers = self._speakers(self._step)
        texts, errors = [], {}
        for agent in speakers:
            if agent not in actions:
                raise ValueError(f"{agent} must act this step (info['to_act'] is True)")
            text, error = common.check_utterance(actions[agent], self.max_utterance_length)
            texts.append(text)
            if error:
                errors[agent] = error
        answers = extract_answers(texts, [dialogue.item.question] * len(texts), self.extractor)
        dialogue.add_together(list(zip(speakers, texts, answers, strict=True)), self._step == 0)
        done = dialogue.agreed() or self._step >= self._last_step
        self._step += 1
        rewards = self._rewards() if done else dict.fromkeys(AGENTS, 0.0)
        observations = self._observations(done)
        infos = self._infos(done, errors)
        flags = dict.fromkeys(AGENTS, done)
        if done:
            self.agents = []
        return observations, rewards, flags, dict.fromkeys(AGENTS, False), infos

    def _rewards(self) -> dict[str, float]:
        correct = {agent: float(self._dialogue.correct(agent)) for agent in AGENTS}
        if self.team_reward:
            return dict.fromkeys(AGENTS, float(np.mean(list(correct.values()))))
        return correct

    def _observations(self, done: bool) -> dict[str, str]:
        dialogue = self._dialogue
        if done:
            return {a: common.observation(dialogue, a, common.verdict(dialogue, a)) for a in AGENTS}
        speakers = self._speakers(self._step)
        instruction = OPENING if self._step == 0 else REPLY
        return {
            a: common.observation(dialogue, a, instruction if a in speakers else WAIT)
            for a in AGENTS
        }

    def _infos(self, done: bool, errors: dict[str, str]) -> dict[str, dict[str, Any]]:
        dialogue = self._dialogue
        speakers = () if done else self._speakers(self._step)
        infos = {}
        for agent in AGENTS:
            info = common.agent_info(dialogue, agent, done)
            info.update(to_act=agent in speakers, round=self._round())
            if agent in errors:
                info["error"] = errors[agent]
            infos[agent] = info
        return infos

    def _round(self) -> int:
        """Discussion rounds completed (0 during the independent answers)."""
        if self.turns == "simultaneous":
            return max(self._step - 1, 0)
        return max(self._step - 1, 0) // 2

    def render(self) -> str | None:
        if self.render_mode != "ansi" or self._dialogue is None:
            return None
        return "\n".join(
            f"{t.speaker}: {t.text}  [answer: {t.answers[t.speaker]}]" for t in self._dialogue.turns
        )

    @staticmethod
    def summarize(infos: Sequence[Mapping[str, Any]], out_dir: Any = None) -> dict[str, float]:
        """Accuracy, agreement and flip rates over episodes (each a dict of final infos)."""
        from societygym.envs.persuasion.metrics import discussion_report

        return discussion_report(infos)
