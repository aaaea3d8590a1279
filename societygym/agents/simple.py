"""Agents that need no model: random actions (raw or plausible) and a fixed action."""

from __future__ import annotations

from typing import Any

from gymnasium import spaces

from societygym.agents.base import BaseAgent


class RandomAgent(BaseAgent):
    """Samples the action space with its own seeded RNG."""

    def __init__(self, seed: int | None = 0) -> None:
        self.seed = seed

    def bind(self, env_id: str, action_space: spaces.Space, env_class: type | None) -> None:
        super().bind(env_id, action_space, env_class)
        action_space.seed(self.seed)

    def act(self, observation: Any, info: dict[str, Any]) -> Any:
        if self.action_space is None:
            raise RuntimeError("RandomAgent needs bind(env_id, action_space, ...) first")
        return self.action_space.sample()


class FixedAgent(BaseAgent):
    """Always plays the same action (text by default); a baseline and a benchmark driver."""

    def __init__(self, action: Any = "I'm fairly sure it is Paris.") -> None:
        self.action = action

    def act(self, observation: Any, info: dict[str, Any]) -> Any:
        return self.action


class PlausibleRandomAgent(RandomAgent):
    """A random baseline worth comparing against (alias ``random-valid``): each action is
    what the env's ``sample_plausible_action`` draws (a random answer from its answer
    vocabulary, a random valid command, a random program of its DSL); an env without that
    hook gets ``action_space.sample()``. Randomness comes from the bound action space,
    which the episode engine seeds from the episode's key."""

    def __init__(self, seed: int | None = 0) -> None:
        super().__init__(seed)
        self._observations: list[Any] = []

    def reset(self) -> None:
        self._observations = []

    def act(self, observation: Any, info: dict[str, Any]) -> Any:
        from societygym.contracts import plausible_sampler

        if self.action_space is None:
            raise RuntimeError("PlausibleRandomAgent needs bind(env_id, action_space, ...) first")
        self._observations.append(observation)
        sample = plausible_sampler(self.env_class)
        if sample is None:
            return self.action_space.sample()
        return sample(list(self._observations), info, self.action_space.np_random)
