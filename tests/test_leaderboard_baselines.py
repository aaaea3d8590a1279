"""The built-in baselines and the shipped board that scores them."""

from __future__ import annotations

from pathlib import Path

from societygym.leaderboard.baselines import (
    BASELINES,
    board_coverage,
    run_baselines,
    shipped_bundles,
)
from societygym.leaderboard.suites import SUITES


def test_every_baseline_names_registered_suites() -> None:
    pairs = [(b.name, s) for b in BASELINES for s in b.suites]
    assert len(pairs) == len(set(pairs)), "a baseline is listed twice for a suite"
    assert {s for _, s in pairs} <= set(SUITES)


def test_every_cheap_baseline_is_on_the_shipped_board() -> None:
    missing = [
        (c.baseline.name, c.suite)
        for c in board_coverage(shipped_bundles())
        if not c.baseline.expensive and c.bundle is None
    ]
    assert missing == [], "regenerate these with `societygym leaderboard baselines`"


def test_every_shipped_bundle_scores_a_baseline_under_its_current_suite() -> None:
    """A bundle of an older suite version, or of an agent no longer listed, is stale."""
    covered = {c.bundle for c in board_coverage(shipped_bundles())}
    stale = [
        f"{b['name']} on {b['suite']['name']}"
        for b in shipped_bundles()
        if b["hash"] not in covered
    ]
    assert stale == []


def test_a_baseline_rerun_reproduces_its_shipped_score(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    shipped = {
        c.suite: c.bundle
        for c in board_coverage(shipped_bundles())
        if c.baseline.name.endswith("always-accept")
    }
    (bundle,) = run_baselines(
        ["trivia-listener"],
        ["always-accept"],
        tmp_path / "out",
        db=str(tmp_path / "lb.sqlite"),
        backend="serial",
        progress=False,
    )
    assert bundle["name"] == "baselines/always-accept"
    assert len(list((tmp_path / "out").glob("*.json"))) == 1
    original = next(b for b in shipped_bundles() if b["hash"] == shipped["trivia-listener"])
    assert bundle["summary"]["score"] == original["summary"]["score"]
    assert [e["value"] for e in bundle["episodes"]] == [e["value"] for e in original["episodes"]]
    # the shipped board holds it, so a run of the missing pairs has nothing to do there
    again = run_baselines(["trivia-listener"], ["always-accept"], missing_only=True, progress=False)
    assert list(again) == []


def test_status_lists_every_pair_with_its_shipped_bundle(capsys) -> None:
    from societygym.cli import main

    assert main(["leaderboard", "baselines", "--status"]) == 0
    lines = capsys.readouterr().out.splitlines()[2:]
    coverage = board_coverage(shipped_bundles())
    assert len(lines) == len(coverage)
    for line, pair in zip(lines, coverage, strict=True):
        assert line.split()[:2] == [pair.baseline.name, pair.suite]
        expected = pair.bundle.split(":")[-1][:16] if pair.bundle else "missing"
        assert line.split()[-1] == expected


def test_the_regal_baseline_plays_every_programs_task_from_any_checkout(
    tmp_path: Path, monkeypatch
) -> None:
    """Its banks ship in the package, so the spec needs no local files."""
    from societygym.agents.regal import ReGALAgent
    from tests.test_regal_baseline import ReferenceLLM

    monkeypatch.chdir(tmp_path)
    (regal,) = [b for b in BASELINES if b.name == "baselines/regal"]
    for task in SUITES["programs"].tasks:
        agent = ReGALAgent(**{**regal.args, "llm": ReferenceLLM({})})
        agent.bind(task.env_id, None, None)
        assert agent.bank.domain == agent.domain.name


def test_a_checkpoint_baseline_without_its_checkpoint_is_skipped_with_the_command(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)  # no runs/ here: the LACIE checkpoint is absent
    lacie = next(b for b in BASELINES if b.checkpoint)
    assert "effect_lacie.py" in lacie.missing_checkpoint()
    ran = run_baselines(
        list(lacie.suites), [lacie.name], db=str(tmp_path / "lb.sqlite"), include_expensive=True
    )
    assert list(ran) == []
    assert f"skipped {lacie.name}" in capsys.readouterr().err
    (tmp_path / lacie.checkpoint).mkdir(parents=True)
    assert lacie.missing_checkpoint() == ""
