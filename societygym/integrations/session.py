"""One env played from one seat, step by step, with text in and text out.

Trainers (TRL's reward functions and environments, verifiers' env loop) drive an episode one
completion at a time rather than through an agent object, so they need the env wrapped the
other way round: ``reset(seed, index)`` gives the first prompt, ``step(completion)`` parses the
completion with the env's own parser and returns what the policy sees next. The prompt and
the parser are ``LLMAgent``'s (the env's ``agent_prompt`` and ``parse_llm_action``), so a
policy trained here sees exactly what ``societygym run --agent llm`` shows it, and the
episode is the episode engine's for the key ``(env_id, seed, index)``: the one
``societygym run --seed seed`` plays as its episode ``index``.

PettingZoo parallel envs (``Persuasion-v0``) are played from ``seat``; the other seats are
played by ``partner`` (default: the scripted, deterministic ``ScriptedDebater``), and steps
where the seat has nothing to say are played through, by the engine's rule of who acts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from societygym.agents.llm_agent import LLMAgent, observation_text
from societygym.contracts import Agent
from societygym.episodes import SEAT, EpisodeKey, SingleSeat, bind, make_env
from societygym.episodes.engine import Table, act
from societygym.llm.base import Prompt


@dataclass
class StepResult:
    observation: str  # what the seat sees next (its final observation when done)
    reward: float
    done: bool
    info: dict[str, Any]


class _Given:
    """The seat's agent inside the engine: it plays the action the trainer handed in."""

    def __init__(self) -> None:
        self.action: Any = None

    def act(self, observation: Any, info: dict[str, Any]) -> Any:
        return self.action

    def act_batch(self, observations: Sequence[Any], infos: Sequence[Any]) -> list:
        return [self.action for _ in observations]


class EnvSession:
    """An env (by id) played from one seat: ``reset(seed, index)``, then ``step(text)``
    until done.

    ``prompt_kwargs`` go to ``LLMAgent`` (``prompt``, ``system``, ``chat``, ``parser``) and
    decide how observations become prompts and completions become actions.
    """

    def __init__(
        self,
        env_id: str,
        env_kwargs: Mapping[str, Any] | None = None,
        *,
        seat: str | None = None,
        partner: Agent | None = None,
        **prompt_kwargs: Any,
    ) -> None:
        self.env_id = env_id
        self.env = make_env(env_id, env_kwargs)
        self.multi_agent = not isinstance(self.env, SingleSeat)
        # No LLM: the agent is only the prompt template and parser here.
        self.format = LLMAgent(llm=None, **prompt_kwargs)  # type: ignore[arg-type]
        self._given = _Given()
        if self.multi_agent:
            self.seat = seat or self.env.possible_agents[0]
            if self.seat not in self.env.possible_agents:
                raise ValueError(f"{env_id} has no agent {self.seat!r}")
            self.partner = partner if partner is not None else _default_partner()
            players: dict[str, Any] = dict.fromkeys(self.env.possible_agents, self.partner)
        else:
            if seat is not None or partner is not None:
                raise ValueError(f"{env_id} is single-agent: it takes no seat or partner")
            self.seat, self.partner, players = SEAT, None, {}
        bind(players, env_id, self.env)
        players[self.seat] = self._given
        self.format.bind(env_id, self.env.action_space(self.seat), type(self.env.unwrapped))
        self._table = Table([self.env], players, ())
        self._slot = self._table.slots[0]
        self.total_reward = 0.0
        self.done = True
        self.steps = 0
        self.observation: Any = None
        self.info: dict[str, Any] = {}

    # --- the episode ----------------------------------------------------------------------

    def reset(self, seed: int = 0, index: int = 0, *, indexed: bool = False) -> str:
        """Start episode ``(env_id, seed, index)`` (``indexed``: on instance ``index``);
        returns the seat's first observation as text."""
        self.steps, self.done = 0, False
        self._table.start(self._slot, EpisodeKey(self.env_id, int(seed), int(index), indexed))
        self._see()
        self.total_reward = self._play_until_the_seat_acts()
        return self.text

    def prompt(self) -> Prompt:
        """The current observation rendered as the LLM agent's prompt."""
        return self.format.render_prompt(self.observation)

    def parse(self, completion: str) -> Any:
        """The action a completion stands for, as ``LLMAgent.act`` would take it."""
        text = completion.strip()
        return self.format.parser(text) if self.format.parser else text

    def step(self, completion: str) -> StepResult:
        """Play one completion; later calls after the end raise ``RuntimeError``."""
        if self.done:
            raise RuntimeError("the episode is over: call reset() first")
        self._given.action = self.parse(completion)
        reward = self._advance()
        reward += self._play_until_the_seat_acts()
        self.steps += 1
        self.total_reward += reward
        return StepResult(self.text, reward, self.done, self.info)

    @property
    def text(self) -> str:
        return observation_text(self.observation)

    def close(self) -> None:
        self.env.close()

    def _see(self) -> None:
        """What the seat sees now (it keeps its last view while only others are told)."""
        if self.seat in self._slot.observations:
            self.observation = self._slot.observations[self.seat]
        self.info = self._slot.infos.get(self.seat, self.info)

    def _advance(self) -> float:
        """One env step with every pending action; the seat's reward."""
        actions, calls = act(self._table, [self._slot])
        if self._table.advance(self._slot, actions[0], calls[0]) is not None:
            self.done = True
        self._see()
        rewards = self._slot.trace[-1]["reward"]
        return float(rewards.get(self.seat, 0.0) if self.multi_agent else rewards)

    def _play_until_the_seat_acts(self) -> float:
        """The other seats' turns, until the seat must act or the episode ends; the seat's
        reward over them."""
        reward = 0.0
        while not self.done and self.seat not in self._table.pending(self._slot):
            reward += self._advance()
        return reward


def _default_partner() -> Any:
    from societygym.agents.persuasion import ScriptedDebater

    return ScriptedDebater()
