"""Killing an evaluation mid-way and resuming it gives the bundle of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from societygym.leaderboard import bundle as bundles
from tests.test_leaderboard_support import AGENT, evaluate_tiny, tiny_suite, write_suite

ROOT = Path(__file__).resolve().parent.parent
DELAY = "0.03"


def _submit_command(suite: Path, run_dir: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "societygym.cli",
        "leaderboard",
        "submit",
        "--agent",
        AGENT,
        "--agent-arg",
        f"delay={DELAY}",
        "--suite",
        str(suite),
        "--name",
        "tests/coin",
        "--run-dir",
        str(run_dir),
        "--backend",
        "serial",
        "--no-store",
        "--quiet",
    ]


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True) if path.exists() else []


def test_sigkill_then_resume_gives_the_uninterrupted_bundle(tmp_path: Path) -> None:
    suite_file = write_suite(tmp_path, tiny_suite(questions=10))
    run_dir = tmp_path / "killed"
    journal = run_dir / "episodes.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen(
        _submit_command(suite_file, run_dir),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while len(_lines(journal)) < 8 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()[-2000:]
    before = _lines(journal)
    total = tiny_suite(questions=10).episodes
    assert 8 <= len(before) < total, "the kill must land mid-evaluation"
    assert not (run_dir / "bundle.json").exists()

    resumed = subprocess.run(
        _submit_command(suite_file, run_dir),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    after = _lines(journal)
    # nothing lost, nothing recomputed: the journal grew by exactly the missing episodes
    complete_before = [line for line in before if line.endswith(b"\n")]
    assert after[: len(complete_before)] == complete_before
    assert len(after) == total
    resumed_bundle = bundles.read(run_dir / "bundle.json")

    uninterrupted = evaluate_tiny(tmp_path / "straight", questions=10, delay=float(DELAY))
    assert resumed_bundle["hash"] == uninterrupted["hash"]
    assert resumed_bundle["episodes"] == uninterrupted["episodes"]
    assert resumed_bundle["summary"] == uninterrupted["summary"]
    traces = sorted((run_dir / "traces").rglob("*.jsonl"))
    assert len(traces) == total and not list((run_dir / "traces").rglob("*.tmp*"))


def test_a_run_folder_refuses_another_specification(tmp_path: Path) -> None:
    evaluate_tiny(tmp_path, questions=2)
    with pytest.raises(ValueError, match="different specification"):
        evaluate_tiny(tmp_path, questions=2, delay=0.001)


def test_a_second_evaluation_of_the_same_run_folder_is_refused(tmp_path: Path) -> None:
    import fcntl

    (tmp_path / "run").mkdir()
    with open(tmp_path / "run" / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running submitter holds it
        with pytest.raises(ValueError, match="another evaluation is running"):
            evaluate_tiny(tmp_path, questions=2)
    bundle = evaluate_tiny(tmp_path, questions=2)
    assert len(bundle["episodes"]) == tiny_suite(questions=2).episodes
