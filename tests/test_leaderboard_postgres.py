"""The results store on a real PostgreSQL server: migrations, append-only triggers and
concurrent writers. Runs where ``SOCIETYGYM_TEST_POSTGRES_URL`` names a server (``.ci/run``
starts one); each test gets a fresh database on it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

URL = os.environ.get("SOCIETYGYM_TEST_POSTGRES_URL")
if not URL:
    pytest.skip("no PostgreSQL server: set SOCIETYGYM_TEST_POSTGRES_URL", allow_module_level=True)
sqlalchemy = pytest.importorskip("sqlalchemy")
pytest.importorskip("psycopg")

from societygym.leaderboard.store import MIGRATIONS, Store  # noqa: E402
from tests.test_leaderboard_store import assert_concurrent_writers_lose_nothing  # noqa: E402
from tests.test_leaderboard_store import base_bundle as base_bundle  # noqa: E402


@pytest.fixture
def pg_url() -> Iterator[str]:
    name = f"societygym_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    url = sqlalchemy.engine.make_url(URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def test_postgres_store_is_migrated_and_append_only(pg_url: str, base_bundle: dict) -> None:
    store = Store(pg_url)
    assert store.schema_version() == MIGRATIONS[-1][0]
    assert Store(pg_url).schema_version() == MIGRATIONS[-1][0]
    assert store.add(base_bundle) is True
    assert store.add(base_bundle) is False
    for statement in ("UPDATE bundles SET score = 1.0", "DELETE FROM episodes"):
        with (
            pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"),
            store.engine.begin() as conn,
        ):
            conn.exec_driver_sql(statement)
    assert store.get(base_bundle["hash"])["summary"] == base_bundle["summary"]


def test_postgres_concurrent_writers_lose_nothing(pg_url: str, base_bundle: dict) -> None:
    Store(pg_url).close()  # migrated once before the race, as a shared board would be
    assert_concurrent_writers_lose_nothing(pg_url, base_bundle)
