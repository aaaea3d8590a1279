"""Shared pieces of the leaderboard tests: a tiny suite and seeded scripted agents.

(Named like a test module so it may live beside them; it holds no tests itself.)
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from societygym.agents.base import BaseAgent
from societygym.leaderboard.suites import Suite, Task

AGENT = "tests.test_leaderboard_support:CoinAgent"


def tiny_suite(questions: int = 8) -> Suite:
    """Fast episodes (trivia with the lexical listener, interactive TextCraft), 3 seeds."""
    return Suite(
        "tiny",
        1,
        "test suite",
        (
            Task("trivia", "Trivia-Calibration-v0", tuple(range(questions)), plot="reliability"),
            Task("textcraft", "TextCraft-v0", (0, 1), metric="info.success"),
        ),
    )


def write_suite(folder: Path, suite: Suite | None = None) -> Path:
    path = folder / "tiny-suite.json"
    path.write_text(json.dumps((suite or tiny_suite()).to_dict()), encoding="utf-8")
    return path


def evaluate_tiny(folder: Path, questions: int = 8, **agent_args: Any) -> dict:
    """The bundle of ``CoinAgent`` on the tiny suite, evaluated serially into ``folder``."""
    from societygym.leaderboard.commands import submit

    folder.mkdir(parents=True, exist_ok=True)
    suite = write_suite(folder, tiny_suite(questions))
    return submit(
        str(suite),
        AGENT,
        agent_args,
        "tests/coin",
        run_dir=folder / "run",
        backend="serial",
        progress=False,
        store=False,
    )


class CoinAgent(BaseAgent):
    """Answers confidently or with a hedge by a coin flip from the action space's RNG (which
    the harness seeds per episode), so results vary but replay exactly; ``delay`` slows it
    down (per trivia episode) so a test can kill a run mid-way."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = float(delay)

    def act(self, observation: Any, info: dict[str, Any]) -> Any:
        coin = int(self.action_space.np_random.integers(2))
        if "Crafting commands" in str(observation) or "inventory" in str(observation).lower():
            return "inventory" if coin else "get 1 oak planks"
        time.sleep(self.delay)  # one step per trivia episode: the delay is per episode
        return "I am absolutely sure it is Paris." if coin else "Maybe Paris? I have no idea."
