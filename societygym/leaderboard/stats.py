"""A bundle's summary: the headline metric per seed and task, its mean, and a bootstrap 95%
interval.

The interval is a two-level (hierarchical) bootstrap: resample seeds, then instances within
each task and seed. Seeds alone would be three numbers; instances alone would ignore the
seed-to-seed variation of a stochastic agent or env. The bootstrap's RNG is fixed, so the
summary is a pure function of the episodes and anyone can recompute (and so check) it.

Written here rather than with ``scipy.stats.bootstrap``: scipy has no two-level resampling,
and these numbers are fingerprinted (``versions.SCORERS``), so a change would make every
shipped bundle stale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from societygym.leaderboard.suites import Suite

RESAMPLES = 2000
BOOTSTRAP_SEED = 20240501


def _values(suite: Suite, episodes: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Per task, the values as an array ``[seed, index]`` in the suite's order."""
    by_key = {(e["task"], int(e["seed"]), int(e["index"])): float(e["value"]) for e in episodes}
    arrays = {}
    for task in suite.tasks:
        arrays[task.name] = np.array(
            [[by_key[task.name, s, i] for i in task.indices] for s in suite.seeds], dtype=float
        )
    return arrays


def _interval(draws: np.ndarray) -> list[float]:
    low, high = np.percentile(draws, [2.5, 97.5])
    return [round(float(low), 12), round(float(high), 12)]


def summarize(suite: Suite, episodes: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``{"score", "ci95", "per_seed", "tasks": {name: {"mean", "ci95", "per_seed"}}}``."""
    values = _values(suite, episodes)
    weights = np.array([t.weight for t in suite.tasks], dtype=float)
    weights = weights / weights.sum()
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    n_seeds = len(suite.seeds)
    seed_draw = rng.integers(n_seeds, size=(RESAMPLES, n_seeds))
    task_draws, tasks = [], {}
    for task in suite.tasks:
        array = values[task.name]
        index_draw = rng.integers(array.shape[1], size=(RESAMPLES, n_seeds, array.shape[1]))
        resampled = array[seed_draw[..., None], index_draw].mean(axis=(1, 2))
        task_draws.append(resampled)
        per_seed = array.mean(axis=1)
        tasks[task.name] = {
            "mean": round(float(per_seed.mean()), 12),
            "ci95": _interval(resampled),
            "per_seed": [round(float(v), 12) for v in per_seed],
            "episodes": int(array.size),
        }
    per_seed = sum(
        w * values[t.name].mean(axis=1) for w, t in zip(weights, suite.tasks, strict=True)
    )
    overall = np.tensordot(weights, np.stack(task_draws), axes=1)
    return {
        "score": round(float(np.mean(per_seed)), 12),
        "ci95": _interval(overall),
        "per_seed": [round(float(v), 12) for v in per_seed],
        "seeds": list(suite.seeds),
        "episodes": int(sum(a.size for a in values.values())),
        "tasks": tasks,
    }


def env_metrics(suite: Suite, episodes: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Each env's own report (ECE, AUROC, balanced accuracy …) over the whole final infos
    (``final_info``, which the journal keeps and the bundle does not)."""
    import importlib

    from societygym.registry import entry

    reports: dict[str, Any] = {}
    for task in suite.tasks:
        module, _, name = entry(task.env_id).entry_point.partition(":")
        summarize_infos = getattr(getattr(importlib.import_module(module), name), "summarize", None)
        if summarize_infos is None:
            continue
        infos = [e.get("final_info", e["info"]) for e in episodes if e["task"] == task.name]
        try:
            report = summarize_infos(infos, None)
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            continue
        reports[task.name] = {
            str(k): (round(float(v), 12) if np.isfinite(v) else None)
            for k, v in report.items()
            if isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
        }
    return reports
