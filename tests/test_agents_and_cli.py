from __future__ import annotations

import io
import json
import sys

import gymnasium as gym
import numpy as np
import pytest

from societygym.agents import ALIASES, agent_factory, load_agent, parse_kv
from societygym.agents.human import HumanAgent
from societygym.agents.llm_agent import LLMAgent
from societygym.agents.simple import FixedAgent, RandomAgent
from societygym.cli import main
from societygym.llm.base import Generation, Usage
from societygym.runner import run_episodes


class EchoLLM:
    """Unit-test double: replies with a fixed text and records the prompts it got."""

    name = "echo"

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.usage = Usage()
        self.prompts: list = []

    def generate(self, prompts, **kwargs):
        self.prompts += list(prompts)
        return [[Generation(self.reply, 10, 3)] for _ in prompts]


def test_load_agent_aliases_and_module_specs() -> None:
    assert isinstance(load_agent("random"), RandomAgent)
    agent = load_agent("societygym.agents.simple:FixedAgent", action="hi")
    assert isinstance(agent, FixedAgent) and agent.action == "hi"
    with pytest.raises(ValueError, match="module:Class"):
        load_agent("nonsense")
    with pytest.raises(ValueError, match="cannot load"):
        load_agent("societygym.agents.simple:Missing")


def test_every_alias_and_every_shipped_bundles_spec_names_an_agent_of_the_agents_package() -> None:
    """One table names the built-in agents, and a shipped bundle, re-run from the spec it
    recorded, still finds its agent after the agents moved into ``societygym.agents``."""
    from societygym.leaderboard.baselines import BASELINES, shipped_bundles

    specs = {*ALIASES, *(b["agent"]["spec"] for b in shipped_bundles())}
    for spec in specs:
        factory = agent_factory(spec)
        home = factory.__module__
        assert home.startswith("societygym.agents.") or spec == "pbt-partner", (spec, home)
    assert {b.agent for b in BASELINES} <= set(ALIASES), "a baseline names an agent by path"


def test_parse_kv_reads_json_values() -> None:
    assert parse_kv(["a=1", "b=x y", "c=[1, 2]", "d=true"]) == {
        "a": 1,
        "b": "x y",
        "c": [1, 2],
        "d": True,
    }
    with pytest.raises(ValueError):
        parse_kv(["novalue"])


def test_random_agent_is_seeded() -> None:
    env = gym.make("Trivia-Listener-v0")
    actions = []
    for _ in range(2):
        agent = RandomAgent(seed=5)
        agent.bind("Trivia-Listener-v0", env.action_space, type(env.unwrapped))
        actions.append([agent.act(None, {}) for _ in range(20)])
    assert actions[0] == actions[1]


def test_llm_agent_uses_env_prompt_and_parser() -> None:
    llm = EchoLLM("Yes, I accept.")
    agent = LLMAgent(llm=llm)
    env = gym.make("Trivia-Listener-v0")
    agent.bind("Trivia-Listener-v0", env.action_space, type(env.unwrapped))
    observation, info = env.reset(seed=0)
    assert agent.act(observation, info) == 1
    prompt = llm.prompts[-1]
    assert prompt[-1]["role"] == "user" and observation in prompt[-1]["content"]
    assert agent.last_calls[0]["completion_tokens"] == 3


def test_human_agent_reads_text_and_retries_bad_integers() -> None:
    out = io.StringIO()
    agent = HumanAgent(stdin=io.StringIO("seven\n1\n"), stdout=out)
    agent.bind("x", gym.spaces.Discrete(2), None)
    assert agent.act("Accept?", {}) == 1
    assert "Invalid action" in out.getvalue()
    text_agent = HumanAgent(stdin=io.StringIO("Paris, surely.\n"), stdout=io.StringIO())
    text_agent.bind("x", gym.spaces.Text(100), None)
    assert text_agent.act("Capital of France?", {}) == "Paris, surely."


def test_human_agent_saves_images(tmp_path) -> None:
    out = io.StringIO()
    agent = HumanAgent(image_dir=str(tmp_path), stdin=io.StringIO("done\n"), stdout=out)
    agent.bind("x", gym.spaces.Text(10), None)
    agent.act({"text": "draw", "image": np.zeros((4, 4, 3), dtype=np.uint8)}, {})
    assert list(tmp_path.glob("*.png"))


def test_runner_is_independent_of_batch_size(tmp_path) -> None:
    summaries = [
        run_episodes(
            "Trivia-Calibration-v0",
            FixedAgent("I'm absolutely certain it is Lima."),
            episodes=12,
            seed=3,
            batch_size=b,
            progress=False,
            out_dir=tmp_path / str(b),
        )
        for b in (1, 5)
    ]
    assert summaries[0].returns == summaries[1].returns
    traces = sorted((tmp_path / "5" / "episodes").glob("*.jsonl"))
    assert len(traces) == 12
    header, step = (json.loads(line) for line in traces[0].read_text().splitlines())
    assert header == {"episode": 0, "seed": 3, "index": 0}
    assert step["action"] == "I'm absolutely certain it is Lima."
    assert {"p_accept", "correct", "accepted", "answer"} <= set(step["info"])
    summary = json.loads((tmp_path / "5" / "summary.json").read_text())
    assert summary["episodes"] == 12 and "ece" in summary["metrics"]


def test_cli_list_and_run(tmp_path, capsys) -> None:
    assert main(["list"]) == 0
    listing = capsys.readouterr().out
    assert "Trivia-Calibration-v0" in listing and "single" in listing
    code = main(
        [
            "run",
            "Trivia-Calibration-v0",
            "--agent",
            "fixed",
            "--agent-arg",
            "action=Definitely Paris.",
            "--episodes",
            "4",
            "--quiet",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "mean return" in printed and "ece" in printed
    assert len(list((tmp_path / "episodes").glob("*.jsonl"))) == 4


def test_cli_reports_bad_agent_cleanly(capsys) -> None:
    assert main(["run", "Trivia-Calibration-v0", "--agent", "nope", "--quiet"]) == 2
    assert "module:Class" in capsys.readouterr().err


def test_cli_play_reads_stdin(monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("I'm sure it's Lima.\n"))
    assert main(["play", "Trivia-Calibration-v0", "--episodes", "1"]) == 0
    assert "return" in capsys.readouterr().out


def test_cli_run_schedules_an_llm_agent_continuously(tmp_path, capsys) -> None:
    """--schedule continuous plays the episodes lockstep plays (greedy tiny model)."""
    returns = {}
    for schedule in ("continuous", "lockstep"):
        out = tmp_path / schedule
        args = ["run", "Trivia-Calibration-v0", "--agent", "llm", "--agent-arg", "llm=tiny"]
        args += ["--agent-arg", "max_tokens=8", "--episodes", "5", "--batch-size", "3"]
        assert main([*args, "--schedule", schedule, "--quiet", "--out", str(out)]) == 0
        traces = sorted((out / "episodes").glob("*.jsonl"))
        returns[schedule] = [t.read_text().splitlines()[1] for t in traces]
    assert len(returns["continuous"]) == 5
    assert [json.loads(r)["action"] for r in returns["continuous"]] == [
        json.loads(r)["action"] for r in returns["lockstep"]
    ]
    capsys.readouterr()


def test_module_specs_resolve_from_the_current_directory(tmp_path, monkeypatch) -> None:
    """`--agent my_pkg.agents:MyAgent` works from the package's parent folder with no
    PYTHONPATH (the `societygym` script's own path does not start at the cwd)."""
    package = tmp_path / "cwd_agent_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "agents.py").write_text(
        "class EchoAgent:\n"
        "    def __init__(self, word='hi'):\n"
        "        self.word = word\n"
        "    def act(self, observation, info):\n"
        "        return self.word\n"
    )
    (package / "broken.py").write_text("import a_dependency_nobody_has\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    agent = load_agent("cwd_agent_pkg.agents:EchoAgent", word="yo")
    assert agent.act("q", {}) == "yo"
    assert str(tmp_path) not in sys.path  # added for the lookup only
    # a missing import inside the user's own module is reported as that, not masked
    with pytest.raises(ValueError, match="a_dependency_nobody_has"):
        load_agent("cwd_agent_pkg.broken:EchoAgent")
    with pytest.raises(ValueError, match=r"'no_such_pkg\.agents:A'.*current directory"):
        load_agent("no_such_pkg.agents:A")
