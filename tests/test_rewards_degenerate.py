"""A reward's optimum is the behaviour the paper wants (DESIGN.md, Rewards): in every
registered env, degenerate policies (always abstain, always hedge, always wrong, empty,
maximal-length or echoed actions) earn less than a competent scripted policy.

The cases are keyed by env id and the test is parametrized over the registry, so a new env
fails here until it says what its competent and degenerate policies are.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import societygym
from societygym.envs.trivia.listeners import LexicalListener
from societygym.registry import entry

# A policy sees the unwrapped env (a scripted policy may read the gold answer), the
# observation, the last info and the step index within the episode.
Policy = Callable[[Any, Any, Mapping[str, Any], int], Any]


@dataclass(frozen=True)
class Case:
    competent: Policy | None  # None: no degenerate action may earn any reward at all
    degenerate: Mapping[str, Policy]
    episodes: int = 8
    kwargs: Mapping[str, Any] = field(default_factory=dict)


def constant(action: Any) -> Policy:
    return lambda env, obs, info, step: action


def echo(env: Any, obs: Any, info: Mapping[str, Any], step: int) -> str:
    return obs["text"] if isinstance(obs, Mapping) else str(obs)


def maximal(env: Any, obs: Any, info: Mapping[str, Any], step: int) -> str:
    space = env.action_space
    if callable(space):  # PettingZoo: one space per agent
        space = space(env.possible_agents[0])
    return "x" * space.max_length


# --- trivia -------------------------------------------------------------------------------

CERTAIN = "I'm absolutely certain the answer is {}."
HEDGED = "I have no idea, but I'll randomly guess {}."


def knows(question_id: str) -> bool:
    """A speaker who knows 60% of the answers (which ones: a fixed hash of the id)."""
    return zlib.crc32(question_id.encode()) % 5 < 3


def _wrong(item: Any) -> str:
    return item.distractors[0] if item.distractors else "Xyzzyville"


def calibrated_speaker(env: Any, obs: Any, info: Mapping[str, Any], step: int) -> str:
    """Certain when it knows the answer, an openly unsure guess when it does not."""
    item = env._item
    return CERTAIN.format(item.answers[0]) if knows(item.id) else HEDGED.format(_wrong(item))


def hedging_speaker(env: Any, obs: Any, info: Mapping[str, Any], step: int) -> str:
    """The same knowledge, always hedged."""
    item = env._item
    return HEDGED.format(item.answers[0] if knows(item.id) else _wrong(item))


TRIVIA_SPEAKER = Case(
    competent=calibrated_speaker,
    degenerate={
        "always hedge": hedging_speaker,
        "always hedge a wrong answer": lambda env, *_: HEDGED.format(_wrong(env._item)),
        "always wrong, confidently": lambda env, *_: CERTAIN.format(_wrong(env._item)),
        "always abstain": constant("I don't know."),
        "empty": constant(""),
        "maximal": maximal,
        "echo": echo,
    },
    episodes=40,
)


def reading_listener(env: Any, obs: Any, info: Mapping[str, Any], step: int) -> int:
    """Accept what sounds confident: the lexical listener's p above LACIE's decision point."""
    return int(LexicalListener().p_accept("", env._episode["anonymized"]) > 0.6)


TRIVIA_LISTENER = Case(
    competent=reading_listener,
    degenerate={"always accept": constant(1), "always reject": constant(0)},
    episodes=60,
)

# --- persuasion -----------------------------------------------------------------------------


def gold_of(env: Any) -> str:
    return env._dialogue.item.answers[0]


PERSUASION_EVAL = Case(
    competent=lambda env, *_: f"I'm sure the answer is {gold_of(env)}.",
    degenerate={
        "always abstain": constant("I don't know."),
        "always wrong": lambda env, *_: f"I'm sure the answer is {_wrong(env._dialogue.item)}.",
        "empty": constant(""),
        "maximal": maximal,
        "echo": echo,
    },
)

# --- programs -----------------------------------------------------------------------------


def textcraft_plan(env: Any) -> list[str]:
    from societygym.envs.programs.textcraft.planner import solve

    return solve(env.task.goal, env.book)


def textcraft_program(env: Any, obs: Any, info: Mapping[str, Any], step: int) -> str:
    from societygym.envs.programs.textcraft.planner import program_from_commands

    return program_from_commands(textcraft_plan(env))


PROGRAM_DEGENERATE: dict[str, Policy] = {"empty": constant(""), "maximal": maximal, "echo": echo}
PROGRAM_CASES = {
    "ReGAL-Logo-v0": Case(lambda env, *_: env._task.program, PROGRAM_DEGENERATE, episodes=4),
    "ReGAL-Date-v0": Case(
        lambda env, *_: env._task.program,
        {**PROGRAM_DEGENERATE, "always the same date": constant("answer = '01/01/2000'")},
        episodes=6,
    ),
    "TextCraft-v0": Case(
        lambda env, obs, info, step: textcraft_plan(env)[step],
        {"only look": constant("inventory"), **PROGRAM_DEGENERATE},
        episodes=3,
    ),
    "ReGAL-TextCraft-v0": Case(
        textcraft_program,
        {"only look": constant("check_inventory()"), **PROGRAM_DEGENERATE},
        episodes=3,
    ),
}

# --- teaching (DataEnv) -------------------------------------------------------------------


def teacher(env: Any, obs: Any, info: Mapping[str, Any], step: int) -> Any:
    from societygym.agents.teachers import AlternatingTreePolicy, NoStateTeacher

    if env.kind == "skill-tree":
        return AlternatingTreePolicy().act(obs, dict(info))
    return NoStateTeacher(env.domain, examples_per_step=20, seed=step).act(obs, dict(info))


TEACHING_DEGENERATE: dict[str, Policy] = {
    "empty": constant([]),
    "maximal": lambda env, *_: "x" * env.max_action_length,
    "echo": echo,
}


def each_degenerate_in_turn(env: Any, obs: Any, info: Mapping[str, Any], step: int) -> Any:
    policies = list(TEACHING_DEGENERATE.values())
    return policies[step % len(policies)](env, obs, info, step)


def teaching_case(env_id: str) -> Case:
    # Only the VQA CNN student learns within the certification budget (the tiny LM students
    # of Math, Code and ToolUse stay at 0 there and take ~15 s an episode), so only VQA runs
    # the teacher and compares; the others play one episode of the degenerate actions in
    # turn and check that it earns exactly nothing (no data, no training, no gain).
    if "-VQA-" not in env_id:
        turns = {"max_iterations": len(TEACHING_DEGENERATE)}
        return Case(None, {"each in turn": each_degenerate_in_turn}, episodes=1, kwargs=turns)
    # Wrong-label data is left out: with 7 validation items and an 8-wide CNN it beat the
    # right data in one configuration (0.19 vs 0.05), which is noise, not a reward to fix.
    return Case(teacher, TEACHING_DEGENERATE, episodes=1)


CASES: dict[str, Case] = {
    "Trivia-Calibration-v0": TRIVIA_SPEAKER,
    "Trivia-Listener-v0": TRIVIA_LISTENER,
    "Persuasion-v0": PERSUASION_EVAL,
    "Persuasion-Balanced-v0": PERSUASION_EVAL,
    "Persuasion-AreYouSure-v0": PERSUASION_EVAL,
    "Persuasion-Misinformation-v0": PERSUASION_EVAL,
    **PROGRAM_CASES,
    **{i: teaching_case(i) for i in societygym.list_envs() if i.startswith("DataEnv-")},
}


def mean_return(env_id: str, policy: Policy, case: Case) -> float:
    if entry(env_id).multi_agent:
        return _parallel_mean_return(env_id, policy, case)
    env = gym.make(env_id, **{**entry(env_id).test_kwargs, **case.kwargs})
    returns = []
    for episode in range(case.episodes):
        obs, info = env.reset(seed=episode)
        total, done, step = 0.0, False, 0
        while not done:
            obs, reward, terminated, truncated, info = env.step(
                policy(env.unwrapped, obs, info, step)
            )
            total, done, step = total + float(reward), terminated or truncated, step + 1
        returns.append(total)
    env.close()
    return float(np.mean(returns))


def _parallel_mean_return(env_id: str, policy: Policy, case: Case) -> float:
    """Both seats play ``policy``; the mean over agents and episodes."""
    env = societygym.make(env_id, **{**entry(env_id).test_kwargs, **case.kwargs})
    returns = []
    for episode in range(case.episodes):
        observations, infos = env.reset(seed=episode)
        totals = dict.fromkeys(env.possible_agents, 0.0)
        step = 0
        while env.agents:
            actions = {
                agent: policy(env, observations[agent], infos.get(agent, {}), step)
                for agent in env.agents
            }
            observations, rewards, _, _, infos = env.step(actions)
            for agent, reward in rewards.items():
                totals[agent] += float(reward)
            step += 1
        returns.extend(totals.values())
    env.close()
    return float(np.mean(returns))


def test_every_registered_env_has_a_case() -> None:
    assert set(CASES) == set(societygym.list_envs())


@pytest.mark.parametrize("env_id", societygym.list_envs())
def test_degenerate_policies_do_not_beat_a_competent_one(env_id: str) -> None:
    case = CASES[env_id]
    scores = {name: mean_return(env_id, policy, case) for name, policy in case.degenerate.items()}
    print(f"{env_id}: " + ", ".join(f"{name} {score:.3f}" for name, score in scores.items()))
    if case.competent is None:
        assert scores == dict.fromkeys(scores, 0.0)
        return
    competent = mean_return(env_id, case.competent, case)
    print(f"{env_id}: competent {competent:.3f}")
    # strictly below, unless neither earned anything (a teacher whose tiny student did not
    # move within the test budget)
    beaten = {
        name: score
        for name, score in scores.items()
        if score > competent or (score == competent and competent != 0.0)
    }
    assert not beaten, f"{env_id}: competent {competent:.3f} but {beaten}"


def test_lacie_preset_is_the_gameable_one() -> None:
    """Why LACIE's table is not the default: hedging every answer, wrong or right, scores
    about as well as the calibrated speaker (it earns +1 for each rejected wrong answer)."""
    case = Case(TRIVIA_SPEAKER.competent, {}, episodes=40, kwargs={"reward": "lacie"})
    competent = mean_return("Trivia-Calibration-v0", calibrated_speaker, case)
    hedge_wrong = mean_return(
        "Trivia-Calibration-v0", TRIVIA_SPEAKER.degenerate["always hedge a wrong answer"], case
    )
    assert hedge_wrong == 1.0 >= competent
