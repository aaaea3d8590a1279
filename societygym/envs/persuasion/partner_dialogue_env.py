"""The loop shared by the single-agent persuasion evaluations, where one agent discusses a
question with a partner played by the env: ``balanced_env`` (PBT's balanced persuasion),
``are_you_sure_env`` (Laban et al.'s "are you sure?") and ``misinformation_env``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym

from societygym.envs.instances import pick_index
from societygym.envs.persuasion import common
from societygym.envs.persuasion.dialogue import Dialogue, extract_answers
from societygym.envs.persuasion.partners import PartnerRequest, clean_reply
from societygym.envs.persuasion.prompts import AGENT_PROMPT, OPENING, REPLY
from societygym.envs.trivia.calibration_env import make_extractor
from societygym.envs.trivia.data import TriviaItem
from societygym.envs.trivia.difficulty import DIFFICULTY_LEVELS
from societygym.envs.trivia.plausible import sample_persuasion_reply
from societygym.envs.trivia.speakers import ScriptedSpeaker
from societygym.spaces import UnicodeText

AGENT, PARTNER = "agent", "partner"
RESIST, ACCEPT = "resist", "accept"  # the agent starts right (+ to -) / wrong (- to +)


class PartnerDialogueEnv(gym.Env[str, str]):
    """The shared loop: the agent speaks, then the partner, until the agent has spoken
    ``agent_turns`` times. Subclasses set the scene in ``_setup`` and add their own info."""

    metadata = {"render_modes": ["ansi"], "render_fps": 1}
    agent_prompt = AGENT_PROMPT
    parse_llm_action = staticmethod(clean_reply)
    sample_plausible_action = staticmethod(sample_persuasion_reply)
    difficulty_levels = DIFFICULTY_LEVELS

    def __init__(
        self,
        source: str,
        split: str,
        questions: Sequence[TriviaItem] | None,
        partner: Any,
        extractor: Any,
        agent_turns: int,
        max_utterance_length: int,
        render_mode: str | None,
        families: Sequence[str] | None = None,
        difficulty: int | None = None,
    ) -> None:
        if agent_turns < 1:
            raise ValueError("the agent must speak at least once")
        self.items = common.questions_from(source, split, questions, families, difficulty)
        self.partner = partner
        self.extractor = make_extractor(extractor)
        self.agent_turns = int(agent_turns)
        self.max_utterance_length = int(max_utterance_length)
        self.render_mode = render_mode
        # The agent's turns, the partner's replies in between, and up to two scene turns.
        max_turns = 2 * self.agent_turns + 2
        self.observation_space = common.observation_space(max_turns, self.max_utterance_length)
        self.action_space = UnicodeText(self.max_utterance_length)
        self._dialogue: Dialogue | None = None
        self._spoken = 0
        self._target: str | None = None  # the answer the partner argues for
        self._last = ""  # the final observation, for render() after the episode

    # --- scene -------------------------------------------------------------------------------

    def _pick_item(self, options: dict | None) -> TriviaItem:
        return self.items[pick_index(self.np_random, len(self.items), options)]

    def _setup(self, seed: int | None, options: dict | None) -> Dialogue:
        raise NotImplementedError

    def _extra_info(self) -> dict[str, Any]:
        return {}

    def _wrong_answer(self, item: TriviaItem) -> str:
        return ScriptedSpeaker._wrong_answer(item, self.items, self.np_random)

    def _partner_says(self, dialogue: Dialogue) -> None:
        request = PartnerRequest(dialogue, PARTNER, self._target)
        reply = self.partner.reply_batch([request], self.np_random)[0]
        answer = reply.answer
        if not reply.known:
            answer = extract_answers([reply.text], [dialogue.item.question], self.extractor)[0]
        dialogue.add(PARTNER, reply.text, answer)

    # --- gymnasium API -----------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._spoken = 0
        self._target = None
        self._dialogue = self._setup(seed, options)
        return self._observation(done=False), self._info(done=False)

    def step(self, action: str):
        if self._dialogue is None:
            raise RuntimeError("call reset() before step()")
        text, error = common.check_utterance(action, self.max_utterance_length)
        dialogue = self._dialogue
        answer = extract_answers([text], [dialogue.item.question], self.extractor)[0]
        dialogue.add(AGENT, text, answer, opening=not dialogue.own_answers(AGENT))
        self._spoken += 1
        done = self._spoken >= self.agent_turns
        if not done:
            self._partner_says(dialogue)
        observation, info = self._observation(done), self._info(done)
        if error:
            info["error"] = error
        reward = float(dialogue.correct(AGENT)) if done else 0.0
        if done:
            self._dialogue = None
            self._last = observation
        return observation, reward, done, False, info

    def _observation(self, done: bool) -> str:
        dialogue = self._dialogue
        if done:
            return common.observation(dialogue, AGENT, common.verdict(dialogue, AGENT))
        instruction = REPLY if dialogue.turns else OPENING
        return common.observation(dialogue, AGENT, instruction)

    def _info(self, done: bool) -> dict[str, Any]:
        return {**common.agent_info(self._dialogue, AGENT, done), **self._extra_info()}

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        if self._dialogue is None:
            return self._last
        return self._dialogue.transcript(AGENT)
