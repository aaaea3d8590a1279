"""The terminal tables: intervals folded into their estimate, grouped metrics, one episode."""

from __future__ import annotations

import math

from societygym.tables import estimate, format_table, metric_rows


def test_format_table_aligns_columns_under_a_rule() -> None:
    text = format_table([("a", "1"), ("bbb", "22")], ("name", "n"))
    assert text.splitlines() == ["name    n", "------  ---", "a       1", "bbb     22"]


def test_estimate_shows_an_interval_only_when_there_is_one() -> None:
    assert estimate(0.5, 0.25, 0.75) == "0.5000 [0.2500, 0.7500]"
    assert estimate(0.5, math.nan, math.nan) == "0.5000"
    assert estimate(0.5, 0.25, 0.75, n=1) == "0.5000"
    assert estimate(3) == "3"


def test_metric_rows_fold_intervals_and_group() -> None:
    metrics = {
        "n_resist": 2,
        "accuracy": 0.5,
        "accuracy_lo": 0.25,
        "accuracy_hi": 0.75,
        "ece": 0.1,
        "ece_skip": 0.2,
    }
    rows, header = metric_rows(metrics, episodes=4, mean_return=1.0, ci95=0.5)
    assert header == ["group", "metric", "all episodes", "answered only"]
    assert [r[:3] for r in rows] == [
        ["run", "episodes", "4"],
        ["", "mean return", "1.0000 [0.5000, 1.5000]"],
        ["counts", "n_resist", "2"],
        ["metrics", "accuracy", "0.5000 [0.2500, 0.7500]"],
        ["", "ece", "0.1000"],
    ]
    assert rows[-1][3] == "0.2000"  # ece_skip is ece's "answered only" cell, not a row


def test_one_episode_shows_no_nan_interval() -> None:
    rows, header = metric_rows({}, episodes=1, mean_return=-0.05, ci95=math.nan)
    assert header == ["group", "metric", "value"]
    assert rows[1] == ["", "mean return", "-0.0500"]
    assert "nan" not in format_table(rows, header)
