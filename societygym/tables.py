"""Plain-text tables for the terminal (rendered by ``tabulate``), and the metric table of a run:
each estimate with its interval in one cell, related metrics grouped."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from tabulate import tabulate

# a metric ``x_skip`` is ``x`` over the answered episodes only (trivia's LACIE "skip" view)
VARIANTS = {"_skip": "answered only"}
GROUPS = ("run", "counts", "metrics")


def format_table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    """Left-aligned columns under ``header`` and a rule; cells are shown as given."""
    return tabulate(
        [[str(c) for c in row] for row in rows],
        headers=list(header),
        tablefmt="simple",
        disable_numparse=True,
    )


def number(value: Any, digits: int = 4) -> str:
    """A float to ``digits`` decimals (``nan`` as is); anything else as ``str``."""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def estimate(value: Any, lo: Any = None, hi: Any = None, n: int | None = None) -> str:
    """``value [lo, hi]``; just the value when there is no finite interval or one episode."""
    shown = number(value)
    if n is not None and n < 2:
        return shown
    if lo is None or hi is None or not all(map(math.isfinite, (float(lo), float(hi)))):
        return shown
    return f"{shown} [{number(lo)}, {number(hi)}]"


def _group(name: str) -> str:
    return "counts" if name == "n" or name.startswith(("n_", "finished_")) else "metrics"


def metric_rows(
    metrics: Mapping[str, Any], episodes: int, mean_return: float, ci95: float
) -> tuple[list[list[str]], list[str]]:
    """A run's table: rows ``[group, metric, value(, variant …)]`` and its header.

    ``name_lo``/``name_hi`` fold into ``name``'s cell as ``value [lo, hi]``; ``name_skip``
    becomes the "answered only" column of ``name``'s row; the group is named on its first row.
    """
    variants = [s for s in VARIANTS if any(k.endswith(s) for k in metrics)]
    folded = {k for k in metrics if k.endswith(("_lo", "_hi")) and k[:-3] in metrics}
    folded |= {k for k in metrics for s in variants if k.endswith(s) and k[: -len(s)] in metrics}

    def cell(name: str) -> str:
        if name not in metrics:
            return ""
        return estimate(metrics[name], metrics.get(f"{name}_lo"), metrics.get(f"{name}_hi"))

    interval = (mean_return - ci95, mean_return + ci95)
    grouped: dict[str, list[list[str]]] = {
        "run": [
            ["episodes", str(episodes), *[""] * len(variants)],
            ["mean return", estimate(mean_return, *interval, n=episodes), *[""] * len(variants)],
        ]
    }
    for name in metrics:
        if name not in folded:
            row = [name, cell(name), *[cell(name + s) for s in variants]]
            grouped.setdefault(_group(name), []).append(row)
    rows = [
        [group if i == 0 else "", *row]
        for group in GROUPS
        for i, row in enumerate(grouped.get(group, []))
    ]
    header = ["group", "metric", "all episodes" if variants else "value"]
    return rows, header + [VARIANTS[s] for s in variants]
