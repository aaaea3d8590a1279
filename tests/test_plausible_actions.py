"""The ``random-valid`` baseline: each env's ``sample_plausible_action`` draws actions that
are valid for the env (commands parse, programs run), deterministically for a seed."""

from __future__ import annotations

import json
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import societygym
from societygym.agents import load_agent
from societygym.agents.simple import PlausibleRandomAgent, RandomAgent
from societygym.contracts import plausible_sampler
from societygym.envs.dataenv.plausible import sample_examples, sample_tree_action
from societygym.envs.trivia.plausible import _vocabulary
from societygym.registry import entry

TEXT_IDS = [i for i in societygym.list_envs(multi_agent=False) if not i.startswith("DataEnv-")]


def play(env_id: str, seed: int, steps: int = 3) -> tuple[list[Any], list[dict[str, Any]]]:
    """The agent's actions and the step infos of one seeded episode (at most ``steps``)."""
    env = gym.make(env_id, **entry(env_id).test_kwargs)
    agent = PlausibleRandomAgent()
    agent.bind(env_id, env.action_space, type(env.unwrapped))
    env.action_space.seed(seed)
    agent.reset()
    observation, info = env.reset(seed=seed)
    actions, infos = [], []
    for _ in range(steps):
        action = agent.act(observation, info)
        observation, _, terminated, truncated, info = env.step(action)
        actions.append(action)
        infos.append(info)
        if terminated or truncated:
            break
    env.close()
    return actions, infos


def test_alias_and_the_raw_random_agent_stay_apart() -> None:
    assert isinstance(load_agent("random-valid"), PlausibleRandomAgent)
    assert type(load_agent("random")) is RandomAgent  # the leaderboard's bundles use it


@pytest.mark.parametrize("env_id", TEXT_IDS)
def test_same_seed_same_actions(env_id: str) -> None:
    first = play(env_id, seed=5)[0]
    assert first == play(env_id, seed=5)[0]
    if plausible_sampler(type(gym.make(env_id).unwrapped)) is not None:
        assert first != play(env_id, seed=6)[0] or first != play(env_id, seed=7)[0]


def test_textcraft_commands_parse_and_get_raw_items() -> None:
    commands, errors = [], []
    for seed in range(6):
        actions, infos = play("TextCraft-v0", seed, steps=8)
        commands += actions
        errors += [i.get("error", "") for i in infos]
    assert {c.split()[0] for c in commands} <= {"get", "craft", "inventory"}
    assert not [e for e in errors if "expected 'N item'" in e or "Could not execute" in e]
    # a `get` names an ingredient no shown recipe makes: raw, unless its recipe is not shown
    gets = [not e for c, e in zip(commands, errors, strict=True) if c.startswith("get")]
    assert gets and sum(gets) >= 0.7 * len(gets)


@pytest.mark.parametrize(
    ("env_id", "episodes"), [("ReGAL-Date-v0", 8), ("ReGAL-Logo-v0", 8), ("ReGAL-TextCraft-v0", 4)]
)
def test_dsl_programs_run_in_the_sandbox(env_id: str, episodes: int) -> None:
    infos = [play(env_id, seed)[1][-1] for seed in range(episodes)]
    assert sum(not i.get("error") for i in infos) >= episodes - 1, [i.get("error") for i in infos]


def test_trivia_answers_come_from_the_questions_family() -> None:
    for seed in range(4):
        (utterance,), (info,) = play("Trivia-Calibration-v0", seed)
        gold_family = next(
            f for f, answers in _vocabulary().items() if f and info["gold"] in answers
        )
        assert info["answer"] in _vocabulary()[gold_family], (utterance, info["gold"])


def test_persuasion_replies_end_in_an_answer_the_env_reads() -> None:
    actions, infos = play("Persuasion-AreYouSure-v0", seed=0)
    for action, info in zip(actions, infos, strict=True):
        assert action.rsplit("Answer: ", 1)[1] == info["answer"]


def test_teaching_data_is_fresh_generated_examples() -> None:
    rng = np.random.default_rng(0)
    info = {"validation": {"per_skill": {"parity": 0.0, "gcd": 0.5}}}
    examples = sample_examples([{"budget": [0, 2, 5]}], info, rng)
    assert 1 <= len(examples) <= 5 and {e["skill"] for e in examples} <= {"parity", "gcd"}
    assert sample_examples([{"budget": [2, 0, 0]}], info, rng) == []  # no budget left
    unknown = {"validation": {"per_skill": {"juggling": 0.0}}}
    assert sample_examples([{"budget": [0, 2, 5]}], unknown, rng) == []


@pytest.mark.slow
def test_teaching_env_accepts_and_trains_on_every_generated_example() -> None:
    actions, infos = play("DataEnv-VQA-v0", seed=0, steps=1)
    assert infos[0]["accepted"] == len(actions[0]) > 0 and infos[0]["rejected"] == []


def test_tree_actions_explore_and_exploit_a_random_skill() -> None:
    rng = np.random.default_rng(0)
    tree = {"add": {"accuracy": 0.5, "subskills": {"carry": {"allocation": 2}}}}
    actions = [sample_tree_action([{"tree": json.dumps(tree)}], {}, rng) for _ in range(20)]
    assert {next(k for k in a if k != "skill") for a in actions} == {"explore", "exploit"}
    assert all(a["skill"] == "add" for a in actions)
