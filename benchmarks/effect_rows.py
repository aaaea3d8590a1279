"""The rows every ``benchmarks/results/effect_<setting>.json`` holds, and their intervals.

A row compares one metric before and after (base vs trained): the means over seeds, and the
mean paired difference (trained - base, per seed) with a two-sided 95% Student-t interval
over seeds, so one script can read every effect file the same way.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from effect_power import half_width  # a sibling module: the script's folder is on sys.path

ROW_KEYS = ("metric", "base", "trained", "diff", "diff_lo", "diff_hi", "seeds", "better", "paper")


def mean_interval(values: Sequence[float]) -> tuple[float, float, float]:
    """Mean and 95% Student-t interval; nan entries (e.g. AUROC with one class) are dropped,
    and fewer than two values give a nan interval."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return math.nan, math.nan, math.nan
    mean = statistics.fmean(finite)
    if len(finite) < 2:
        return mean, math.nan, math.nan
    half = half_width(statistics.stdev(finite), len(finite))
    return mean, mean - half, mean + half


def effect_row(
    metric: str, base: Sequence[float], trained: Sequence[float], better: str, paper: str
) -> dict[str, Any]:
    """One row from per-seed values (``base[i]`` and ``trained[i]`` share seed ``i``)."""
    if better not in ("higher", "lower"):
        raise ValueError(f"better is 'higher' or 'lower', not {better!r}")
    if len(base) != len(trained):
        raise ValueError(f"{metric}: {len(base)} base values, {len(trained)} trained")
    diff, lo, hi = mean_interval([t - b for t, b in zip(trained, base, strict=True)])
    return {
        "metric": metric,
        "base": clean(mean_interval(base)[0]),
        "trained": clean(mean_interval(trained)[0]),
        "diff": clean(diff),
        "diff_lo": clean(lo),
        "diff_hi": clean(hi),
        "seeds": len(base),
        "better": better,
        "paper": paper,
    }


def clean(value: float) -> float | None:
    """Rounded for the JSON; nan (undefined) as null."""
    return round(value, 4) if math.isfinite(value) else None


def plot_rows(rows: Sequence[dict[str, Any]], path: Path, title: str, trained_label: str) -> None:
    """Base and trained bars per metric, the trained bar carrying the 95% interval of the
    paired difference; rows without both means are left out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [r for r in rows if r["base"] is not None and r["trained"] is not None]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(shown)), 4.0))
    xs = range(len(shown))
    ax.bar([x - 0.2 for x in xs], [r["base"] for r in shown], 0.4, label="base")
    errors = [
        [r["diff"] - r["diff_lo"] if r["diff_lo"] is not None else 0.0 for r in shown],
        [r["diff_hi"] - r["diff"] if r["diff_hi"] is not None else 0.0 for r in shown],
    ]
    trained = [r["trained"] for r in shown]
    ax.bar([x + 0.2 for x in xs], trained, 0.4, yerr=errors, capsize=3, label=trained_label)
    ax.set_xticks(list(xs), [r["metric"] for r in shown], rotation=60, ha="right", fontsize=8)
    # rates live in [0, 1]; a change (e.g. an accuracy drop) can be negative
    lows = [t - e for t, e in zip(trained, errors[0], strict=True)]
    lowest = min([0.0, *(r["base"] for r in shown), *lows])
    ax.set_ylim(lowest - 0.05 if lowest < 0 else 0.0, 1.05)
    ax.axhline(0.0, color="black", linewidth=0.5)
    ax.set_title(f"{title} ({shown[0]['seeds'] if shown else 0} seeds)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
