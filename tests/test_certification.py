"""The suite's contract, checked for every registered id (new envs are covered automatically).

- Gymnasium's ``check_env`` and PettingZoo's ``parallel_api_test``/``parallel_seed_test``;
- determinism: same seed and same actions give the same observations and rewards;
- garbage actions get a documented penalty or a clear TypeError/ValueError, never a crash;
- every Gymnasium id runs in ``SyncVectorEnv`` and ``AsyncVectorEnv(shared_memory=False)``.
"""

from __future__ import annotations

import importlib
import json
import math
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import societygym
from societygym.registry import entry

GYM_IDS = societygym.list_envs(multi_agent=False)
PARALLEL_IDS = societygym.list_envs(multi_agent=True)
GARBAGE_TEXT = ["", "ñ🙂\u200b\x00日本語 ??", "x" * 1_000_000]
WRONG_TYPES: list[Any] = [None, 3.5, b"bytes", ["a", "list"], {"a": 1}]


def make(env_id: str) -> Any:
    return gym.make(env_id, **entry(env_id).test_kwargs)


def rollout(env_id: str, seed: int, steps: int = 6) -> list[Any]:
    """Observations and rewards of a seeded run with seeded random actions."""
    env = make(env_id)
    env.action_space.seed(seed)
    observation, _ = env.reset(seed=seed)
    record: list[Any] = [repr(observation)]
    for _ in range(steps):
        observation, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        record += [repr(observation), float(reward), terminated, truncated]
        if terminated or truncated:
            observation, _ = env.reset()
            record.append(repr(observation))
    env.close()
    return record


@pytest.mark.parametrize("env_id", GYM_IDS)
def test_check_env(env_id: str) -> None:
    env = make(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check_env(env.unwrapped, skip_render_check=True)
    env.close()


# the teaching envs build a student per render mode: their metadata is checked without that
CHEAP_GYM_IDS = [i for i in GYM_IDS if not i.startswith("DataEnv-")]


@pytest.mark.parametrize("env_id", CHEAP_GYM_IDS)
def test_check_env_with_render_checks_warns_nothing(env_id: str) -> None:
    env = make(env_id)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    env.close()
    assert [str(w.message) for w in caught] == []


@pytest.mark.parametrize("env_id", societygym.list_envs())
def test_metadata_declares_render_modes_and_fps(env_id: str) -> None:
    module, _, name = entry(env_id).entry_point.partition(":")
    metadata = getattr(importlib.import_module(module), name).metadata
    assert metadata["render_modes"]
    assert isinstance(metadata["render_fps"], int) and metadata["render_fps"] > 0


@pytest.mark.parametrize("env_id", GYM_IDS)
def test_make_with_module_prefix(env_id: str) -> None:
    env = gym.make(f"societygym:{env_id}", **entry(env_id).test_kwargs)
    assert env.spec is not None and env.spec.id == env_id
    env.close()


@pytest.mark.parametrize("env_id", GYM_IDS)
def test_same_seed_same_episode(env_id: str) -> None:
    assert rollout(env_id, seed=7) == rollout(env_id, seed=7)


@pytest.mark.parametrize("env_id", GYM_IDS)
def test_different_seeds_differ(env_id: str) -> None:
    assert rollout(env_id, seed=1) != rollout(env_id, seed=2)


def _assert_handled(env: Any, action: Any) -> None:
    try:
        observation, reward, _, _, info = env.step(action)
    except (TypeError, ValueError) as error:
        assert str(error), "a rejected action needs an explanation"
        return
    assert math.isfinite(float(reward))
    assert env.observation_space.contains(observation)
    assert isinstance(info, dict)


@pytest.mark.parametrize("env_id", GYM_IDS)
def test_garbage_actions_are_handled(env_id: str) -> None:
    env = make(env_id).unwrapped  # no passive checker: we want the env's own answer
    for action in [*GARBAGE_TEXT, *WRONG_TYPES]:
        env.reset(seed=0)
        _assert_handled(env, action)
    env.close()


@pytest.mark.parametrize("env_id", GYM_IDS)
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_vector_envs(env_id: str, mode: str) -> None:
    fns = [lambda: make(env_id) for _ in range(2)]
    if mode == "sync":
        envs = gym.vector.SyncVectorEnv(fns)
    else:
        envs = gym.vector.AsyncVectorEnv(fns, shared_memory=False)
    single = make(env_id)
    expected = [single.reset(seed=s)[0] for s in (3, 4)]
    observations, _ = envs.reset(seed=[3, 4])
    for got, want in zip(_unbatch(envs, observations), expected, strict=True):
        assert repr(got) == repr(want)
    envs.action_space.seed(0)
    for _ in range(3):
        _, rewards, _, _, _ = envs.step(envs.action_space.sample())
        assert np.all(np.isfinite(rewards))
    envs.close()


def _unbatch(envs: Any, observations: Any) -> list[Any]:
    return list(gym.vector.utils.iterate(envs.observation_space, observations))


def test_async_shared_memory_refuses_text() -> None:
    """Gymnasium's shared memory returns stale text; we raise a clear error instead."""
    text_ids = [i for i in GYM_IDS if isinstance(make(i).observation_space, gym.spaces.Text)]
    assert text_ids
    with pytest.raises(TypeError, match="shared_memory=False"):
        gym.vector.AsyncVectorEnv([lambda: make(text_ids[0])] * 2)


def _json_case(env_id: str) -> Any:
    # one teaching step trains a student (5-50 s each on CI): VQA's CNN stands for the kinds
    slow = env_id.startswith("DataEnv-") and "-VQA-" not in env_id
    return pytest.param(env_id, marks=pytest.mark.slow) if slow else env_id


@pytest.mark.parametrize("env_id", [_json_case(i) for i in societygym.list_envs()])
def test_infos_are_json(env_id: str) -> None:
    """Reset and one step with a plausible action: every info is plain JSON (no arrays, no
    numpy scalars), cheap in vector envs and writable as it is."""
    from societygym.agents.simple import PlausibleRandomAgent

    env = societygym.make(env_id, **entry(env_id).test_kwargs)
    agent = PlausibleRandomAgent()
    if entry(env_id).multi_agent:
        observations, infos = env.reset(seed=0)
        agent.bind(env_id, env.action_space(env.agents[0]), type(env.unwrapped))
        actions = {a: agent.act(observations[a], infos[a]) for a in env.agents}
        step_infos = env.step(actions)[4]
    else:
        observation, infos = env.reset(seed=0)
        agent.bind(env_id, env.action_space, type(env.unwrapped))
        step_infos = env.step(agent.act(observation, infos))[4]
    env.close()
    for info in (infos, step_infos):
        assert json.loads(json.dumps(info, allow_nan=False)) == info


@pytest.mark.parametrize("env_id", PARALLEL_IDS)
def test_parallel_api(env_id: str) -> None:
    from pettingzoo.test import parallel_api_test, parallel_seed_test

    parallel_api_test(societygym.make(env_id, **entry(env_id).test_kwargs), num_cycles=20)
    parallel_seed_test(lambda: societygym.make(env_id, **entry(env_id).test_kwargs))


def test_every_id_is_registered() -> None:
    import pettingzoo

    for env_id in GYM_IDS:
        assert env_id in gym.registry
    for env_id in PARALLEL_IDS:
        assert env_id in pettingzoo.parallel_registry
    assert len(set(societygym.list_envs())) == len(societygym.list_envs())
