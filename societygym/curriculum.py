"""A curriculum over an env's difficulty levels: start easy, move up once the agent succeeds.

Any env that declares levels (``societygym.contracts.LeveledEnv``: ``difficulty_levels`` on
its class, ``difficulty=k`` in its constructor) works; nothing here knows a particular env.

    import societygym
    from societygym.curriculum import Curriculum

    env = Curriculum("TextCraft-v0", threshold=0.8, window=20)
    obs, info = env.reset(seed=0)          # info["curriculum"]["level"] == 1
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from societygym.contracts import difficulty_levels

SuccessFn = Callable[[float, Mapping[str, Any]], bool]


def episode_success(episode_return: float, info: Mapping[str, Any]) -> bool:
    """Whether an episode succeeded, from its last info: ``info["success"]`` or
    ``info["correct"]`` where the env reports one, else a positive return."""
    for key in ("success", "correct"):
        if key in info:
            return bool(info[key])
    return episode_return > 0


class Curriculum(gym.Wrapper):
    """Plays an env at one difficulty level and moves up a level once the agent's success
    rate over its last ``window`` episodes at that level reaches ``threshold``.

    ``env``: a registered id (built with ``gymnasium.make(id, difficulty=level,
    **env_kwargs)``) or a factory ``level -> env``. The levels are the env class's
    ``difficulty_levels``; a class without them is a TypeError. A promotion takes effect at
    the next ``reset``: the env is rebuilt at the new level (its spaces may differ) and the
    window starts empty. Levels never go down. A reset without a seed after a rebuild seeds
    the new env from the curriculum's own generator (seeded by the first seeded reset), so a
    whole run is reproducible from one seed.

    ``success(episode_return, last_info) -> bool`` decides what counts as a success
    (default ``episode_success``). Every info carries ``info["curriculum"]``: ``level``
    (being played), ``levels`` (how many), ``success_rate`` (over the window, None before
    any episode at this level), ``episodes`` (finished at this level) and, on an episode's
    last step, ``promoted`` (the next reset plays the next level).
    """

    def __init__(
        self,
        env: str | Callable[[int], gym.Env],
        *,
        threshold: float = 0.8,
        window: int = 20,
        start: int = 1,
        success: SuccessFn = episode_success,
        **env_kwargs: Any,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        if window < 1:
            raise ValueError(f"window must be at least 1, got {window}")
        if isinstance(env, str):
            env_id = env
            self._make: Callable[[int], gym.Env] = lambda level: gym.make(
                env_id, difficulty=level, **env_kwargs
            )
        elif env_kwargs:
            raise TypeError("env_kwargs apply to an env id; a factory builds its own env")
        else:
            self._make = env
        first = self._make(start)
        self.levels = difficulty_levels(type(first.unwrapped))
        if not self.levels:
            first.close()
            raise TypeError(
                f"{type(first.unwrapped).__name__} declares no difficulty levels "
                "(societygym.contracts.LeveledEnv)"
            )
        if not 1 <= start <= len(self.levels):
            first.close()
            raise ValueError(f"start must be a level from 1 to {len(self.levels)}, got {start}")
        super().__init__(first)
        self.threshold = float(threshold)
        self.window = int(window)
        self.success = success
        self.level = start
        self._built_level = start
        self._outcomes: deque[bool] = deque(maxlen=self.window)
        self._episodes = 0
        self._return = 0.0
        self._seeds: np.random.Generator | None = None

    @property
    def success_rate(self) -> float | None:
        """Successes over the window at the current level (None before any episode)."""
        return sum(self._outcomes) / len(self._outcomes) if self._outcomes else None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self._seeds = np.random.default_rng(seed)
        if self.level != self._built_level:
            self.env.close()
            self.env = self._make(self.level)
            self._built_level = self.level
            self._cached_spec = None  # spaces come from the new env; its spec names its level
            if seed is None and self._seeds is not None:
                seed = int(self._seeds.integers(2**31 - 1))
        self._return = 0.0
        observation, info = self.env.reset(seed=seed, options=options)
        return observation, {**info, "curriculum": self._report()}

    def step(self, action: Any):
        observation, reward, terminated, truncated, info = self.env.step(action)
        self._return += float(reward)
        report = self._report()
        if terminated or truncated:
            self._outcomes.append(bool(self.success(self._return, info)))
            self._episodes += 1
            report = {**self._report(), "promoted": self._promote()}
        return observation, reward, terminated, truncated, {**info, "curriculum": report}

    def _promote(self) -> bool:
        full = len(self._outcomes) == self.window
        if not full or self.level >= len(self.levels) or self.success_rate < self.threshold:
            return False
        self.level += 1
        self._outcomes.clear()
        self._episodes = 0
        return True

    def _report(self) -> dict[str, Any]:
        return {
            "level": self._built_level,
            "levels": len(self.levels),
            "success_rate": self.success_rate,
            "episodes": self._episodes,
        }
