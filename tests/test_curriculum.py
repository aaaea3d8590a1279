"""The curriculum helper: scripted agents that always succeed move up, ones that fail stay."""

from __future__ import annotations

import gymnasium as gym
import pytest

import societygym  # noqa: F401  (registers the ids)
from societygym.curriculum import Curriculum, episode_success
from societygym.envs.programs.textcraft.planner import solve


def play(env: Curriculum, episodes: int, competent: bool, seed: int = 0) -> list[dict]:
    """The last info of each episode; a competent agent follows the planner, the other
    only looks at its inventory until the env truncates."""
    reports = []
    _, info = env.reset(seed=seed)
    for _ in range(episodes):
        commands = solve(info["goal"], env.unwrapped.book) if competent else ["inventory"] * 99
        for command in commands:
            _, _, terminated, truncated, info = env.step(command)
            if terminated or truncated:
                break
        reports.append(info)
        _, info = env.reset()
    return reports


def test_successes_raise_the_level_and_reset_the_window() -> None:
    env = Curriculum("TextCraft-v0", threshold=0.75, window=3)
    infos = play(env, 7, competent=True)
    levels = [i["curriculum"]["level"] for i in infos]
    assert levels == [1, 1, 1, 2, 2, 2, 3]
    assert [i["curriculum"]["promoted"] for i in infos[:4]] == [False, False, True, False]
    assert infos[3]["curriculum"]["episodes"] == 1  # the window restarted at level 2
    assert env.level == 3 and env.unwrapped.source.num_distractors == 10


def test_failures_keep_the_level() -> None:
    env = Curriculum("TextCraft-v0", threshold=0.5, window=2, max_steps=2)
    infos = play(env, 5, competent=False)
    assert [i["curriculum"]["level"] for i in infos] == [1] * 5
    assert infos[-1]["curriculum"]["success_rate"] == 0.0
    assert not any(i["curriculum"]["promoted"] for i in infos)


def test_the_top_level_is_kept_and_a_seed_replays_the_run() -> None:
    def goals(seed: int) -> list[str]:
        env = Curriculum("TextCraft-v0", threshold=1.0, window=1, start=3)
        return [i["goal"] for i in play(env, 4, competent=True, seed=seed)]

    assert goals(7) == goals(7) != goals(8)
    env = Curriculum("TextCraft-v0", window=1, start=4)
    assert [i["curriculum"]["level"] for i in play(env, 2, competent=True)] == [4, 4]


def test_a_factory_works_and_envs_without_levels_are_refused() -> None:
    from societygym.envs.programs.date.date_env import ReGALDateEnv

    env = Curriculum(lambda level: ReGALDateEnv(difficulty=level, families=["hours"]))
    assert len(env.levels) == 4 and env.unwrapped.tasks[0].family == "hours"
    with pytest.raises(TypeError, match="declares no difficulty levels"):
        Curriculum(lambda level: gym.make("CartPole-v1"))
    with pytest.raises(ValueError, match="a level from 1 to 4"):  # the env says so first
        Curriculum("TextCraft-v0", start=5)


def test_success_is_read_from_the_info_first() -> None:
    assert episode_success(0.0, {"success": True})
    assert not episode_success(1.0, {"correct": False})
    assert episode_success(0.5, {})
    assert not episode_success(0.0, {})
