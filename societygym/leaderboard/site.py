"""The static HTML board: one index with a sortable table per suite, one page per agent.

Tables are plain HTML (readable with scripts off); a small script sorts them on a header
click, and on load from ``?sort=<column>&order=asc|desc`` so that a sorted view is a link.
It marks each table it has prepared with ``data-ready`` and the sort it applied with
``data-sorted``, which the browser test reads back.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from societygym.leaderboard.board import COLUMNS, LEGEND, cells, ranked
from societygym.leaderboard.plots import task_plot
from societygym.leaderboard.suites import SUITES, Suite

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#222}
h1{margin-bottom:.2rem} .muted{color:#666} table{border-collapse:collapse;margin:1rem 0;width:100%}
th,td{border-bottom:1px solid #ddd;padding:.35rem .6rem;text-align:left;font-size:.92rem}
th{cursor:pointer;background:#f4f4f8;user-select:none} th[aria-sort]::after{content:" \\2195"}
td.num{text-align:right;font-variant-numeric:tabular-nums} section{margin-bottom:2.5rem}
.plots{display:flex;flex-wrap:wrap;gap:1rem} svg.plot{background:#fafafa;border:1px solid #eee}
svg .axis{stroke:#888} svg .ideal{stroke:#c66;stroke-dasharray:4} svg .bar{fill:#4a78c2}
svg .line{fill:none;stroke:#4a78c2;stroke-width:2} svg .dot{fill:#1f4e99}
svg text{font-size:11px;fill:#333} svg .title{font-weight:600} svg .tick{font-size:9px}
.mark{border-radius:.6rem;padding:.05rem .45rem;font-size:.8rem;white-space:nowrap}
.mark.verified{background:#dcf3e0;color:#1d6b2c} .mark.unverified{background:#eee;color:#555}
.mark.failed{background:#fbdada;color:#8a1c1c} .mark.stale{background:#fff1c9;color:#7a5a00}
tr[data-stale=true] td{color:#888}
"""

SCRIPT = """
function sortTable(table, key, order) {
  const th = table.querySelector('th[data-key="' + key + '"]');
  if (!th) return;
  const numeric = th.dataset.type === 'num', col = th.cellIndex;
  const rows = Array.from(table.tBodies[0].rows);
  const value = r => numeric ? parseFloat(r.cells[col].dataset.value) : r.cells[col].textContent;
  rows.sort((a, b) => {
    const x = value(a), y = value(b);
    const c = numeric ? x - y : String(x).localeCompare(String(y));
    return order === 'asc' ? c : -c;
  });
  rows.forEach(r => table.tBodies[0].appendChild(r));
  table.querySelectorAll('th').forEach(h => h.setAttribute('aria-sort', 'none'));
  th.setAttribute('aria-sort', order === 'asc' ? 'ascending' : 'descending');
  table.dataset.sorted = key + ':' + order;
}
document.addEventListener('DOMContentLoaded', () => {
  const params = new URLSearchParams(location.search);
  document.querySelectorAll('table.board').forEach(table => {
    table.querySelectorAll('th').forEach(th => th.addEventListener('click', () => {
      const [key, order] = (table.dataset.sorted || '').split(':');
      sortTable(table, th.dataset.key,
                key === th.dataset.key && order === 'desc' ? 'asc' : 'desc');
    }));
    if (params.get('sort')) sortTable(table, params.get('sort'), params.get('order') || 'desc');
    table.dataset.ready = String(table.tBodies[0].rows.length);
  });
});
"""

_NUMERIC = {"rank", "score", "95% CI", "episodes"}


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def agent_page(name: str) -> str:
    """The agent page's file name: readable, and unique and stable per exact name (``a_b/c``
    and ``a/b_c`` slug alike; the hash of the name tells them apart)."""
    return f"{slug(name)}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:8]}.html"


def _page(title: str, body: str, root: str = "") -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<meta name=viewport content='width=device-width'><title>{escape(title)}</title>"
        f"<style>{STYLE}</style><script>{SCRIPT}</script></head><body>"
        f"<p><a href='{root}index.html'>societygym leaderboard</a></p>{body}</body></html>"
    )


def _key(column: str) -> str:
    return {"95% CI": "ci", "git": "git"}.get(column, slug(column))


def _board_table(suite_label: str, rows: Sequence[Mapping[str, Any]]) -> str:
    head = "".join(
        f'<th data-key="{_key(c)}" data-type="{"num" if c in _NUMERIC else "text"}" '
        f'aria-sort="none">{escape(c)}</th>'
        for c in COLUMNS
    )
    body = []
    for row in rows:
        texts = cells(row)
        numbers = {
            "rank": row["rank"],
            "score": row["score"],
            "95% CI": row["ci_low"],
            "episodes": row["episodes"],
        }
        tds = []
        for column, text in zip(COLUMNS, texts, strict=True):
            if column == "name":
                text_html = f'<a href="agents/{agent_page(row["name"])}">{escape(text)}</a>'
            elif column == "status":
                text_html = _marks(row)
            else:
                text_html = escape(text)
            value = f' data-value="{numbers[column]}" class="num"' if column in numbers else ""
            tds.append(f"<td{value}>{text_html}</td>")
        stale = "true" if row.get("stale") else "false"
        body.append(
            f'<tr data-verification="{row["verification"]}" data-stale="{stale}">'
            + "".join(tds)
            + "</tr>"
        )
    return (
        f'<table class="board" data-suite="{escape(suite_label)}"><thead><tr>{head}</tr>'
        f"</thead><tbody>{''.join(body)}</tbody></table>"
    )


def _marks(row: Mapping[str, Any]) -> str:
    """The status cell: a verification mark, and a stale mark that names what changed."""
    titles = {
        "verified": "re-run with every episode matching",
        "failed": "a reproduction did not match",
        "unverified": "not reproduced yet",
    }
    verification = row["verification"]
    marks = [
        f'<span class="mark {verification}" title="{titles[verification]}">'
        f"{escape(verification)}</span>"
    ]
    if row.get("stale"):
        changed = escape("changed since: " + ", ".join(row["stale"]))
        marks.append(f'<span class="mark stale" title="{changed}">stale</span>')
    return " ".join(marks)


def _agent_section(bundle: Mapping[str, Any], row: Mapping[str, Any]) -> str:
    suite = Suite.from_dict(bundle["suite"])
    summary, metrics = bundle["summary"], bundle.get("metrics", {})
    rows = []
    for task in suite.tasks:
        s = summary["tasks"][task.name]
        extra = ", ".join(
            f"{k} {v:.3f}"
            for k, v in sorted(metrics.get(task.name, {}).items())
            if isinstance(v, (int, float)) and not k.endswith(("_lo", "_hi"))
        )
        rows.append(
            f"<tr><td>{escape(task.name)}</td><td class=num>{s['mean']:.4f}</td>"
            f"<td class=num>[{s['ci95'][0]:.4f}, {s['ci95'][1]:.4f}]</td>"
            f"<td>{' '.join(f'{v:.3f}' for v in s['per_seed'])}</td>"
            f"<td class=muted>{escape(extra)}</td></tr>"
        )
    plots = [
        task_plot(t.plot, t.name, [e for e in bundle["episodes"] if e["task"] == t.name])
        for t in suite.tasks
    ]
    agent = bundle["agent"]
    return (
        f"<section><h2>{escape(suite.name)} v{suite.version}: "
        f"{summary['score']:.4f} [{summary['ci95'][0]:.4f}, {summary['ci95'][1]:.4f}]</h2>"
        f"<p class=muted>agent <code>{escape(agent['spec'])}</code> "
        f"{escape(json.dumps(agent['args']))}; societygym "
        f"{escape(str(bundle['software'].get('societygym')))} "
        f"{escape(str(bundle['software'].get('git_sha') or '')[:10])}; bundle "
        f"<code>{escape(bundle['hash'])}</code></p><p>{_marks(row)}{_stale_note(row)}</p>"
        "<table><thead><tr><th>task</th><th>mean</th><th>95% CI</th><th>per seed</th>"
        f"<th>env metrics</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f"<div class=plots>{''.join(p for p in plots if p)}</div></section>"
    )


def _stale_note(row: Mapping[str, Any]) -> str:
    if not row.get("stale"):
        return ""
    return f" <span class=muted>changed since: {escape(', '.join(row['stale']))}</span>"


def build_site(store: Any, out: Path) -> Path:
    """Write ``index.html`` and ``agents/<name>.html`` for everything in ``store``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "agents").mkdir(exist_ok=True)
    rows = store.rows()
    tables = ranked(rows)
    sections = [
        f"<section><h2>{escape(label)}</h2>{_board_table(label, table)}</section>"
        for label, table in tables.items()
    ]
    index = out / "index.html"
    intro = (
        "<h1>societygym leaderboard</h1><p class=muted>Headline metric per suite, mean over "
        "seeds with a bootstrap 95% interval; click a column to sort.</p>"
        f"<p class=muted>{escape(LEGEND)}</p>"
    )
    index.write_text(_page("societygym leaderboard", intro + "".join(sections)), encoding="utf-8")
    best = {r["hash"]: r for table in tables.values() for r in table}
    order = {suite: i for i, suite in enumerate(SUITES)}
    for name in sorted({r["name"] for r in rows}):
        bundles = sorted(
            (store.get(h) for h, r in best.items() if r["name"] == name),
            key=lambda b: (order.get(b["suite"]["name"], len(order)), b["hash"]),
        )
        sections = "".join(_agent_section(b, best[b["hash"]]) for b in bundles)
        (out / "agents" / agent_page(name)).write_text(
            _page(name, f"<h1>{escape(name)}</h1>{sections}", "../"), encoding="utf-8"
        )
    return index
