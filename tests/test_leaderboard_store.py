"""The results database: schema and migrations, append-only rows, concurrent writers,
import/export between boards, and the CLI on top."""

from __future__ import annotations

import copy
import multiprocessing
import sqlite3
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy")

from societygym.leaderboard import bundle as bundles
from societygym.leaderboard.evaluate import mp_context
from societygym.leaderboard.store import MIGRATIONS, Store
from tests.test_leaderboard_support import AGENT, evaluate_tiny, tiny_suite, write_suite

WRITERS = 8
PER_WRITER = 6


@pytest.fixture(scope="module")
def base_bundle(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return evaluate_tiny(tmp_path_factory.mktemp("store"), questions=3)


def renamed(bundle: dict, name: str) -> dict:
    """A distinct valid bundle: same results under another name (so another hash)."""
    other = copy.deepcopy(bundle)
    other["name"] = name
    other["hash"] = bundles.bundle_hash(other)
    return other


def test_schema_is_migrated_once_with_indices_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "board.db"
    store = Store(str(path))
    assert store.schema_version() == MIGRATIONS[-1][0]
    assert Store(f"sqlite:///{path}").schema_version() == MIGRATIONS[-1][0]  # idempotent
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_version")]
        indices = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert versions == [v for v, _, _ in MIGRATIONS]
    assert {"ix_bundles_suite_score", "ix_bundles_name", "ix_episodes_task"} <= indices


def test_rows_are_append_only_and_adding_twice_is_a_no_op(
    tmp_path: Path, base_bundle: dict
) -> None:
    path = tmp_path / "board.db"
    store = Store(str(path))
    assert store.add(base_bundle) is True
    assert store.add(base_bundle) is False
    assert store.count() == (1, len(base_bundle["episodes"]))
    assert store.get(base_bundle["hash"])["episodes"] == base_bundle["episodes"]
    with sqlite3.connect(path) as conn:
        for statement in (
            "UPDATE bundles SET score = 1.0",
            "DELETE FROM bundles",
            "UPDATE episodes SET value = 1.0",
            "DELETE FROM episodes",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(statement)
    assert store.rows()[0]["score"] == base_bundle["summary"]["score"]


def test_a_tampered_bundle_is_not_stored(tmp_path: Path, base_bundle: dict) -> None:
    store = Store(str(tmp_path / "board.db"))
    tampered = copy.deepcopy(base_bundle)
    tampered["summary"]["score"] = 1.0
    with pytest.raises(bundles.TamperedBundle, match="content hash mismatch"):
        store.add(tampered)
    assert store.count() == (0, 0)


def _writer(url: str, bundle: dict, writer: int, barrier: multiprocessing.Barrier) -> None:
    store = Store(url)
    barrier.wait()
    for k in range(PER_WRITER):
        store.add(renamed(bundle, f"writer{writer}/bundle{k}"))
    store.add(bundle)  # every writer also races to add the same bundle


def assert_concurrent_writers_lose_nothing(url: str, bundle: dict) -> None:
    """8 real processes add their own bundles and race on a shared one; count the rows."""
    context = mp_context()
    barrier = context.Barrier(WRITERS)
    workers = [
        context.Process(target=_writer, args=(url, bundle, w, barrier)) for w in range(WRITERS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0] * WRITERS
    expected = WRITERS * PER_WRITER + 1
    assert Store(url).count() == (expected, expected * len(bundle["episodes"]))
    assert len({r["name"] for r in Store(url).rows()}) == expected


def test_eight_concurrent_writers_lose_nothing(tmp_path: Path, base_bundle: dict) -> None:
    assert_concurrent_writers_lose_nothing(str(tmp_path / "shared.db"), base_bundle)


def test_boards_merge_through_exported_files(tmp_path: Path, base_bundle: dict) -> None:
    first, second = Store(str(tmp_path / "a.db")), Store(str(tmp_path / "b.db"))
    first.add(base_bundle)
    second.add(renamed(base_bundle, "other/agent"))
    files = first.export(tmp_path / "exported")
    assert second.add_files(files) == (1, 0)
    assert second.add_files(files) == (0, 1)
    assert {r["name"] for r in second.rows()} == {"tests/coin", "other/agent"}


def test_cli_submit_show_import_export(tmp_path: Path, capsys) -> None:
    from societygym.cli import main

    db = str(tmp_path / "cli.db")
    suite = write_suite(tmp_path, tiny_suite(questions=2))
    assert (
        main(
            [
                "leaderboard",
                "submit",
                "--agent",
                AGENT,
                "--suite",
                str(suite),
                "--name",
                "team/coin",
                "--db",
                db,
                "--runs",
                str(tmp_path / "runs"),
                "--backend",
                "serial",
                "--quiet",
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert "SCORE" in captured.out and "bundle sha256:" in captured.out
    assert f"leaderboard database: {db}\n" in captured.err  # where the bundle went
    assert main(["leaderboard", "show", "--db", db, "--no-shipped"]) == 0
    captured = capsys.readouterr()
    assert "== tiny v1 ==" in captured.out and "team/coin" in captured.out
    assert captured.err.count("leaderboard database:") == 1
    assert main(["leaderboard", "export", "--db", db, "--out", str(tmp_path / "ex")]) == 0
    exported = sorted((tmp_path / "ex").glob("*.json"))
    assert len(exported) == 1
    assert (
        main(["leaderboard", "import", "--db", str(tmp_path / "other.db"), str(exported[0])]) == 0
    )
    assert "1 bundle(s) added" in capsys.readouterr().out
    assert main(["leaderboard", "verify", str(exported[0])]) == 0


def test_database_display_hides_passwords_and_defaults_to_the_data_folder(monkeypatch) -> None:
    from societygym.leaderboard.store import display_url

    assert display_url("postgresql://me:secret@db.example/board") == (
        "postgresql://me:***@db.example/board"
    )
    monkeypatch.setenv("SOCIETYGYM_LEADERBOARD_DB", "/tmp/board.db")
    assert display_url(None) == "/tmp/board.db"


def test_site_and_serve_default_to_the_same_folder() -> None:
    import argparse

    from societygym.leaderboard.commands import add_parser

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    site = parser.parse_args(["leaderboard", "site"]).out
    assert site == parser.parse_args(["leaderboard", "serve"]).out
