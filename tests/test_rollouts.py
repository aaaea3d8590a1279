"""Rollout collection: vectorized copies, batched LLM calls, token ids/log-probs, exports."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest

import societygym  # noqa: F401  (registers the ids)
from societygym.agents.llm_agent import LLMAgent
from societygym.agents.persuasion import ScriptedDebater
from societygym.agents.simple import FixedAgent
from societygym.episodes import env_seed
from societygym.llm import load_llm
from societygym.rollouts import collect_rollouts


class CountingLLM:
    """Delegates to a real LLM and counts ``generate`` calls and the prompts in each."""

    def __init__(self, llm):
        self.llm, self.name, self.usage, self.batches = llm, llm.name, llm.usage, []

    def generate(self, prompts, **kwargs):
        self.batches.append(len(prompts))
        return self.llm.generate(prompts, **kwargs)


@pytest.fixture(scope="module")
def tiny():
    return load_llm("tiny")


def test_llm_rollouts_batch_calls_and_keep_tokens_and_env_rewards(tiny, tmp_path):
    llm = CountingLLM(tiny)
    agent = LLMAgent(llm, max_tokens=6, temperature=1.0, seed=3)
    rollouts = collect_rollouts("Trivia-Calibration-v0", agent, episodes=6, num_envs=4, seed=10)
    assert llm.batches == [4, 2]  # one call per lockstep step across the copies
    assert [row["episode"] for row in rollouts.rows] == list(range(6))
    assert [(row["seed"], row["index"]) for row in rollouts.rows] == [(10, i) for i in range(6)]
    env = gym.make("Trivia-Calibration-v0")
    for row in rollouts.rows:
        assert row["completion_tokens"] == len(row["completion_token_ids"]) > 0
        assert len(row["completion_logprobs"]) == row["completion_tokens"]
        assert all(lp <= 0 for lp in row["completion_logprobs"])
        assert tiny.tokenizer.decode(row["completion_token_ids"], skip_special_tokens=True)
        assert json.loads(row["prompt"])[-1]["role"] == "user"
        assert row["action"] == row["completion"].strip()
        observation, _ = env.reset(seed=env_seed(row["seed"], row["index"]))
        assert observation == row["observation"]
        _, reward, terminated, _, info = env.step(row["action"])
        assert (row["reward"], row["terminated"]) == (reward, terminated)
        assert json.loads(row["info"])["outcome"] == info["outcome"]
        assert row["episode_return"] == row["reward"]
    assert rollouts.returns == [row["reward"] for row in rollouts.rows]
    rates = rollouts.throughput()
    assert rates["episodes_per_s"] > 0 and rates["tokens_per_s"] > 0

    dataset = rollouts.to_dataset()
    assert (
        dataset.num_rows == 6
        and dataset[2]["completion_token_ids"] == rollouts.rows[2]["completion_token_ids"]
    )
    path = rollouts.to_jsonl(tmp_path / "out" / "rollouts.jsonl")
    assert [json.loads(line) for line in path.read_text().splitlines()] == rollouts.rows


def test_rollouts_do_not_depend_on_the_number_of_copies(tmp_path):
    agent = FixedAgent("get 1 oak log")
    one = collect_rollouts("TextCraft-v0", agent, episodes=3, num_envs=1, seed=5)
    three = collect_rollouts(
        "TextCraft-v0", agent, episodes=3, num_envs=3, seed=5, out_dir=tmp_path / "traces"
    )
    assert one.rows == three.rows
    assert len(one.rows) == 3 * 40  # never crafts: truncated at the step limit
    assert one.rows[-1]["truncated"] and not one.rows[0]["truncated"]
    assert one.rows[0]["completion"] is None and one.rows[0]["completion_token_ids"] is None
    assert (tmp_path / "traces" / "episodes" / "episode-00002.jsonl").is_file()


def test_parallel_env_with_one_policy_per_agent(tiny):
    agents = {"agent_0": LLMAgent(tiny, max_tokens=4), "agent_1": ScriptedDebater()}
    rollouts = collect_rollouts("Persuasion-v0", agents, episodes=3, num_envs=3)
    assert {row["agent_id"] for row in rollouts.rows} == {"agent_0", "agent_1"}
    for episode in range(3):
        rows = [r for r in rollouts.rows if r["episode"] == episode]
        for agent_id in ("agent_0", "agent_1"):
            mine = [r for r in rows if r["agent_id"] == agent_id]
            assert sum(r["reward"] for r in mine) == mine[0]["episode_return"] in (0.0, 1.0)
            assert mine[-1]["terminated"]
    spoke = [r for r in rollouts.rows if r["acted"]]
    llm_rows = [r for r in spoke if r["agent_id"] == "agent_0"]
    assert llm_rows and all(r["completion_token_ids"] for r in llm_rows)
    assert all(r["completion"] is None for r in spoke if r["agent_id"] == "agent_1")
    assert rollouts.to_dataset().num_rows == len(rollouts.rows)


def test_single_agent_env_refuses_a_mapping_of_agents():
    with pytest.raises(TypeError, match="single-agent"):
        collect_rollouts("Trivia-Calibration-v0", {"a": FixedAgent()}, episodes=1)


def test_continuous_schedule_plays_the_same_episodes_as_lockstep(tiny):
    """A multi-step env whose copies' completions end at different steps: copies fed from one
    refilled batch play exactly the episodes lockstep copies play (greedy decoding)."""
    # stop strings end the random model's completions after varying numbers of tokens
    agent = LLMAgent(tiny, max_tokens=5, temperature=0.0, stop=["e", "a", "o"])
    env_kwargs = {"max_steps": 6}
    before = tiny.usage.snapshot()
    lockstep = collect_rollouts(
        "TextCraft-v0", agent, episodes=5, num_envs=3, env_kwargs=env_kwargs, schedule="lockstep"
    )
    lockstep_usage = tiny.usage.since(before)
    before = tiny.usage.snapshot()
    continuous = collect_rollouts(
        "TextCraft-v0", agent, episodes=5, num_envs=3, env_kwargs=env_kwargs, schedule="continuous"
    )
    assert tiny.usage.since(before) == lockstep_usage
    assert [_without_logprobs(r) for r in continuous.rows] == [
        _without_logprobs(r) for r in lockstep.rows
    ]
    for ours, theirs in zip(continuous.rows, lockstep.rows, strict=True):
        # padding differs between the schedules: the same tokens, float-level log-probs
        assert ours["completion_logprobs"] == pytest.approx(theirs["completion_logprobs"], abs=1e-4)
    assert len(continuous.rows) == 5 * 6
    assert {row["completion_tokens"] for row in continuous.rows} != {5}  # some end early


def _without_logprobs(row: dict) -> dict:
    return {key: value for key, value in row.items() if key != "completion_logprobs"}


def test_continuous_schedule_needs_a_decoder(tiny):
    with pytest.raises(ValueError, match="continuous"):
        collect_rollouts(
            "Trivia-Calibration-v0", LLMAgent(CountingLLM(tiny)), episodes=1, schedule="continuous"
        )
    with pytest.raises(ValueError, match="schedule"):
        collect_rollouts("Trivia-Calibration-v0", LLMAgent(tiny), episodes=1, schedule="eager")
