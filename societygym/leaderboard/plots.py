"""The agent pages' plots, drawn by matplotlib and inlined as SVG (self-contained pages, crisp
at any zoom). Reliability diagrams and learning curves are the same figures a run writes.

Each task of a suite names its plot (``Task.plot``); ``task_plot`` turns a bundle's episodes
into it: a reliability diagram (trivia), accuracy by a split key (persuasion halves, program
families), or a learning curve (teaching: validation accuracy after every iteration).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

from societygym.figures import COLOURS, style, svg_element

LABEL_CHARS = 24  # longer split values are cut, so that the rotated labels stay readable


def reliability(p: Sequence[float], correct: Sequence[bool], title: str) -> str:
    """Accuracy against p(accept) per bin, with intervals and counts (the run's diagram)."""
    from societygym.envs.trivia.reliability import reliability_figure

    return svg_element(reliability_figure(p, correct, title=title))


def bars(values: Mapping[str, float], title: str, y_label: str = "accuracy") -> str:
    """One labelled bar per group; the labels are rotated and cut so that they never overlap."""
    names = list(values)
    with style():
        figure = Figure(figsize=(max(3.2, 0.55 * len(names) + 1.6), 3.4), layout="constrained")
        axes = figure.subplots()
        shown = [n if len(n) <= LABEL_CHARS else n[: LABEL_CHARS - 1] + "…" for n in names]
        drawn = axes.bar(range(len(names)), [values[n] for n in names], color=COLOURS[0])
        axes.bar_label(drawn, fmt="%.3f", fontsize=8, padding=2)
        axes.set_xticks(range(len(names)), shown, rotation=30 if len(names) > 3 else 0,
                        ha="right" if len(names) > 3 else "center")  # fmt: skip
        axes.set(title=title, ylabel=y_label, ylim=(0, 1.1))
    return svg_element(figure)


def curve(runs: Sequence[Sequence[float]], title: str, y_label: str) -> str:
    """A learning curve: every episode's value after each step (step 0 is before any
    teaching) and their mean."""
    from societygym.envs.dataenv.learning_curve import learning_curve_figure

    return svg_element(learning_curve_figure({"episodes": runs}, title, y_label=y_label))


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def task_plot(plot: str | None, task: str, episodes: Sequence[Mapping[str, Any]]) -> str | None:
    """The SVG a task's ``plot`` names, from that task's episodes; None when there is none."""
    if not plot:
        return None
    if plot == "reliability":
        answered = [
            e["info"]
            for e in episodes
            if not e["info"].get("abstained") and "p_accept" in e["info"]
        ]
        return reliability(
            [float(i["p_accept"]) for i in answered],
            [bool(i.get("correct")) for i in answered],
            f"{task}: reliability",
        )
    kind, _, key = plot.partition(":")
    if kind == "split":
        groups: dict[str, list[float]] = {}
        for e in episodes:
            groups.setdefault(str(e["info"].get(key, "?")), []).append(float(e["value"]))
        return bars({k: _mean(v) for k, v in sorted(groups.items())}, f"{task}: by {key}")
    if kind == "curve":
        runs = [
            [float(v) for v in e.get("curve", []) if isinstance(v, (int, float))] for e in episodes
        ]
        label = key.replace(".", " ").replace("_", " ")  # validation.accuracy: its words
        return curve([r for r in runs if r], f"{task}: learning curve", label)
    raise ValueError(f"unknown plot {plot!r}")
