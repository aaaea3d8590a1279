"""The verifiers adapter: societygym envs loaded through verifiers' own plugin loader and
played end to end, through its interception server, against models served on loopback."""

from __future__ import annotations

import asyncio
import re

import pytest

vf = pytest.importorskip("verifiers.v1", reason="the `train` extra installs verifiers")

from societygym.envs.programs.textcraft.planner import solve  # noqa: E402
from societygym.integrations.session import EnvSession  # noqa: E402
from societygym.integrations.verifiers import (  # noqa: E402
    SocietyGymEnv,
    SocietyGymEnvConfig,
    SocietyGymHarness,
    SocietyGymTasksetConfig,
)
from societygym.llm import load_llm  # noqa: E402
from societygym.llm.base import BaseLLM, Generation  # noqa: E402
from societygym.llm.server import LLMServer  # noqa: E402

PLUGIN = "societygym-verifiers"


class PlannerLLM(BaseLLM):
    """Plays TextCraft perfectly: the planner's next command for the goal in the prompt."""

    def __init__(self) -> None:
        super().__init__("planner")
        self.session = EnvSession("TextCraft-v0")

    def generate(self, prompts, **kwargs):
        out = []
        for messages in prompts:
            goal = re.search(r"Goal: craft (.+)\.", messages[0]["content"]).group(1)
            plan = solve(goal, self.session.env.unwrapped.book)
            done = sum(m["role"] == "assistant" for m in messages)
            out.append([Generation(plan[done])] * kwargs.get("n", 1))
        return out


def serve(llm):
    server = LLMServer(llm, "127.0.0.1", 0)
    server.start()
    return server


def play(env_id, llm, *, size=1, task=0, max_turns=64, **taskset):
    """Load the env through verifiers, run episode ``task`` against ``llm`` (at most 8
    tokens a turn); the tasks and the episode."""
    server = serve(llm)
    try:
        config = SocietyGymEnvConfig(
            taskset=SocietyGymTasksetConfig(id=PLUGIN, env=env_id, size=size, **taskset),
            max_turns=max_turns,
        )
        env = vf.load_environment(config)
        assert isinstance(env, SocietyGymEnv)
        assert isinstance(env._harnesses["agent"], SocietyGymHarness)
        tasks = list(env.taskset)
        assert len(tasks) == size
        ctx = vf.ModelContext(
            model=llm.name,
            client=vf.EvalClientConfig(base_url=server.url, api_key_var="NO_KEY"),
            sampling=vf.Sampling(max_tokens=8),
        )

        async def run():
            async with env.serving():
                return await env.run_episode(tasks[task], ctx)

        return tasks, asyncio.run(run())
    finally:
        server.shutdown()
        server.server_close()


def messages_of(trace):
    return [(m.role, m.content) for m in trace.branches[-1].messages]


def test_taskset_addresses_episodes_by_seed():
    config = SocietyGymTasksetConfig(id=PLUGIN, env="Trivia-Calibration-v0", seed=4, size=3)
    tasks = list(vf.load_taskset(config))
    session = EnvSession("Trivia-Calibration-v0")
    for i, task in enumerate(tasks):
        info = task.data.info
        assert (info["seed"], info["index"]) == (4, i)
        assert task.data.name == f"Trivia-Calibration-v0#4/{i}"
        session.reset(4, i)
        assert task.data.prompt == session.prompt()[-1]["content"]


def test_a_tiny_model_episode_round_trips_through_the_env():
    """Every assistant turn in the trace, replayed on a fresh env, gives the user turns and
    the reward that the trace recorded."""
    tasks, episode = play("TextCraft-v0", load_llm("tiny"), size=2, task=1, seed=7, max_turns=3)
    assert episode.ok and not episode.errors
    (trace,) = episode.traces
    turns = messages_of(trace)
    session = EnvSession("TextCraft-v0")
    assert turns[0] == ("user", tasks[1].data.prompt)
    session.reset(7, 1)
    assert session.text in turns[0][1]
    replies = [content for role, content in turns if role == "assistant"]
    assert len(replies) >= 1 and [r for r, _ in turns[:2]] == ["user", "assistant"]
    expected = [turns[0]]
    for reply in replies:
        result = session.step(reply)
        expected.append(("assistant", reply))
        if result.done:
            break
        expected.append(("user", result.observation))
    assert turns == expected[: len(turns)] and len(replies) == 3  # max_turns
    assert trace.rewards["env_reward"].score == session.total_reward
    assert trace.info["env_info"]["steps"] == session.steps == len(replies)


def test_a_winning_textcraft_episode_scores_one():
    _, episode = play("TextCraft-v0", PlannerLLM(), seed=3)
    (trace,) = episode.traces
    assert trace.rewards["env_reward"].score == 1.0
    assert trace.info["env_done"] and trace.info["env_info"]["success"]
    session = EnvSession("TextCraft-v0")
    session.reset(3, 0)
    plan = solve(session.info["goal"], session.env.unwrapped.book)
    assert [c for role, c in messages_of(trace) if role == "assistant"] == plan


def test_single_step_trivia_episode():
    _, episode = play("Trivia-Calibration-v0", load_llm("tiny"))
    (trace,) = episode.traces
    (reply,) = [c for role, c in messages_of(trace) if role == "assistant"]
    session = EnvSession("Trivia-Calibration-v0")
    session.reset(0, 0)
    result = session.step(reply)
    assert trace.rewards["env_reward"].score == result.reward
    assert trace.info["env_info"]["outcome"] == result.info["outcome"]
