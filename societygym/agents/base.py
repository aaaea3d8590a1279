"""The agent protocol: anything with ``act`` (and optionally ``act_batch``/``reset``) plays."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from gymnasium import spaces


@runtime_checkable
class Agent(Protocol):
    def act(self, observation: Any, info: dict[str, Any]) -> Any:
        """The action for one observation."""
        ...


class BaseAgent:
    """Convenience base: ``act_batch`` loops over ``act``; ``bind`` records the env.

    The runner calls ``bind(env_id, action_space, env_class)`` before the first episode so
    that an agent can adapt to the env (an LLM agent picks the env's prompt and parser).
    """

    env_id: str | None = None
    action_space: spaces.Space | None = None
    env_class: type | None = None

    def bind(self, env_id: str, action_space: spaces.Space, env_class: type | None) -> None:
        self.env_id, self.action_space, self.env_class = env_id, action_space, env_class

    def act(self, observation: Any, info: dict[str, Any]) -> Any:
        raise NotImplementedError

    def act_batch(self, observations: Sequence[Any], infos: Sequence[dict[str, Any]]) -> list:
        return [self.act(o, i) for o, i in zip(observations, infos, strict=True)]

    def reset(self) -> None:
        """Called at the start of every episode."""


def batches(agent: Any) -> bool:
    """Whether an agent (or agent class) answers many observations at once with an
    ``act_batch`` of its own, rather than ``BaseAgent``'s loop over ``act``."""
    cls = agent if isinstance(agent, type) else type(agent)
    own = getattr(cls, "act_batch", None)
    return own is not None and own is not BaseAgent.act_batch


def takes_seeds(agent: Any) -> bool:
    """Whether the agent's ``act_batch`` accepts ``seeds``: one per row, from each row's
    episode key (``EpisodeKey.act_seed``), for an agent that samples (an LLM at temperature
    > 0) so that a row's draws depend on its own episode, not on the rest of the batch."""
    method = getattr(agent, "act_batch", None)
    return method is not None and "seeds" in inspect.signature(method).parameters


def act_batch(
    agent: Any,
    observations: Sequence[Any],
    infos: Sequence[dict[str, Any]],
    seeds: Sequence[int] | None = None,
) -> list:
    """Batched actions from any agent, whether or not it implements ``act_batch``;
    ``seeds`` reach an ``act_batch`` that takes them."""
    if seeds is not None and takes_seeds(agent):
        return list(agent.act_batch(observations, infos, seeds=seeds))
    if hasattr(agent, "act_batch"):
        return list(agent.act_batch(observations, infos))
    return [agent.act(o, i) for o, i in zip(observations, infos, strict=True)]
