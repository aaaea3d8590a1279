"""Code versions: declared per env, reward preset and scorer; a behaviour change without a
bump fails here; a bump marks bundles stale and ``rescore --stale`` brings them back."""

from __future__ import annotations

from pathlib import Path

import pytest

from societygym.leaderboard import versions
from societygym.leaderboard.baselines import shipped_bundles
from societygym.leaderboard.suites import Suite, Task

TEACHING = [e for e in versions.suite_envs() if e.startswith("DataEnv-")]
TEXT = [e for e in versions.suite_envs() if not e.startswith("DataEnv-")]
HOW = "append the new fingerprint to its line in societygym/leaderboard/versions.py"


def _check(table: dict[str, tuple[str | None, ...]], name: str, now: str) -> None:
    prints = table[name]
    if prints[-1] is None:
        pytest.skip(f"{name} v{len(prints)} is not measured yet: record {now} on its line")
    assert now == prints[-1], (
        f"{name} behaves differently from its version {len(prints)} (fingerprint {now}, "
        f"declared {prints[-1]}): if the change is meant, bump the version: {HOW}"
    )


def test_every_env_a_suite_plays_declares_a_version() -> None:
    assert set(versions.suite_envs()) <= set(versions.ENVS)
    for table in (versions.ENVS, versions.REWARDS, versions.SCORERS):
        for name, prints in table.items():
            measured = [p for p in prints if p is not None]
            assert prints and len(set(measured)) == len(measured), f"{name}: a repeated one"


def test_the_scorer_behaves_as_its_version_says() -> None:
    for name in versions.SCORERS:
        _check(versions.SCORERS, name, versions.fingerprint_scorer(name))


@pytest.mark.parametrize("env_id", TEXT)
def test_each_text_env_behaves_as_its_version_says(env_id: str) -> None:
    _check(versions.ENVS, env_id, versions.fingerprint_env(env_id))


@pytest.mark.parametrize("key", sorted(versions.REWARDS))
def test_each_reward_preset_behaves_as_its_version_says(key: str) -> None:
    _check(versions.REWARDS, key, versions.fingerprint_reward(key))


@pytest.mark.slow
@pytest.mark.parametrize("env_id", TEACHING)
def test_each_teaching_env_behaves_as_its_version_says(env_id: str) -> None:
    if versions.ENVS[env_id][-1] is None:  # measuring takes minutes: skip before, not after
        pytest.skip(f"{env_id} is not measured yet: `python -m societygym.leaderboard.versions`")
    _check(versions.ENVS, env_id, versions.fingerprint_env(env_id))


def test_bundles_made_before_versions_count_as_the_initial_version(monkeypatch) -> None:
    """Introducing versions did not make the shipped board stale: a bundle without recorded
    versions is stale only once an entry of its suite is bumped past version 1."""
    initial = {name: prints[:1] for name, prints in versions.ENVS.items()}
    monkeypatch.setattr(versions, "ENVS", initial)
    monkeypatch.setattr(versions, "SCORERS", {n: p[:1] for n, p in versions.SCORERS.items()})
    # the bundles made before versions existed (later ones record theirs)
    shipped = [b for b in shipped_bundles() if "versions" not in b]
    assert shipped, "the shipped board holds no bundle made before versions"
    for bundle in shipped:
        assert versions.changes(bundle, Suite.from_dict(bundle["suite"])) == []
    bumped = {**initial, "Trivia-Listener-v0": (*initial["Trivia-Listener-v0"], "next")}
    monkeypatch.setattr(versions, "ENVS", bumped)
    stale = {
        b["suite"]["name"] for b in shipped if versions.changes(b, Suite.from_dict(b["suite"]))
    }
    assert stale == {"trivia-listener"}


def test_a_reward_preset_is_part_of_the_key(monkeypatch) -> None:
    task = Task("t", "Trivia-Calibration-v0", (0,), env_kwargs={"reward": "net"})
    suite = Suite("s", 1, "", (task,))
    assert versions.current(suite)["rewards"] == {"Trivia-Calibration-v0:net": 1}
    monkeypatch.setitem(versions.REWARDS, "Trivia-Calibration-v0:net", ("a", "b"))
    assert "reward Trivia-Calibration-v0:net 1->2" in versions.changes({}, suite)


def test_a_version_bump_marks_entries_stale_and_rescore_brings_them_back(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    pytest.importorskip("sqlalchemy")
    from societygym.cli import main
    from societygym.leaderboard.store import Store
    from tests.test_leaderboard_support import evaluate_tiny

    db = str(tmp_path / "lb.db")
    first = evaluate_tiny(tmp_path / "first", questions=3)
    assert first["versions"]["envs"]["Trivia-Calibration-v0"] == versions.version(
        versions.ENVS, "Trivia-Calibration-v0"
    )
    store = Store(db)
    store.add(first)
    assert [r["stale"] for r in store.rows()] == [[]]

    declared = versions.ENVS["Trivia-Calibration-v0"]
    monkeypatch.setitem(versions.ENVS, "Trivia-Calibration-v0", (*declared, "bumped"))
    (row,) = store.rows()
    now = len(declared) + 1
    assert row["stale"] == [f"env Trivia-Calibration-v0 {now - 1}->{now}"]
    assert main(["leaderboard", "show", "--db", db, "--no-shipped"]) == 0
    assert "unverified, stale" in capsys.readouterr().out

    args = ["leaderboard", "rescore", "--stale", "--db", db, "--no-shipped"]
    args += ["--runs", str(tmp_path / "runs"), "--backend", "serial", "--quiet"]
    assert main(args) == 0
    assert "1 stale entry re-scored" in capsys.readouterr().out
    rows = Store(db).rows()
    assert len(rows) == 2, "the old row is kept"
    fresh = next(r for r in rows if not r["stale"])
    old = next(r for r in rows if r["stale"])
    assert old["hash"] == first["hash"]
    assert Store(db).get(fresh["hash"])["versions"]["envs"]["Trivia-Calibration-v0"] == now
    # nothing left to do: a second (or resumed) rescore finds every entry current
    assert main(args) == 0
    assert "0 stale entries re-scored" in capsys.readouterr().out
    from societygym.leaderboard.board import ranked

    (table,) = ranked(rows).values()
    assert [r["hash"] for r in table] == [fresh["hash"]]  # the current bundle ranks
