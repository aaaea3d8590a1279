"""What addresses an episode, and the seeds derived from it.

An episode is ``(env id, kwargs, seed, index)``. Its env is reset with ``env_seed(seed,
index)`` (and, for envs with an instance list, ``options={"index": index}``), and the action
space an agent samples from is seeded with ``action_seed(env_id, seed, index)`` before the
episode starts; an agent that batches gets ``act_seed(env_id, seed, index, step, seat)`` for
each row it answers. Nothing else (batch size, slot, worker, backend, episodes played before)
enters, which is what lets ``societygym run``, rollouts, the leaderboard and the trainer
integrations play the same episode for the same key. The derivations are the leaderboard's
from its first release: the shipped bundles were played with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from societygym.leaderboard.hashing import stable_int


def env_seed(seed: int, index: int) -> int:
    """The seed an episode's env is reset with: one stream per (seed, instance), the same in
    every suite that holds the instance. (The bare seed for every instance would hand all
    instances of a seed the same random draws and correlate their results.)"""
    return stable_int(f"env|{seed}|{index}")


def action_seed(env_id: str, seed: int, index: int) -> int:
    """The seed of the action spaces an agent samples from during the episode."""
    return stable_int(f"agent|{env_id}|{seed}|{index}")


def act_seed(env_id: str, seed: int, index: int, step: int, seat: str) -> int:
    """The seed of what an agent samples for one action: ``seat``'s action at ``step`` of the
    episode. An agent that answers many episodes in one ``act_batch`` (an LLM at temperature
    > 0) samples each row with its own row's seed, so the batch it shares changes nothing."""
    return stable_int(f"act|{env_id}|{seed}|{index}|{step}|{seat}")


@dataclass(frozen=True)
class EpisodeKey:
    """One episode of ``env_id``: ``indexed`` envs are reset onto instance ``index``; the
    others (a teaching run has no instance list) let the seeded RNG choose."""

    env_id: str
    seed: int
    index: int
    indexed: bool = True

    @property
    def env_seed(self) -> int:
        return env_seed(self.seed, self.index)

    @property
    def action_seed(self) -> int:
        return action_seed(self.env_id, self.seed, self.index)

    def act_seed(self, step: int, seat: str) -> int:
        return act_seed(self.env_id, self.seed, self.index, step, seat)

    @property
    def options(self) -> dict[str, Any] | None:
        return {"index": self.index} if self.indexed else None
