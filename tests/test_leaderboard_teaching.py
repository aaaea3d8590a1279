"""A teaching suite end to end on a real DataEnv (the registry's tiny test student): the
headline is read from the final test report, the learning curve from every step's info."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from societygym.leaderboard.commands import submit
from societygym.leaderboard.plots import task_plot
from societygym.leaderboard.suites import Suite, Task
from societygym.registry import entry


@pytest.mark.slow
def test_teaching_suite_records_test_accuracy_and_learning_curves(tmp_path: Path) -> None:
    task = Task(
        "math",
        "DataEnv-Math-v0",
        (0,),
        metric="info.test.accuracy",
        indexed=False,
        env_kwargs=dict(entry("DataEnv-Math-v0").test_kwargs),
        plot="curve:validation.accuracy",
    )
    suite_file = tmp_path / "suite.json"
    suite_file.write_text(json.dumps(Suite("teach-tiny", 1, "", (task,)).to_dict()))
    bundle = submit(
        str(suite_file),
        "societygym.agents.teachers:NoStateTeacher",
        {"examples_per_step": 10},
        "tests/no-state",
        run_dir=tmp_path / "run",
        backend="serial",
        progress=False,
        store=False,
    )
    iterations = task.env_kwargs["max_iterations"]
    for episode in bundle["episodes"]:
        assert not episode.get("metric_missing")
        assert episode["value"] == episode["info"]["test"]["accuracy"]
        assert len(episode["curve"]) == iterations + 1  # before teaching, then every step
    assert "test_accuracy" in bundle["metrics"]["math"]
    plot = task_plot(task.plot, "math", bundle["episodes"])
    assert plot is not None and "math: learning curve" in plot and "teaching iteration" in plot
