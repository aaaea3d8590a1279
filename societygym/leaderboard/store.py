"""The results database: SQLite by default, any SQLAlchemy URL (PostgreSQL) for a shared board.

Rows are append-only. A bundle is keyed by its content hash, so storing the same bundle
twice is a no-op and no submission can replace another's rows; on SQLite and PostgreSQL
triggers refuse UPDATE and DELETE outright. The schema is versioned (``schema_version``)
and migrated forward on open, under the database's write lock so that concurrent openers
migrate once.

SQLite runs in WAL mode (readers never block the writer) with a long busy timeout, and every
write transaction starts with ``BEGIN IMMEDIATE``: it takes the write lock up front, so
concurrent submitters queue instead of failing on a read-to-write lock upgrade.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from societygym.leaderboard.bundle import BundleError, check_name, validate

BUSY_TIMEOUT_S = 60.0
T = TypeVar("T")


def default_url() -> str:
    """``$SOCIETYGYM_LEADERBOARD_DB`` (a URL or a file path), else a file in the user's data
    folder."""
    configured = os.environ.get("SOCIETYGYM_LEADERBOARD_DB")
    if configured:
        return configured
    import platformdirs

    return str(Path(platformdirs.user_data_dir("societygym")) / "leaderboard.db")


def as_url(target: str) -> str:
    """A SQLAlchemy URL from a URL or a path to an SQLite file."""
    return target if "://" in target else f"sqlite:///{Path(target).expanduser()}"


def _require_sqlalchemy() -> Any:
    try:
        import sqlalchemy
    except ImportError as error:  # pragma: no cover - the leaderboard extra installs it
        raise ValueError("the results store needs `pip install societygym[leaderboard]`") from error
    return sqlalchemy


# --- schema and migrations -------------------------------------------------------------------


def _tables(sa: Any) -> tuple[Any, Any, Any]:
    metadata = sa.MetaData()
    versions = sa.Table(
        "schema_version",
        metadata,
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("applied_at", sa.String(40), nullable=False),
    )
    bundles = sa.Table(
        "bundles",
        metadata,
        sa.Column("hash", sa.String(80), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("team", sa.String(100), nullable=False),
        sa.Column("agent", sa.String(100), nullable=False),
        sa.Column("suite", sa.String(100), nullable=False),
        sa.Column("suite_version", sa.Integer, nullable=False),
        sa.Column("suite_hash", sa.String(80), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("ci_low", sa.Float, nullable=False),
        sa.Column("ci_high", sa.Float, nullable=False),
        sa.Column("episodes", sa.Integer, nullable=False),
        sa.Column("seeds", sa.Integer, nullable=False),
        sa.Column("societygym_version", sa.String(40), nullable=False),
        sa.Column("git_sha", sa.String(64)),
        sa.Column("created_at", sa.String(40)),
        sa.Column("stored_at", sa.String(40), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Index("ix_bundles_suite_score", "suite", "suite_version", "score"),
        sa.Index("ix_bundles_name", "name"),
    )
    episodes = sa.Table(
        "episodes",
        metadata,
        sa.Column("bundle_hash", sa.String(80), sa.ForeignKey("bundles.hash"), primary_key=True),
        sa.Column("task", sa.String(200), primary_key=True),
        sa.Column("seed", sa.Integer, primary_key=True),
        sa.Column("idx", sa.Integer, primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("total_return", sa.Float, nullable=False),
        sa.Column("length", sa.Integer, nullable=False),
        sa.Index("ix_episodes_task", "task", "seed", "idx"),
    )
    return versions, bundles, episodes


def _migration_tables(conn: Any, sa: Any, tables: tuple[Any, ...]) -> None:
    tables[0].metadata.create_all(conn, tables=list(tables[1:]))


def _migration_append_only(conn: Any, sa: Any, tables: tuple[Any, ...]) -> None:
    dialect = conn.dialect.name
    for table in ("bundles", "episodes"):
        if dialect == "sqlite":
            for event in ("UPDATE", "DELETE"):
                conn.exec_driver_sql(
                    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{event.lower()} BEFORE {event} "
                    f"ON {table} BEGIN SELECT RAISE(ABORT, 'leaderboard rows are append-only'); END"
                )
        elif dialect == "postgresql":
            conn.exec_driver_sql(
                "CREATE OR REPLACE FUNCTION societygym_append_only() RETURNS trigger AS $$ "
                "BEGIN RAISE EXCEPTION 'leaderboard rows are append-only'; END; $$ "
                "LANGUAGE plpgsql"
            )
            conn.exec_driver_sql(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION societygym_append_only()"
            )


MIGRATIONS: tuple[tuple[int, str, Callable[..., None]], ...] = (
    (1, "bundles and episodes tables, with indices", _migration_tables),
    (2, "append-only triggers", _migration_append_only),
)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class Store:
    """A leaderboard database. ``Store()`` opens the default SQLite file."""

    def __init__(self, url: str | None = None) -> None:
        sa = self._sa = _require_sqlalchemy()
        self.url = as_url(url or default_url())
        if self.url.startswith("sqlite:///"):
            Path(self.url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(self.url, future=True)
        if self.engine.dialect.name == "sqlite":
            self._configure_sqlite()
        self._versions, self.bundles, self.episodes = _tables(sa)
        self.migrate()

    def _configure_sqlite(self) -> None:
        sa = self._sa

        @sa.event.listens_for(self.engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")  # durable at WAL checkpoints
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.close()

        @sa.event.listens_for(self.engine, "begin")
        def _begin(conn: Any) -> None:
            # writers take the lock up front; readers start deferred and never block
            writes = conn.get_execution_options().get("societygym_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

    def _write(self, work: Callable[[Any], T]) -> T:
        """Run ``work(conn)`` in one write transaction, retried if the lock wait ran out."""
        sa = self._sa
        engine = self.engine.execution_options(societygym_write=True)
        for attempt in range(8):
            try:
                with engine.begin() as conn:
                    if conn.dialect.name == "postgresql":
                        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4242)")
                    return work(conn)
            except sa.exc.OperationalError as error:
                if "locked" not in str(error).lower() or attempt == 7:
                    raise
                time.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    def migrate(self) -> int:
        """Apply every migration not yet applied; the schema version after."""
        sa = self._sa
        tables = (self._versions, self.bundles, self.episodes)

        def work(conn: Any) -> None:
            self._versions.create(conn, checkfirst=True)
            applied = {row[0] for row in conn.execute(sa.select(self._versions.c.version))}
            for version, _description, step in MIGRATIONS:
                if version not in applied:
                    step(conn, sa, tables)
                    conn.execute(self._versions.insert().values(version=version, applied_at=_now()))

        self._write(work)
        return self.schema_version()

    def schema_version(self) -> int:
        sa = self._sa
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(self._versions.c.version))).scalar() or 0)

    # --- writing ------------------------------------------------------------------------------

    def add(self, bundle: Mapping[str, Any]) -> bool:
        """Validate and store a bundle; False when that exact bundle is already stored."""
        sa = self._sa
        suite = validate(dict(bundle))
        team, agent = check_name(bundle["name"])
        summary = bundle["summary"]
        row = {
            "hash": bundle["hash"],
            "name": bundle["name"],
            "team": team,
            "agent": agent,
            "suite": suite.name,
            "suite_version": suite.version,
            "suite_hash": suite.spec_hash,
            "score": summary["score"],
            "ci_low": summary["ci95"][0],
            "ci_high": summary["ci95"][1],
            "episodes": summary["episodes"],
            "seeds": len(summary["seeds"]),
            "societygym_version": bundle["software"].get("societygym", "?"),
            "git_sha": bundle["software"].get("git_sha"),
            "created_at": bundle.get("run", {}).get("created_at"),
            "stored_at": _now(),
            "body": json.dumps(bundle, sort_keys=True, ensure_ascii=False),
        }
        episodes = [
            {
                "bundle_hash": bundle["hash"],
                "task": e["task"],
                "seed": e["seed"],
                "idx": e["index"],
                "value": e["value"],
                "total_return": e["return"],
                "length": e["length"],
            }
            for e in bundle["episodes"]
        ]

        def work(conn: Any) -> bool:
            exists = conn.execute(
                sa.select(self.bundles.c.hash).where(self.bundles.c.hash == bundle["hash"])
            ).first()
            if exists:
                return False
            conn.execute(self.bundles.insert(), [row])
            conn.execute(self.episodes.insert(), episodes)
            return True

        return self._write(work)

    def add_files(self, paths: Iterable[str | Path]) -> tuple[int, int]:
        """Import bundle files; ``(added, already stored)``. A bad file raises BundleError."""
        from societygym.leaderboard.bundle import read

        added = skipped = 0
        for path in paths:
            if self.add(read(path)):
                added += 1
            else:
                skipped += 1
        return added, skipped

    # --- reading ------------------------------------------------------------------------------

    def rows(self, suite: str | None = None) -> list[dict[str, Any]]:
        """Every stored bundle's row (without its body), best score first per suite."""
        sa = self._sa
        columns = [c for c in self.bundles.c if c.name != "body"]
        query = sa.select(*columns).order_by(
            self.bundles.c.suite, self.bundles.c.score.desc(), self.bundles.c.name
        )
        if suite is not None:
            query = query.where(self.bundles.c.suite == suite)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def get(self, bundle_hash: str) -> dict[str, Any]:
        sa = self._sa
        with self.engine.connect() as conn:
            body = conn.execute(
                sa.select(self.bundles.c.body).where(self.bundles.c.hash == bundle_hash)
            ).scalar()
        if body is None:
            raise KeyError(f"no bundle {bundle_hash}")
        return json.loads(body)

    def count(self) -> tuple[int, int]:
        """``(bundles, episode rows)``."""
        sa = self._sa
        with self.engine.connect() as conn:
            n_bundles = conn.execute(sa.select(sa.func.count()).select_from(self.bundles)).scalar()
            n_rows = conn.execute(sa.select(sa.func.count()).select_from(self.episodes)).scalar()
        return int(n_bundles or 0), int(n_rows or 0)

    def export(self, folder: str | Path, suite: str | None = None) -> list[Path]:
        """Write every bundle as ``<hash>.json``: the files a pull request adds to a board."""
        from societygym.leaderboard.bundle import write

        out = Path(folder)
        return [write(self.get(r["hash"]), out / file_name(r["hash"])) for r in self.rows(suite)]

    def close(self) -> None:
        self.engine.dispose()


def file_name(bundle_hash: str) -> str:
    return bundle_hash.split(":")[-1][:16] + ".json"


SHIPPED = Path(__file__).parent / "board"


def open_board(url: str | None = None, shipped: bool = True) -> Store:
    """The store, with the bundles shipped in the package (the baselines) imported into it.
    A shipped bundle that no longer validates (its suite changed without a new version) is
    left out with a warning rather than taking the whole board down."""
    import warnings

    store = Store(url)
    for path in sorted(SHIPPED.glob("*.json")) if shipped else []:
        try:
            store.add_files([path])
        except BundleError as error:
            warnings.warn(f"shipped bundle left out: {error}", stacklevel=2)
    return store
