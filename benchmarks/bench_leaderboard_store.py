"""Results database inserts per second: 8 concurrent writer processes against one writer,
on one SQLite file each, counting the rows afterwards (lost rows must be zero); with
``BENCH_POSTGRES_URL`` set, the 8 writers also on a fresh database of that server.

An insert is one bundle (its row and its episode rows, in one transaction). Prints one JSON
line.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from societygym.leaderboard import bundle as bundles
from societygym.leaderboard.commands import submit
from societygym.leaderboard.evaluate import mp_context
from societygym.leaderboard.store import Store
from societygym.leaderboard.suites import Suite, Task

WRITERS = 8
PER_WRITER = int(os.environ.get("BENCH_PER_WRITER", "40"))


def variants(base: dict, prefix: str, count: int) -> list[dict]:
    out = []
    for k in range(count):
        other = copy.deepcopy(base)
        other["name"] = f"{prefix}/bundle{k}"
        other["hash"] = bundles.bundle_hash(other)
        out.append(other)
    return out


def insert_all(url: str, items: list[dict], barrier: object | None = None) -> None:
    store = Store(url)
    if barrier is not None:
        barrier.wait()
    for item in items:
        store.add(item)


def concurrent(url: str, base: dict) -> tuple[float, int, int, list]:
    """8 writer processes, started together; (seconds, bundles, episode rows, exit codes)."""
    Store(url)  # migrated before the clock starts, as for the single writer
    context = mp_context()
    barrier = context.Barrier(WRITERS + 1)
    workers = [
        context.Process(target=insert_all, args=(url, variants(base, f"w{w}", PER_WRITER), barrier))
        for w in range(WRITERS)
    ]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - start
    return (seconds, *Store(url).count(), sorted({w.exitcode for w in workers}))


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    import sqlalchemy

    name = f"societygym_bench_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        url = sqlalchemy.engine.make_url(server_url).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        suite = Suite(
            "bench-store",
            1,
            "benchmark",
            (Task("trivia", "Trivia-Calibration-v0", tuple(range(10))),),
        )
        path = Path(tmp) / "suite.json"
        path.write_text(json.dumps(suite.to_dict()))
        base = submit(
            str(path),
            "fixed",
            {},
            "bench/fixed",
            run_dir=Path(tmp) / "run",
            backend="serial",
            progress=False,
            store=False,
        )
        total = WRITERS * PER_WRITER
        per_bundle_rows = 1 + len(base["episodes"])

        serial_url = str(Path(tmp) / "serial.db")
        items = variants(base, "serial", total)
        Store(serial_url)
        start = time.perf_counter()
        insert_all(serial_url, items)
        serial_s = time.perf_counter() - start

        concurrent_s, stored, episode_rows, codes = concurrent(
            str(Path(tmp) / "concurrent.db"), base
        )
        postgres = os.environ.get("BENCH_POSTGRES_URL")  # a server's URL: a fresh db on it
        pg_result = None
        if postgres:
            with fresh_postgres_database(postgres) as pg_url:
                pg_result = concurrent(pg_url, base)
    expected_rows = total * per_bundle_rows
    print(
        json.dumps(
            {
                "benchmark": "leaderboard_store_inserts",
                "writers": WRITERS,
                "bundles": total,
                "rows_per_bundle": per_bundle_rows,
                "single_writer_bundles_per_s": round(total / serial_s, 1),
                "concurrent_bundles_per_s": round(total / concurrent_s, 1),
                "concurrent_rows_per_s": round(expected_rows / concurrent_s, 1),
                "ratio_vs_single_writer": round(serial_s / concurrent_s, 3),
                "lost_bundles": total - stored,
                "lost_rows": expected_rows - (stored + episode_rows),
                "writer_exit_codes": codes,
                "postgres_concurrent_bundles_per_s": (
                    round(total / pg_result[0], 1) if pg_result else None
                ),
                "postgres_lost_bundles": total - pg_result[1] if pg_result else None,
            }
        )
    )


if __name__ == "__main__":
    main()
