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

from societygym.leaderboard.bundle import BundleError, check_name, one_line, validate
from societygym.leaderboard.hashing import canonical_json, content_hash

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


def _tables(sa: Any) -> tuple[Any, Any, Any, Any]:
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
        # the code versions it was made under (JSON); NULL: made before versions, all initial
        sa.Column("versions", sa.Text),
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
    # one row per reproduction attempt of a bundle (see ``reproduce.py``); ``id`` is the
    # content hash of the row, so importing the same record twice is a no-op
    verifications = sa.Table(
        "verifications",
        metadata,
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("bundle_hash", sa.String(80), sa.ForeignKey("bundles.hash"), nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("rule", sa.String(40), nullable=False),
        sa.Column("episodes", sa.Integer, nullable=False),
        sa.Column("mismatches", sa.Integer, nullable=False),
        sa.Column("first_mismatch", sa.Text),
        sa.Column("score", sa.Float),
        sa.Column("verifier", sa.String(200), nullable=False),
        sa.Column("societygym_version", sa.String(40), nullable=False),
        sa.Column("git_sha", sa.String(64)),
        sa.Column("backend", sa.String(20)),
        sa.Column("versions", sa.Text),
        sa.Column("verified_at", sa.String(40), nullable=False),
        sa.Index("ix_verifications_bundle", "bundle_hash"),
    )
    return versions, bundles, episodes, verifications


def _migration_tables(conn: Any, sa: Any, tables: tuple[Any, ...]) -> None:
    tables[0].metadata.create_all(conn, tables=list(tables[1:3]))


def _migration_append_only(conn: Any, sa: Any, tables: tuple[Any, ...]) -> None:
    _append_only(conn, ("bundles", "episodes"))


def _append_only(conn: Any, names: tuple[str, ...]) -> None:
    dialect = conn.dialect.name
    for table in names:
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


def _migration_verifications(conn: Any, sa: Any, tables: tuple[Any, ...]) -> None:
    # a database made before this migration lacks the column; a new one has it from step 1
    if "versions" not in {c["name"] for c in sa.inspect(conn).get_columns("bundles")}:
        conn.exec_driver_sql("ALTER TABLE bundles ADD COLUMN versions TEXT")
    tables[0].metadata.create_all(conn, tables=[tables[3]])
    _append_only(conn, ("verifications",))


MIGRATIONS: tuple[tuple[int, str, Callable[..., None]], ...] = (
    (1, "bundles and episodes tables, with indices", _migration_tables),
    (2, "append-only triggers", _migration_append_only),
    (3, "bundles.versions and the verifications table", _migration_verifications),
)


def display_url(target: str | None = None) -> str:
    """Where the database named by ``target`` (default: ``default_url()``) lives, for
    people: an SQLite file's path, any other URL with its password hidden."""
    url = as_url(target or default_url())
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///") :]
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


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
        self._versions, self.bundles, self.episodes, self.verifications_table = _tables(sa)
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
        tables = (self._versions, self.bundles, self.episodes, self.verifications_table)

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
            "versions": canonical_json(bundle["versions"]) if bundle.get("versions") else None,
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
        """Import bundle files (and ``verifications.jsonl`` files, after the bundles);
        ``(added, already stored)``. A bad file raises BundleError naming it and the reason."""
        from societygym.leaderboard.bundle import read

        added = skipped = 0
        paths = sorted((Path(p) for p in paths), key=lambda p: p.name == VERIFICATIONS)
        for path in paths:
            if path.name == VERIFICATIONS:
                records = self._read_verifications(path)
                new = sum(self.add_verification(r) for r in records)
                added, skipped = added + new, skipped + len(records) - new
            elif self.add(read(path)):
                added += 1
            else:
                skipped += 1
        return added, skipped

    def add_verification(self, record: Mapping[str, Any]) -> bool:
        """Store a reproduction attempt (``reproduce.record``); False when already stored."""
        sa = self._sa
        row = {k: record.get(k) for k in VERIFICATION_FIELDS}
        row["id"] = content_hash(row)
        row["versions"] = canonical_json(row["versions"]) if row["versions"] else None

        def work(conn: Any) -> bool:
            table = self.verifications_table
            if conn.execute(sa.select(table.c.id).where(table.c.id == row["id"])).first():
                return False
            known = sa.select(self.bundles.c.hash).where(self.bundles.c.hash == row["bundle_hash"])
            if not conn.execute(known).first():
                raise BundleError(f"a verification of {row['bundle_hash']}, which is not stored")
            conn.execute(table.insert(), [row])
            return True

        return self._write(work)

    @staticmethod
    def _read_verifications(path: Path) -> list[dict[str, Any]]:
        records = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                record = json.loads(line)
                missing = [k for k in VERIFICATION_FIELDS if k not in record]
                if missing:
                    raise ValueError(f"missing {', '.join(missing)}")
            except ValueError as error:
                raise BundleError(f"{path}:{number}: {one_line(error)}") from error
            records.append(record)
        return records

    def verifications(self, bundle_hash: str | None = None) -> list[dict[str, Any]]:
        """Reproduction attempts, oldest first (of one bundle, or all)."""
        sa = self._sa
        table = self.verifications_table
        query = sa.select(table).order_by(table.c.verified_at, table.c.id)
        if bundle_hash is not None:
            query = query.where(table.c.bundle_hash == bundle_hash)
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
        for row in rows:
            row["versions"] = json.loads(row["versions"]) if row["versions"] else None
            row["passed"] = bool(row["passed"])
        return rows

    # --- reading ------------------------------------------------------------------------------

    def rows(self, suite: str | None = None) -> list[dict[str, Any]]:
        """Every stored bundle's row (without its body), best score first per suite, with
        ``verification`` (``"verified"``: a reproduction matched; ``"failed"``: only
        mismatching ones; ``"unverified"``: none) and ``stale`` (the code versions that
        changed since it was made; empty when current)."""
        sa = self._sa
        columns = [c for c in self.bundles.c if c.name != "body"]
        query = sa.select(*columns).order_by(
            self.bundles.c.suite, self.bundles.c.score.desc(), self.bundles.c.name
        )
        if suite is not None:
            query = query.where(self.bundles.c.suite == suite)
        table = self.verifications_table
        attempts = sa.select(
            table.c.bundle_hash, sa.func.max(sa.cast(table.c.passed, sa.Integer))
        ).group_by(table.c.bundle_hash)
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
            passed = {h: bool(p) for h, p in conn.execute(attempts)}
        for row in rows:
            found = passed.get(row["hash"])
            row["verification"] = {True: "verified", False: "failed", None: "unverified"}[found]
            row["stale"] = self._stale(row)
        return rows

    def _stale(self, row: Mapping[str, Any]) -> list[str]:
        from societygym.leaderboard.suites import SUITES, Suite
        from societygym.leaderboard.versions import changes

        suite = SUITES.get(row["suite"])
        if suite is None or suite.spec_hash != row["suite_hash"]:
            suite = Suite.from_dict(self.get(row["hash"])["suite"])
        stated = json.loads(row["versions"]) if row.get("versions") else None
        return changes({"versions": stated}, suite)

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
        """Write every bundle as ``<hash>.json``, and their reproductions as
        ``verifications.jsonl``: the files a pull request adds to a board."""
        from societygym.leaderboard.bundle import write

        out = Path(folder)
        rows = self.rows(suite)
        paths = [write(self.get(r["hash"]), out / file_name(r["hash"])) for r in rows]
        hashes = {r["hash"] for r in rows}
        records = [v for v in self.verifications() if v["bundle_hash"] in hashes]
        if records:
            paths.append(write_verifications(records, out / VERIFICATIONS))
        return paths

    def close(self) -> None:
        self.engine.dispose()


VERIFICATIONS = "verifications.jsonl"
VERIFICATION_FIELDS = (
    "bundle_hash",
    "passed",
    "rule",
    "episodes",
    "mismatches",
    "first_mismatch",
    "score",
    "verifier",
    "societygym_version",
    "git_sha",
    "backend",
    "versions",
    "verified_at",
)


def write_verifications(records: Iterable[Mapping[str, Any]], path: Path) -> Path:
    """One JSON line per reproduction attempt, in a stable order (diffs stay small)."""
    lines = sorted(canonical_json({k: r.get(k) for k in VERIFICATION_FIELDS}) for r in records)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def file_name(bundle_hash: str) -> str:
    return bundle_hash.split(":")[-1][:16] + ".json"


SHIPPED = Path(__file__).parent / "board"


def open_board(url: str | None = None, shipped: bool = True) -> Store:
    """The store, with the bundles shipped in the package (the baselines) imported into it.
    A shipped bundle that no longer validates (its suite changed without a new version) is
    left out with a warning rather than taking the whole board down."""
    import warnings

    store = Store(url)
    paths = [*sorted(SHIPPED.glob("*.json")), SHIPPED / VERIFICATIONS] if shipped else []
    for path in paths:
        try:
            if path.exists():
                store.add_files([path])
        except BundleError as error:
            warnings.warn(f"shipped bundle left out: {error}", stacklevel=2)
    return store
