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


def test_stage_bars_show_only_inside_show_stages_and_pass_generations_on(monkeypatch) -> None:
    monkeypatch.delenv(progress.QUIET_ENV, raising=False)
    heard: list[int] = []
    shown_while_open = []  # a closed tqdm bar reads as disabled
    with progress.count_generations(heard.append):
        with progress.stage(3, "hidden") as bar:
            progress.generated(2)
            shown_while_open.append(not bar.disable)
        with progress.show_stages(), progress.stage(3, "shown") as bar:
            progress.generated(3)
            shown_while_open.append(not bar.disable)
        with progress.show_stages(False), progress.stage(3, "off") as bar:
            shown_while_open.append(not bar.disable)
        monkeypatch.setenv(progress.QUIET_ENV, "1")
        with progress.show_stages(), progress.stage(3, "quiet") as bar:
            shown_while_open.append(not bar.disable)
    assert shown_while_open == [False, True, False, False]
    assert heard == [2, 3]  # the outer callback still hears every finished row


def _teaching_run(monkeypatch, show: bool, out_dir=None):
    """A quick teaching run (a memorizing student: no model to load); returns its summary and
    every bar made, by description."""
    from societygym.agents import load_agent
    from societygym.envs.dataenv.students.memorizer import MemorizingStudent
    from societygym.runner import run_episodes

    bars: list = []
    real_bar = progress.bar

    def spy(total, desc, *args, **kwargs):
        bar = real_bar(total, desc, *args, **kwargs)
        bar.label, bar.shown = desc, not bar.disable  # closing a bar disables it
        bars.append(bar)
        return bar

    monkeypatch.setattr(progress, "bar", spy)
    summary = run_episodes(
        "DataEnv-Math-SkillList-v0",
        load_agent("skill-list-teacher", examples_per_step=10),
        episodes=1,
        env_kwargs={"student": MemorizingStudent(), "max_iterations": 2, "val_per_skill": 2},
        progress=show,
        out_dir=out_dir,
    )
    return summary, bars


def test_teaching_run_shows_answering_bars_and_a_panel_per_skill(monkeypatch, tmp_path) -> None:
    """The bars of the student's answers fill (the training bar: test_dataenv_trainer), are
    hidden under --quiet, change no result; the figure gets one panel per skill."""
    from societygym.envs.dataenv import learning_curve

    monkeypatch.delenv(progress.QUIET_ENV, raising=False)
    figures: list[dict] = []
    real_save = learning_curve.save_learning_curves
    monkeypatch.setattr(
        learning_curve,
        "save_learning_curves",
        lambda curves, path, title="", skills=None: (
            figures.append(skills) or real_save(curves, path, skills=skills)
        ),
    )
    shown, bars = _teaching_run(monkeypatch, True, tmp_path)
    answering = [b for b in bars if b.label == "student answering"]
    assert len(answering) == 4  # reset, 2 steps, the test split
    assert all(b.shown and b.n == b.total > 0 for b in answering)
    quiet, quiet_bars = _teaching_run(monkeypatch, False)
    assert not any(b.shown for b in quiet_bars)
    info, quiet_info = shown.final_infos[0], quiet.final_infos[0]
    assert shown.returns == quiet.returns
    assert (info["history"], info["test"]) == (quiet_info["history"], quiet_info["test"])
    [skills] = figures
    assert set(skills) == set(info["validation"]["per_skill"]) and len(skills) > 1
    assert all(len(runs["episodes"][0]) == len(info["history"]) == 3 for runs in skills.values())
    # the memorizer recalls its training answers: some skill's panel rises
    assert any(runs["episodes"][0][-1] > runs["episodes"][0][0] for runs in skills.values())
    assert (tmp_path / "learning_curve.png").stat().st_size > 0
