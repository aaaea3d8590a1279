"""The board's tables, shared by ``leaderboard show`` (terminal) and ``leaderboard site``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from societygym.leaderboard.suites import SUITES
from societygym.tables import estimate, format_table

COLUMNS = (
    "rank",
    "name",
    "status",
    "score [95% CI]",
    "episodes",
    "suite",
    "societygym",
    "git",
    "bundle",
)
LEGEND = (
    "verified: re-run by `leaderboard reproduce` with every episode matching; failed: a "
    "reproduction did not match; stale: made under older env or scorer code, listed after "
    "the current entries (`leaderboard rescore --stale` re-runs it)"
)


def status(row: Mapping[str, Any]) -> str:
    """``verified``/``unverified``/``failed``, and ``stale`` when the code changed since."""
    verification = row.get("verification", "unverified")
    return f"{verification}, stale" if row.get("stale") else verification


def ranked(rows: Sequence[Mapping[str, Any]], every: bool = False) -> dict[str, list[dict]]:
    """Rows grouped by suite (and version), best first, stale entries after the current
    ones; by default only each name's best bundle of a suite version (several evaluations of
    one agent are kept, but rank once), a current one before any stale one."""
    tables: dict[str, list[dict[str, Any]]] = {}
    order = sorted(rows, key=lambda r: (bool(r.get("stale")), -r["score"], r["name"], r["hash"]))
    for row in order:
        label = f"{row['suite']} v{row['suite_version']}"
        table = tables.setdefault(label, [])
        if every or all(r["name"] != row["name"] for r in table):
            table.append(dict(row))
    order = {name: i for i, name in enumerate(SUITES)}
    return {
        label: [{**r, "rank": i + 1} for i, r in enumerate(table)]
        for label, table in sorted(
            tables.items(), key=lambda kv: (order.get(kv[0].split()[0], len(order)), kv[0])
        )
    }


def cells(row: Mapping[str, Any]) -> list[str]:
    """One row as the strings both renderings show."""
    git = (row.get("git_sha") or "")[:8] or "-"
    return [
        str(row["rank"]),
        row["name"],
        status(row),
        estimate(row["score"], row["ci_low"], row["ci_high"]),
        str(row["episodes"]),
        f"{row['suite']} v{row['suite_version']}",
        row["societygym_version"],
        git,
        row["hash"].split(":")[-1][:12],
    ]


def render_text(tables: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    if not tables:
        return "the board is empty: `societygym leaderboard submit` adds to it"
    parts = []
    for label, rows in tables.items():
        description = SUITES[label.split()[0]].description if label.split()[0] in SUITES else ""
        parts.append(
            f"== {label} ==  {description}\n" + format_table([cells(r) for r in rows], COLUMNS)
        )
    return "\n\n".join([*parts, LEGEND])
