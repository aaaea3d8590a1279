"""TRL adapters: GRPO prompts and env rewards, a real GRPO run, the multi-turn environment."""

from __future__ import annotations

import json
import math

import pytest

import societygym  # noqa: F401  (registers the ids)
from societygym.envs.programs.textcraft.planner import solve
from societygym.integrations.session import EnvSession
from societygym.integrations.trl import (
    EnvReward,
    TRLEnvironment,
    environment_factory,
    prompt_dataset,
)

SAY = [{"role": "assistant", "content": "I'm absolutely certain it is WY."}]


def test_prompt_dataset_renders_the_llm_agents_prompt():
    dataset = prompt_dataset("Trivia-Calibration-v0", 3, seed=7)
    assert dataset["seed"] == [7, 8, 9]
    session = EnvSession("Trivia-Calibration-v0")
    for row in dataset:
        assert session.reset(seed=row["seed"]) == row["observation"]
        assert row["prompt"] == session.prompt()
        assert row["prompt"][-1]["content"].endswith(f"Question: {row['observation']}\nResponse:")
    text = prompt_dataset("Trivia-Calibration-v0", 1, chat=False)[0]["prompt"]
    assert isinstance(text, str) and text.endswith("Response:")


def test_env_reward_is_the_envs_reward_and_logs_info_metrics():
    dataset = prompt_dataset("Trivia-Calibration-v0", 4)
    reward = EnvReward("Trivia-Calibration-v0", metrics=("correct", "accepted"))
    logged = {}
    rewards = reward(
        dataset["prompt"], [SAY] * 4, dataset["seed"], dataset["observation"],
        log_metric=logged.__setitem__,
    )  # fmt: skip
    # Wyoming (seed 0) is WY: a confident right answer is accepted (+1); the other three are
    # confident wrong answers, accepted too (-1).
    assert rewards == [1.0, -1.0, -1.0, -1.0]
    assert logged == {"env/correct": 0.25, "env/accepted": 1.0}
    assert reward.history[0]["completions"] == [SAY[0]["content"]] * 4
    assert [info["outcome"] for info in reward.history[0]["infos"]] == ["TA", "FA", "FA", "FA"]
    with pytest.raises(RuntimeError, match="deterministic"):
        reward(dataset["prompt"][:1], [SAY], [1], dataset["observation"][:1])


def test_env_reward_refuses_multi_step_envs():
    reward = EnvReward("TextCraft-v0")
    with pytest.raises(ValueError, match="TRLEnvironment"):
        reward(["p"], ["inventory"], [0])


def test_trl_environment_plays_textcraft_to_the_end():
    dataset = prompt_dataset("TextCraft-v0", 2, seed=3, tool_hint=True)
    assert "`act` tool" in dataset[0]["prompt"][-1]["content"]
    env = environment_factory("TextCraft-v0")()
    assert isinstance(env, TRLEnvironment)
    # TRL hands reset() the whole row; the env uses the seed only.
    assert env.reset(**dataset[1]) is None
    session = EnvSession("TextCraft-v0")
    session.reset(seed=dataset[1]["seed"])
    plan = solve(session.info["goal"], session.env.unwrapped.book)
    replies = [env.act(command) for command in plan]
    assert all("Your turn." in reply for reply in replies[:-1])
    assert "The episode is over." in replies[-1]
    assert env.get_reward() == 1.0
    assert env.act("inventory").startswith("The episode is over")
    env.reset(seed=dataset[1]["seed"])
    assert env.get_reward() == 0.0


def test_trl_environment_plays_one_seat_of_persuasion():
    env = TRLEnvironment("Persuasion-v0", {"max_rounds": 2})
    for answer, reward in (("WY", 1.0), ("Paris", 0.0)):  # seed 0 asks about Wyoming
        env.reset(seed=0)
        replies = [env.act(f"I am certain.\nAnswer: {answer}")]
        while "The episode is over." not in replies[-1]:
            assert len(replies) < 3  # the opening and at most two rounds
            replies.append(env.act(f"I am certain.\nAnswer: {answer}"))
        assert env.get_reward() == reward


def test_grpo_command_trains_on_env_rewards(tmp_path, monkeypatch, capsys):
    """The worked example's command, on the tiny random model (LoRA, 2 steps): every
    logged reward is the env's, re-checked here by replaying each completion on a fresh env."""
    from societygym.integrations import trl_grpo

    made = []
    original = EnvReward.__init__

    def keep(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(EnvReward, "__init__", keep)
    out = tmp_path / "grpo"
    trl_grpo.main(
        ["--model", "tiny", "--steps", "2", "--prompts-per-step", "2", "--num-generations", "2",
         "--max-completion-length", "6", "--out", str(out)]
    )  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    printed = [json.loads(line) for line in lines if line.startswith('{"step"')]
    curve = json.loads((out / "reward_curve.json").read_text())
    assert printed == curve and [entry["step"] for entry in curve] == [1, 2]
    assert (out / "adapter_model.safetensors").is_file()
    (reward,) = made
    session = EnvSession("Trivia-Calibration-v0")
    for step, (entry, call) in enumerate(zip(curve, reward.history, strict=True)):
        # step k trains on episodes 2k and 2k + 1, each with 2 generations
        assert sorted(call["seeds"]) == [2 * step, 2 * step, 2 * step + 1, 2 * step + 1]
        replayed = []
        for seed, completion in zip(call["seeds"], call["completions"], strict=True):
            session.reset(seed=seed)
            replayed.append(session.step(completion).reward)
        assert replayed == call["rewards"]
        assert math.isclose(entry["reward"], sum(replayed) / 4, abs_tol=1e-6)
        correct = [info["correct"] for info in call["infos"]]
        assert math.isclose(entry["env/correct"], sum(correct) / 4, abs_tol=1e-6)
    with pytest.raises(AssertionError, match="logged"):
        trl_grpo.check_logged_rewards([{**curve[0], "reward": curve[0]["reward"] + 1}], reward)


@pytest.mark.slow
def test_grpo_example_with_the_embedded_model(tmp_path):
    """The README's worked example, cut to one step (the note reports a full run)."""
    from societygym.integrations import trl_grpo

    out = tmp_path / "grpo"
    trl_grpo.main(
        ["--model", "embedded", "--steps", "1", "--prompts-per-step", "1",
         "--num-generations", "2", "--max-completion-length", "16", "--out", str(out)]
    )  # fmt: skip
    (entry,) = json.loads((out / "reward_curve.json").read_text())
    assert entry["step"] == 1 and -1.0 <= entry["reward"] <= 1.0
