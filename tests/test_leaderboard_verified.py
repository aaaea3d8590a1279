"""Trust: bundles are verified only by reproduction; names and errors are unambiguous."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy")

from societygym.cli import main
from societygym.leaderboard import bundle as bundles
from societygym.leaderboard.reproduce import compare
from societygym.leaderboard.site import agent_page, build_site
from societygym.leaderboard.stats import summarize
from societygym.leaderboard.store import Store
from societygym.leaderboard.suites import Suite
from tests.test_leaderboard_support import evaluate_tiny


@pytest.fixture(scope="module")
def honest(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return evaluate_tiny(tmp_path_factory.mktemp("honest"), questions=4)


def _forged(bundle: dict) -> dict:
    """What a cheating submitter writes: every return (and value) 1, summary and hash
    recomputed with the project's own code."""
    forged = copy.deepcopy(bundle)
    forged["name"] = "cheat/forged"
    for episode in forged["episodes"]:
        episode["return"] = 1.0
        episode["value"] = 1.0
    forged["summary"] = summarize(Suite.from_dict(forged["suite"]), forged["episodes"])
    forged["hash"] = bundles.bundle_hash(forged)
    return forged


def _renamed(bundle: dict, name: str) -> dict:
    again = copy.deepcopy(bundle)
    again["name"] = name
    again["hash"] = bundles.bundle_hash(again)
    return again


def _reproduce(*args: str) -> list[str]:
    return ["leaderboard", "reproduce", *args, "--backend", "serial", "--quiet"]


def test_reproduce_verifies_and_records_who_ran_it(
    honest: dict, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("SOCIETYGYM_VERIFIER", "tests")
    db = str(tmp_path / "lb.db")
    path = bundles.write(honest, tmp_path / "honest.json")
    assert main(_reproduce(str(path), "--db", db, "--runs", str(tmp_path / "r"))) == 0
    assert "verified (exact" in capsys.readouterr().out
    store = Store(db)
    (record,) = store.verifications(honest["hash"])
    assert record["passed"] and record["rule"] == "exact" and record["mismatches"] == 0
    assert record["verifier"] == "tests" and record["societygym_version"]
    assert record["verified_at"] and record["backend"] == "serial"
    assert record["versions"] == honest["versions"]
    mine = [r for r in store.rows() if r["name"] == "tests/coin"]
    assert [r["verification"] for r in mine] == ["verified"]
    assert main(["leaderboard", "show", "--db", db, "--verified-only", "--no-shipped"]) == 0
    assert "tests/coin" in capsys.readouterr().out


def test_a_forged_bundle_is_unverified_and_reproduce_names_the_first_mismatch(
    honest: dict, tmp_path: Path, capsys
) -> None:
    db = str(tmp_path / "lb.db")
    forged = _forged(honest)
    path = bundles.write(forged, tmp_path / "forged.json")
    assert main(["leaderboard", "verify", str(path)]) == 0  # consistent, so verify passes
    assert "not reproduced" in capsys.readouterr().out
    assert main(["leaderboard", "import", "--db", db, str(path)]) == 0
    capsys.readouterr()
    (row,) = Store(db).rows()
    assert row["score"] == 1.0 and row["verification"] == "unverified"

    assert main(_reproduce(str(path), "--db", db, "--runs", str(tmp_path / "r"))) == 1
    out = capsys.readouterr().out
    first = next(e for e in honest["episodes"] if e["return"] != 1.0)
    where = f"task {first['task']!r}, seed {first['seed']}, index {first['index']}"
    assert "NOT reproduced (exact, " in out
    assert f"episode ({where}): return 1.0 in the bundle, {first['return']!r} reproduced" in out
    (row,) = [r for r in Store(db).rows() if r["name"] == "cheat/forged"]
    assert row["verification"] == "failed"
    assert main(["leaderboard", "show", "--db", db, "--no-shipped"]) == 0
    assert "cheat/forged  failed" in capsys.readouterr().out
    assert main(["leaderboard", "show", "--db", db, "--no-shipped", "--verified-only"]) == 0
    assert "cheat/forged" not in capsys.readouterr().out


def test_the_paired_rule_accepts_sampling_noise_and_rejects_a_forgery(honest: dict) -> None:
    suite = Suite.from_dict(honest["suite"])
    stated = honest["episodes"]
    assert compare(suite, stated, stated, "paired") == (True, 0, None)
    noisy = copy.deepcopy(stated)
    for a, b in zip(noisy[0:8:2], noisy[1:8:2], strict=True):  # swap values within a task
        a["value"], b["value"] = b["value"], a["value"]
    passed, differ, _ = compare(suite, stated, noisy, "paired")
    assert passed and differ > 0
    passed, _, reason = compare(suite, _forged(honest)["episodes"], stated, "paired")
    assert not passed and "mean difference" in reason


def test_colliding_names_get_two_agent_pages(honest: dict, tmp_path: Path) -> None:
    store = Store(str(tmp_path / "lb.db"))
    for name in ("a_b/c", "a/b_c"):
        store.add(_renamed(honest, name))
    build_site(store, tmp_path / "site")
    pages = sorted(p.name for p in (tmp_path / "site" / "agents").iterdir())
    assert pages == sorted([agent_page("a_b/c"), agent_page("a/b_c")]) and len(set(pages)) == 2
    assert agent_page("a_b/c") == agent_page("a_b/c")  # stable
    for name in ("a_b/c", "a/b_c"):
        page = (tmp_path / "site" / "agents" / agent_page(name)).read_text(encoding="utf-8")
        assert f"<h1>{name}</h1>" in page
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert f'href="agents/{agent_page("a_b/c")}"' in index
    assert f'href="agents/{agent_page("a/b_c")}"' in index


def test_a_nan_bundle_gets_a_one_line_error_naming_the_file(
    honest: dict, tmp_path: Path, capsys
) -> None:
    broken = copy.deepcopy(honest)
    broken["episodes"][2]["value"] = math.nan
    broken["summary"]["score"] = math.nan
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(broken), encoding="utf-8")  # json writes NaN as a bare NaN
    good = bundles.write(honest, tmp_path / "good.json")
    assert main(["leaderboard", "verify", str(good), str(path)]) == 1
    captured = capsys.readouterr()
    assert f"{good}: ok" in captured.out
    (line,) = captured.err.strip().splitlines()
    assert str(path) in line and "episodes.2.value" in line and "NaN" in line
    e = honest["episodes"][2]
    assert f"(task {e['task']!r}, seed {e['seed']}, index {e['index']})" in line
    assert main(["leaderboard", "import", "--db", str(tmp_path / "lb.db"), str(path)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert str(path) in line and "not a finite number" in line


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda b: b.pop("episodes"), "missing field 'episodes'"),
        (lambda b: b["episodes"][0].update(seed="0"), "field 'seed' has type str"),
        (lambda b: b.update(versions={"envs": {}}), "field 'versions' must hold"),
        (lambda b: b["summary"].update(score=2.0), "the summary is not the one"),
    ],
)
def test_every_rejection_names_the_file_and_the_reason_in_one_line(
    honest: dict, tmp_path: Path, capsys, edit, reason: str
) -> None:
    broken = copy.deepcopy(honest)
    edit(broken)
    broken["hash"] = bundles.bundle_hash(broken)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    assert main(["leaderboard", "import", "--db", str(tmp_path / "lb.db"), str(path)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"societygym: error: {path}: ") and reason in line


def test_the_shipped_verifications_hold_on_a_fresh_board(tmp_path: Path) -> None:
    """The shipped rows say which baselines were reproduced; CI reproduces them again (the
    cheap ones: seconds). The expensive ones (hours of CPU) are shown unverified."""
    from societygym.leaderboard.baselines import board_coverage, shipped_bundles
    from societygym.leaderboard.reproduce import reproduce
    from societygym.leaderboard.store import SHIPPED, VERIFICATIONS, open_board

    store = open_board(str(tmp_path / "fresh.db"))
    records = store.verifications()
    assert len(records) == len((SHIPPED / VERIFICATIONS).read_text().splitlines()) > 0
    rows = {r["hash"]: r for r in store.rows()}
    # an expensive baseline not yet re-run under a suite's new version has no bundle there
    expensive = {
        c.bundle
        for c in board_coverage(shipped_bundles())
        if c.baseline.expensive and c.bundle is not None
    }
    for record in records:
        assert record["passed"] and record["bundle_hash"] not in expensive
        assert rows[record["bundle_hash"]]["verification"] == "verified"
        again = reproduce(
            store.get(record["bundle_hash"]),
            tmp_path / record["bundle_hash"][7:19],
            backend="serial",
            progress=False,
        )
        assert again.passed, again.first_mismatch
    assert all(rows[h]["verification"] == "unverified" for h in expensive)
