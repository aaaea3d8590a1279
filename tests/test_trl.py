"""TRL adapters: GRPO prompts and env rewards, a real GRPO run, the multi-turn environment."""

from __future__ import annotations

import json
import math

import pytest
import torch

import societygym  # noqa: F401  (registers the ids)
from societygym.envs.programs.textcraft.planner import solve
from societygym.integrations.session import EnvSession
from societygym.integrations.tool_template import chat_template, with_tool_template
from societygym.integrations.trl import (
    REPLY_HINT,
    EnvReward,
    Episode,
    TRLEnvironment,
    environment_factory,
    prompt_dataset,
)

SAY = [{"role": "assistant", "content": "I'm absolutely certain it is Thimphu."}]


def test_prompt_dataset_renders_the_llm_agents_prompt():
    dataset = prompt_dataset("Trivia-Calibration-v0", 3, seed=7)
    assert dataset["seed"] == [7, 7, 7] and dataset["index"] == [0, 1, 2]
    session = EnvSession("Trivia-Calibration-v0")
    for row in dataset:
        assert session.reset(row["seed"], row["index"]) == row["observation"]
        assert row["prompt"] == session.prompt()
        assert row["prompt"][-1]["content"].endswith(f"Question: {row['observation']}\nResponse:")
    text = prompt_dataset("Trivia-Calibration-v0", 1, chat=False)[0]["prompt"]
    assert isinstance(text, str) and text.endswith("Response:")


def test_env_reward_is_the_envs_reward_and_logs_info_metrics():
    dataset = prompt_dataset("Trivia-Calibration-v0", 4)
    reward = EnvReward("Trivia-Calibration-v0", metrics=("correct", "accepted"))
    logged = {}
    rewards = reward(
        dataset["prompt"], [SAY] * 4, dataset["seed"], dataset["index"], dataset["observation"],
        log_metric=logged.__setitem__,
    )  # fmt: skip
    # Bhutan (seed 0, index 0) is Thimphu: a confident right answer is accepted; the other three are
    # confident wrong answers, accepted too. The default reward is c - (p_accept - c)**2.
    p = reward.history[0]["infos"][0]["p_accept"]
    assert p > 0.66
    assert rewards == pytest.approx([1 - (1 - p) ** 2, -(p**2), -(p**2), -(p**2)])
    assert logged == {"env/correct": 0.25, "env/accepted": 1.0}
    assert reward.history[0]["completions"] == [SAY[0]["content"]] * 4
    assert [info["outcome"] for info in reward.history[0]["infos"]] == ["TA", "FA", "FA", "FA"]
    with pytest.raises(RuntimeError, match="deterministic"):
        reward(dataset["prompt"][:1], [SAY], [1], [0], dataset["observation"][:1])


def test_env_reward_refuses_multi_step_envs():
    reward = EnvReward("TextCraft-v0")
    with pytest.raises(ValueError, match="TRLEnvironment"):
        reward(["p"], ["inventory"], [0])


def test_trl_environment_plays_textcraft_to_the_end():
    dataset = prompt_dataset("TextCraft-v0", 2, seed=3, tool_hint=True)
    assert "`act` tool" in dataset[0]["prompt"][-1]["content"]
    log: list[Episode] = []
    env = environment_factory("TextCraft-v0", log=log)()
    assert isinstance(env, TRLEnvironment)
    # TRL hands reset() the whole row; the env uses the key (seed, index) only.
    assert env.reset(**dataset[1]) is None
    session = EnvSession("TextCraft-v0")
    session.reset(dataset[1]["seed"], dataset[1]["index"])
    plan = solve(session.info["goal"], session.env.unwrapped.book)
    replies = [env.act(command) for command in plan]
    assert all("Your turn." in reply for reply in replies[:-1])
    assert "The episode is over." in replies[-1]
    assert env.get_reward() == 1.0
    assert env.act("inventory").startswith("The episode is over")
    assert log == [Episode(3, 1, plan, [0.0] * (len(plan) - 1) + [1.0], 1.0, done=True)]
    env.reset(dataset[1]["seed"], dataset[1]["index"])
    assert env.get_reward() == 0.0
    assert len(log) == 2 and log[1] == Episode(3, 1)


def test_trl_environment_plays_one_seat_of_persuasion():
    env = TRLEnvironment("Persuasion-v0", {"max_rounds": 2})
    for answer, reward in (("Thimphu", 1.0), ("Paris", 0.0)):  # key (0, 0) asks about Bhutan
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
    curve = _printed_curve(capsys, out)
    (reward,) = made
    session = EnvSession("Trivia-Calibration-v0")
    for step, (entry, call) in enumerate(zip(curve, reward.history, strict=True)):
        # step k trains on episodes 2k and 2k + 1, each with 2 generations
        assert sorted(call["indices"]) == [2 * step, 2 * step, 2 * step + 1, 2 * step + 1]
        replayed = []
        keys = zip(call["seeds"], call["indices"], strict=True)
        for (seed, index), completion in zip(keys, call["completions"], strict=True):
            session.reset(seed, index)
            replayed.append(session.step(completion).reward)
        assert replayed == call["rewards"]
        assert math.isclose(entry["reward"], sum(replayed) / 4, abs_tol=1e-6)
        correct = [info["correct"] for info in call["infos"]]
        assert math.isclose(entry["env/correct"], sum(correct) / 4, abs_tol=1e-6)
    with pytest.raises(AssertionError, match="logged"):
        trl_grpo.check_logged_rewards(
            [{**curve[0], "reward": curve[0]["reward"] + 1}], [reward.history[0]["rewards"]]
        )


def test_tool_templates_make_chatml_models_play_through_tools():
    from transformers import AutoTokenizer
    from trl.chat_template_utils import (
        is_chat_template_prefix_preserving,
        parse_response,
        supports_tool_calling,
    )

    from societygym.llm import tiny_llm_dir

    act = TRLEnvironment("TextCraft-v0").act
    prompt = [{"role": "user", "content": "Goal: craft a stick."}]
    call = {"name": "act", "arguments": {"action": "get 2 bamboo"}}
    json_reply = f"<tool_call>\n{json.dumps(call)}\n</tool_call><|im_end|>"

    def parse(tokenizer, reply):
        prefix = tokenizer.apply_chat_template(
            prompt, tools=[act], add_generation_prompt=True, return_dict=False
        )
        ids = tokenizer(reply, add_special_tokens=False)["input_ids"]
        return parse_response(tokenizer, ids, prefix=prefix, tools=[act])

    plain = AutoTokenizer.from_pretrained(tiny_llm_dir())
    assert not supports_tool_calling(plain)
    for actions in ("tool_calls", "replies"):
        tokenizer = AutoTokenizer.from_pretrained(tiny_llm_dir())
        assert with_tool_template(tokenizer, actions) == actions
        assert tokenizer.chat_template == chat_template(actions)
        assert supports_tool_calling(tokenizer) and is_chat_template_prefix_preserving(tokenizer)
        # without tools, both render what the model's own template does
        assert tokenizer.apply_chat_template(prompt, tokenize=False) == (
            plain.apply_chat_template(prompt, tokenize=False)
        )
        text = tokenizer.apply_chat_template(prompt, tools=[act], tokenize=False)
        assert ('"name": "act"' in text) == (actions == "tool_calls")
    tools = AutoTokenizer.from_pretrained(tiny_llm_dir())
    with_tool_template(tools, "tool_calls")
    assert parse(tools, json_reply)["tool_calls"] == [{"type": "function", "function": call}]
    assert "tool_calls" not in parse(tools, "get 2 bamboo<|im_end|>")
    replies = AutoTokenizer.from_pretrained(tiny_llm_dir())
    assert with_tool_template(replies) == "replies"  # auto: no tool calling of its own
    assert parse(replies, "get 2 bamboo<|im_end|>")["tool_calls"] == [
        {"type": "function", "function": call}
    ]
    assert "tool_calls" not in parse(replies, "<|im_end|>")  # an empty reply ends the turns
    # the reply is rendered back as written, and the env's answer as the next user turn
    turns = [*prompt, {"role": "assistant", "content": "", "tool_calls": [call]},
             {"role": "tool", "name": "act", "content": "Got 2 bamboo"}]  # fmt: skip
    assert replies.apply_chat_template(turns, tokenize=False).endswith(
        "<|im_start|>assistant\nget 2 bamboo<|im_end|>\n<|im_start|>user\nGot 2 bamboo<|im_end|>\n"
    )
    llama = AutoTokenizer.from_pretrained(tiny_llm_dir())
    llama.eos_token = "<|endoftext|>"
    with pytest.raises(ValueError, match="ChatML"):
        with_tool_template(llama)


def _teach_textcraft(folder, actions: str, seed: int, steps: int = 100):
    """Write the tiny model, fine-tuned on the planner's solution of TextCraft episode
    ``seed`` played through ``actions``, to ``folder``; a random model never makes a tool
    call, so only a taught one can show that the env pays what the trainer logs."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from societygym.llm import tiny_llm_dir

    AutoTokenizer.from_pretrained(tiny_llm_dir()).save_pretrained(folder)  # as shipped
    tokenizer = AutoTokenizer.from_pretrained(tiny_llm_dir())
    with_tool_template(tokenizer, actions)
    env, session = TRLEnvironment("TextCraft-v0"), EnvSession("TextCraft-v0")
    session.reset(seed, 0)
    env.reset(seed, 0)
    hint = REPLY_HINT if actions == "replies" else True
    messages = list(prompt_dataset("TextCraft-v0", 1, seed=seed, tool_hint=hint)[0]["prompt"])

    def render(generation_prompt: bool) -> list[int]:
        return tokenizer.apply_chat_template(
            messages, tools=[env.act], add_generation_prompt=generation_prompt, return_dict=False
        )

    ids = render(True)
    labels = [-100] * len(ids)
    for command in solve(session.info["goal"], session.env.unwrapped.book):
        call = {"type": "function", "function": {"name": "act", "arguments": {"action": command}}}
        messages.append({"role": "assistant", "content": "", "tool_calls": [call]})
        turn = render(False)[len(ids) :]  # the reply: the template is prefix-preserving
        messages.append({"role": "tool", "name": "act", "content": env.act(command)})
        answer = render(True)[len(ids) + len(turn) :]
        ids, labels = ids + turn + answer, labels + turn + [-100] * len(answer)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny_llm_dir(), dtype=torch.float32)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(steps):
        model(input_ids=torch.tensor([ids]), labels=torch.tensor([labels])).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.save_pretrained(folder)


def _replayed_returns(env_id, env_kwargs, episodes):
    session = EnvSession(env_id, env_kwargs)
    returns = []
    for episode in episodes:
        session.reset(episode["seed"], episode["index"])
        for action in episode["actions"]:
            session.step(action)
        assert session.done == episode["done"]
        returns.append(session.total_reward)
    return returns


@pytest.mark.parametrize("actions", ["tool_calls", "replies"])
def test_grpo_command_trains_multi_turn_textcraft_on_env_returns(tmp_path, capsys, actions):
    """The command's multi-turn path, a real ``GRPOTrainer`` with LoRA: 2 steps of one
    TextCraft episode x 2 generations each, the tiny model taught episode (4, 0)'s solution. The
    trainer steps the env through the tool calls, and every logged reward is the return of
    the episodes the env played, re-checked by replaying their actions on a fresh env."""
    from societygym.integrations import trl_grpo

    model = tmp_path / "taught"
    _teach_textcraft(model, actions, seed=4)
    out = tmp_path / "grpo"
    trl_grpo.main(
        ["--env", "TextCraft-v0", "--multi-turn", "--actions", actions, "--model", str(model),
         "--seed", "4", "--steps", "2", "--prompts-per-step", "1", "--num-generations", "2",
         "--max-completion-length", "512", "--max-turn-length", "96", "--temperature", "0.5",
         "--out", str(out)]
    )  # fmt: skip
    curve = _printed_curve(capsys, out)
    episodes = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    keys = [(e["seed"], e["index"]) for e in episodes]
    assert keys == [(4, 0), (4, 0), (4, 1), (4, 1)]  # step k plays episode k, twice
    returns = _replayed_returns("TextCraft-v0", None, episodes)
    assert returns == [e["episode_return"] for e in episodes]
    for entry, step in zip(curve, (returns[:2], returns[2:]), strict=True):
        assert entry["reward"] == entry["rewards/TRLEnvironment/mean"] == sum(step) / 2
    # the taught episode is solved through the tools, in the planner's three commands
    assert returns[:2] == [1.0, 1.0] and [len(e["actions"]) for e in episodes[:2]] == [3, 3]
    assert curve[0]["env/steps"] == 3.0 and curve[0]["tools/call_frequency"] >= 3.0
    assert returns[2:] == [0.0, 0.0]  # episode (4, 1) was not taught


def test_grpo_micro_batches_make_the_same_update(tmp_path):
    """One step of 4 completions in one backward pass and in two of 2: the same samples,
    rewards and (up to float order) adapter weights; a size that does not divide is refused."""
    from safetensors.torch import load_file

    from societygym.integrations.trl_grpo import train_grpo

    def one_step(name: str, micro: int | None) -> tuple[list[dict], dict]:
        out = tmp_path / name
        curve = train_grpo(
            "Trivia-Calibration-v0", model="tiny", steps=1, prompts_per_step=2,
            num_generations=2, max_completion_length=8, learning_rate=1e-2, seed=3,
            output_dir=out, progress=False, micro_batch=micro,
        )  # fmt: skip
        return curve, load_file(out / "adapter_model.safetensors")

    whole, weights = one_step("whole", None)
    split, split_weights = one_step("split", 2)
    assert whole[0]["reward"] == split[0]["reward"]
    assert weights.keys() == split_weights.keys()
    moved = 0.0
    for key, value in weights.items():
        assert torch.allclose(value, split_weights[key], atol=1e-5), key
        moved = max(moved, float(value.abs().max()))
    assert moved > 0  # the step changed the adapter (B starts at zero)
    with pytest.raises(ValueError, match="does not divide"):
        train_grpo("Trivia-Calibration-v0", model="tiny", steps=1, prompts_per_step=2,
                   num_generations=2, output_dir=tmp_path / "bad", micro_batch=3)  # fmt: skip


def test_grpo_command_trains_one_seat_of_persuasion(tmp_path, capsys):
    """Persuasion-v0 through the same path: the tiny (random) model's replies are its
    seat's turns, the scripted debater plays the other seat."""
    from societygym.integrations import trl_grpo

    out = tmp_path / "grpo"
    trl_grpo.main(
        ["--env", "Persuasion-v0", "--env-arg", "max_rounds=2", "--multi-turn",
         "--model", "tiny", "--steps", "1", "--prompts-per-step", "1", "--num-generations", "2",
         "--max-completion-length", "800", "--max-turn-length", "24", "--out", str(out)]
    )  # fmt: skip
    (entry,) = json.loads((out / "reward_curve.json").read_text())
    episodes = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    keys = [(e["seed"], e["index"]) for e in episodes]
    assert keys == [(0, 0), (0, 0)] and all(e["done"] for e in episodes)
    returns = _replayed_returns("Persuasion-v0", {"max_rounds": 2}, episodes)
    assert returns == [e["episode_return"] for e in episodes]
    assert math.isclose(entry["reward"], sum(returns) / 2, abs_tol=1e-6)
    assert entry["env/steps"] >= 2  # the opening and at least one round


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


@pytest.mark.slow
def test_grpo_multi_turn_example_with_the_embedded_model(tmp_path):
    """The README's multi-turn example, cut to one step: SmolLM2 plays TextCraft in replies."""
    from societygym.integrations import trl_grpo

    out = tmp_path / "grpo"
    trl_grpo.main(
        ["--env", "TextCraft-v0", "--multi-turn", "--model", "embedded", "--steps", "1",
         "--prompts-per-step", "1", "--num-generations", "2", "--max-completion-length", "64",
         "--max-turn-length", "16", "--out", str(out)]
    )  # fmt: skip
    (entry,) = json.loads((out / "reward_curve.json").read_text())
    assert entry["step"] == 1 and entry["env/steps"] >= 1 and entry["reward"] in (0.0, 0.5, 1.0)


def _printed_curve(capsys, out) -> list[dict]:
    """The reward curve the command printed, checked against its file; steps 1 and 2."""
    lines = capsys.readouterr().out.splitlines()
    printed = [json.loads(line) for line in lines if line.startswith('{"step"')]
    curve = json.loads((out / "reward_curve.json").read_text())
    assert printed == curve and [entry["step"] for entry in curve] == [1, 2]
    assert (out / "adapter_model.safetensors").is_file()
    return curve


def test_progress_line_shows_the_bar_reward_and_time_left():
    from societygym.integrations.trl_grpo import progress_line

    logs = {"reward": 0.25, "reward_std": 0.5}
    line = progress_line("Trivia-Calibration-v0", 2, 5, 10, 120.0, logs, width=10)
    # 2 steps ran here in 120 s: 60 s/step, 5 steps left
    assert line == (
        "Trivia-Calibration-v0 [#####-----] 5/10 reward 0.250 (+-0.500) | 60 s/step | 5 min left"
    )
    done = progress_line("x", 1, 10, 10, 1.0, {"reward": 1})
    assert f"[{'#' * 20}] 10/10" in done and done.endswith("0 min left")
