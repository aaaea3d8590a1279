"""The rows every ``benchmarks/results/effect_<setting>.json`` holds, and their intervals.

A row compares one metric before and after (base vs trained): the means over seeds, and the
mean paired difference (trained - base, per seed) with a two-sided 95% Student-t interval
over seeds, so one script can read every effect file the same way.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
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
