"""Agents that need no model: random actions and a fixed action."""

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
