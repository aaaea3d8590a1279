"""One env played from one seat, step by step, with text in and text out.

Trainers (TRL's reward functions and environments, verifiers' env loop) drive an episode one
completion at a time rather than through an agent object, so they need the env wrapped the
other way round: ``reset(seed)`` gives the first prompt, ``step(completion)`` parses the
completion with the env's own parser and returns what the policy sees next. The prompt and
the parser are ``LLMAgent``'s (the env's ``agent_prompt`` and ``parse_llm_action``), so a
policy trained here sees exactly what ``societygym run --agent llm`` shows it.

PettingZoo parallel envs (``Persuasion-v0``) are played from ``seat``; the other seats are
played by ``partner`` (default: the scripted, deterministic ``ScriptedDebater``), batched
through ``act_batch``, and steps where the seat has nothing to say are played through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from societygym.agents.base import act_batch
from societygym.agents.llm_agent import LLMAgent, observation_text
from societygym.llm.base import Prompt


@dataclass
class StepResult:
    observation: str  # what the seat sees next (its final observation when done)
    reward: float
    done: bool
    info: dict[str, Any]


class EnvSession:
    """An env (by id) played from one seat: ``reset(seed)``, then ``step(text)`` until done.

    ``prompt_kwargs`` go to ``LLMAgent`` (``prompt``, ``system``, ``chat``, ``parser``) and
    decide how observations become prompts and completions become actions.
    """

    def __init__(
        self,
        env_id: str,
        env_kwargs: Mapping[str, Any] | None = None,
        *,
        seat: str | None = None,
        partner: Any = None,
        **prompt_kwargs: Any,
    ) -> None:
        from societygym.registry import entry

        self.env_id = env_id
        self.multi_agent = entry(env_id).multi_agent
        # No LLM: the agent is only the prompt template and parser here.
        self.format = LLMAgent(llm=None, **prompt_kwargs)  # type: ignore[arg-type]
        if self.multi_agent:
            from societygym.envs.persuasion.rollout import make_parallel

            self.env = make_parallel(env_id, env_kwargs)
            self.seat = seat or self.env.possible_agents[0]
            if self.seat not in self.env.possible_agents:
                raise ValueError(f"{env_id} has no agent {self.seat!r}")
            self.partner = partner if partner is not None else _default_partner()
            action_space = self.env.action_space(self.seat)
            for agent_id in self.env.possible_agents:
                if agent_id != self.seat and hasattr(self.partner, "bind"):
                    self.partner.bind(env_id, self.env.action_space(agent_id), _cls(self.env))
        else:
            if seat is not None or partner is not None:
                raise ValueError(f"{env_id} is single-agent: it takes no seat or partner")
            import gymnasium as gym

            self.env = gym.make(env_id, **dict(env_kwargs or {}))
            self.seat, self.partner = None, None
            action_space = self.env.action_space
        self.format.bind(env_id, action_space, _cls(self.env))
        self.observation: Any = None
        self.info: dict[str, Any] = {}
        self.total_reward = 0.0
        self.done = True
        self.steps = 0

    # --- the episode ----------------------------------------------------------------------

    def reset(self, seed: int | None = None, options: dict | None = None) -> str:
        """Start episode ``seed``; returns the seat's first observation as text."""
        self.total_reward, self.steps, self.done = 0.0, 0, False
        if self.multi_agent:
            observations, infos = self.env.reset(seed=seed, options=options)
            self._seat_view(observations, infos)
            self.total_reward += self._play_partner_turns(observations, infos)
        else:
            self.observation, self.info = self.env.reset(seed=seed, options=options)
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
        action = self.parse(completion)
        if self.multi_agent:
            reward = self._step_parallel({self.seat: action, **self._partner_actions()})
        else:
            self.observation, reward, terminated, truncated, self.info = self.env.step(action)
            self.done = bool(terminated or truncated)
        self.steps += 1
        self.total_reward += float(reward)
        return StepResult(self.text, float(reward), self.done, self.info)

    @property
    def text(self) -> str:
        return observation_text(self.observation)

    def close(self) -> None:
        self.env.close()

    # --- PettingZoo -----------------------------------------------------------------------

    def _seat_view(self, observations: dict[str, Any], infos: dict[str, Any]) -> None:
        if self.seat in observations:
            self.observation = observations[self.seat]
        self.info = infos.get(self.seat, self.info)
        self._observations, self._infos = observations, infos

    def _must_act(self, agent_id: str) -> bool:
        return (
            agent_id in self.env.agents and self._infos[agent_id].get("to_act", True) is not False
        )

    def _partner_actions(self) -> dict[str, Any]:
        others = [a for a in self.env.agents if a != self.seat and self._must_act(a)]
        if not others:
            return {}
        actions = act_batch(
            self.partner,
            [self._observations[a] for a in others],
            [self._infos[a] for a in others],
        )
        return dict(zip(others, actions, strict=True))

    def _step_parallel(self, actions: dict[str, Any]) -> float:
        """Step with ``actions``, then play on until the seat must speak or the end."""
        observations, rewards, _, _, infos = self.env.step(actions)
        reward = float(rewards.get(self.seat, 0.0))
        self._seat_view(observations, infos)
        return reward + self._play_partner_turns(observations, infos)

    def _play_partner_turns(self, observations: dict[str, Any], infos: dict[str, Any]) -> float:
        reward = 0.0
        while self.env.agents and not self._must_act(self.seat):
            observations, rewards, _, _, infos = self.env.step(self._partner_actions())
            reward += float(rewards.get(self.seat, 0.0))
            self._seat_view(observations, infos)
        self.done = not self.env.agents
        return reward


def _cls(env: Any) -> type:
    return type(env.unwrapped)


def _default_partner() -> Any:
    from societygym.envs.persuasion.debaters import ScriptedDebater

    return ScriptedDebater()
