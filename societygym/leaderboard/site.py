"""The static HTML board: one index with a sortable table per suite, one page per agent,
rendered from the Jinja2 templates in ``templates/`` (autoescaped: names and args are data).

Tables are plain HTML (readable with scripts off); a small script sorts them on a header
click, and on load from ``?sort=<column>&order=asc|desc`` so that a sorted view is a link.
It marks each table it has prepared with ``data-ready`` and the sort it applied with
``data-sorted``, which the browser test reads back.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from societygym.leaderboard.board import COLUMNS, LEGEND, cells, ranked
from societygym.leaderboard.plots import task_plot
from societygym.leaderboard.suites import SUITES, Suite
from societygym.tables import estimate

_NUMERIC = {"rank", "score [95% CI]", "episodes"}
_KEYS = {"score [95% CI]": "score", "git": "git"}
TITLES = {
    "verified": "re-run with every episode matching",
    "failed": "a reproduction did not match",
    "unverified": "not reproduced yet",
}


@cache
def templates() -> Environment:
    return Environment(
        loader=PackageLoader("societygym.leaderboard", "templates"),
        autoescape=True,  # every template is HTML: names, args and metrics are escaped
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def agent_page(name: str) -> str:
    """The agent page's file name: readable, and unique and stable per exact name (``a_b/c``
    and ``a/b_c`` slug alike; the hash of the name tells them apart)."""
    return f"{slug(name)}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:8]}.html"


def _key(column: str) -> str:
    return _KEYS.get(column, slug(column))


def _board_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """One board row for the index template: its cells, and sort values for numeric ones."""
    numbers = {"rank": row["rank"], "score [95% CI]": row["score"], "episodes": row["episodes"]}
    return {
        **_status(row),
        "page": agent_page(row["name"]),
        "cells": [
            {"column": column, "text": text, "value": numbers.get(column)}
            for column, text in zip(COLUMNS, cells(row), strict=True)
        ],
    }


def _status(row: Mapping[str, Any]) -> dict[str, Any]:
    verification = row["verification"]
    return {
        "verification": verification,
        "verification_title": TITLES[verification],
        "stale": list(row.get("stale") or []),
    }


def _agent_section(bundle: Mapping[str, Any], row: Mapping[str, Any]) -> dict[str, Any]:
    suite = Suite.from_dict(bundle["suite"])
    summary, metrics = bundle["summary"], bundle.get("metrics", {})
    tasks = []
    for task in suite.tasks:
        s = summary["tasks"][task.name]
        report = metrics.get(task.name, {})
        extra = ", ".join(
            f"{k} {estimate(v, report.get(f'{k}_lo'), report.get(f'{k}_hi'))}"
            for k, v in sorted(report.items())
            if isinstance(v, (int, float)) and not k.endswith(("_lo", "_hi"))
        )
        tasks.append(
            {
                "name": task.name,
                "mean": estimate(s["mean"], *s["ci95"]),
                "per_seed": " ".join(f"{v:.3f}" for v in s["per_seed"]),
                "metrics": extra,
            }
        )
    plots = [
        task_plot(t.plot, t.name, [e for e in bundle["episodes"] if e["task"] == t.name])
        for t in suite.tasks
    ]
    agent, software = bundle["agent"], bundle["software"]
    return {
        "suite": f"{suite.name} v{suite.version}",
        "score": estimate(summary["score"], *summary["ci95"]),
        "agent_spec": agent["spec"],
        "agent_args": json.dumps(agent["args"]),
        "version": str(software.get("societygym")),
        "git": str(software.get("git_sha") or "")[:10],
        "hash": bundle["hash"],
        "row": _status(row),
        "tasks": tasks,
        # matplotlib's own SVG (it escapes the text it draws): trusted markup, not data
        "plots": [Markup(p) for p in plots if p],
    }


def build_site(store: Any, out: Path) -> Path:
    """Write ``index.html`` and ``agents/<name>.html`` for everything in ``store``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "agents").mkdir(exist_ok=True)
    rows = store.rows()
    tables = ranked(rows)
    columns = [
        {"name": c, "key": _key(c), "type": "num" if c in _NUMERIC else "text"} for c in COLUMNS
    ]
    index = out / "index.html"
    page = (
        templates()
        .get_template("index.html.j2")
        .render(
            title="societygym leaderboard",
            root="",
            legend=LEGEND,
            columns=columns,
            tables=[(label, [_board_row(r) for r in table]) for label, table in tables.items()],
        )
    )
    index.write_text(page, encoding="utf-8")
    best = {r["hash"]: r for table in tables.values() for r in table}
    order = {suite: i for i, suite in enumerate(SUITES)}
    agent_template = templates().get_template("agent.html.j2")
    for name in sorted({r["name"] for r in rows}):
        bundles = sorted(
            (store.get(h) for h, r in best.items() if r["name"] == name),
            key=lambda b: (order.get(b["suite"]["name"], len(order)), b["hash"]),
        )
        sections = [_agent_section(b, best[b["hash"]]) for b in bundles]
        page = agent_template.render(title=name, root="../", name=name, sections=sections)
        (out / "agents" / agent_page(name)).write_text(page, encoding="utf-8")
    return index
