"""The shared progress bars: quiet switches, bars that move inside a batched LLM call, and
the episode bar's step count."""

from __future__ import annotations

import pytest

from societygym import progress


def test_quiet_flag_and_environment_switch_bars_off(monkeypatch) -> None:
    monkeypatch.delenv(progress.QUIET_ENV, raising=False)
    assert not progress.bar(3, "x").disable
    assert progress.bar(3, "x", quiet=True).disable
    monkeypatch.setenv(progress.QUIET_ENV, "1")
    assert progress.bar(3, "x").disable


def test_advance_to_only_moves_forward(monkeypatch) -> None:
    monkeypatch.delenv(progress.QUIET_ENV, raising=False)
    bar = progress.bar(10, "x")
    bar.update(4)
    progress.advance_to(bar, 3)
    assert bar.n == 4
    progress.advance_to(bar, 7)
    assert bar.n == 7


def test_run_bar_counts_steps_between_episodes(capsys, monkeypatch) -> None:
    from societygym.runner import run_episodes

    monkeypatch.delenv(progress.QUIET_ENV, raising=False)

    class Crafter:
        def act(self, observation, info):
            return "inventory"

    summary = run_episodes("TextCraft-v0", Crafter(), episodes=2, progress=True)
    stderr = capsys.readouterr().err
    steps = sum(summary.lengths)
    assert steps > 2 and f"{steps} steps" in stderr and "2/2" in stderr


@pytest.mark.parametrize("quiet", [True, False])
def test_collect_rollouts_bar_follows_progress(capsys, monkeypatch, quiet) -> None:
    from societygym.agents.simple import RandomAgent
    from societygym.rollouts import collect_rollouts

    monkeypatch.delenv(progress.QUIET_ENV, raising=False)
    collect_rollouts("Trivia-Calibration-v0", RandomAgent(), episodes=2, progress=not quiet)
    assert ("2/2" in capsys.readouterr().err) is not quiet
