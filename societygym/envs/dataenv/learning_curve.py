"""Learning curves (validation accuracy per teaching iteration) with matplotlib: one panel
overall and, where skills are given, one panel per skill."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from societygym.figures import COLOURS, LINESTYLES, MARKERS, save_png, style

Runs = Sequence[Sequence[float]]  # each run: accuracy after iterations 0 (untaught), 1, 2, …
PANEL_COLUMNS = 4


def mean_curve(runs: Runs) -> list[float]:
    """The mean over the runs that reach each iteration (runs may differ in length)."""
    length = max((len(run) for run in runs), default=0)
    return [float(np.mean([run[i] for run in runs if len(run) > i])) for i in range(length)]


def skill_curves(
    episodes: Sequence[Sequence[Mapping[str, Any]]], group: str
) -> dict[str, dict[str, list[list[float]]]]:
    """``{skill: {group: runs}}`` from each episode's infos (reset first, then every step),
    read from their ``validation.per_skill``: the per-skill panels of a run's figure."""
    runs: dict[str, list[list[float]]] = {}
    for infos in episodes:
        per_step = [(info.get("validation") or {}).get("per_skill") or {} for info in infos]
        for skill in dict.fromkeys(s for step in per_step for s in step):
            runs.setdefault(skill, []).append(
                [float(step.get(skill, math.nan)) for step in per_step]
            )
    return {skill: {group: skill_runs} for skill, skill_runs in runs.items()}


def _label(name: str, runs: Runs) -> str:
    return name if len(runs) == 1 else f"{name}: mean of {len(runs)} (thin lines: each)"


def _draw(axes: Axes, curves: Mapping[str, Runs], title: str) -> None:
    """Each group's runs (thin) under their mean (thick); groups differ in colour, marker and
    line style, and later groups are drawn slightly offset so that equal curves stay visible."""
    for k, (name, runs) in enumerate(curves.items()):
        colour = COLOURS[k % len(COLOURS)]
        shift = 0.06 * (k - (len(curves) - 1) / 2) if len(curves) > 1 else 0.0
        if len(runs) > 1:
            for run in runs:
                axes.plot(np.arange(len(run)) + shift, run, color=colour, alpha=0.25, linewidth=1)
        means = mean_curve(runs)
        axes.plot(np.arange(len(means)) + shift, means, color=colour, linewidth=2,
                  marker=MARKERS[k % len(MARKERS)], linestyle=LINESTYLES[k % len(LINESTYLES)],
                  markersize=5, label=_label(name, runs))  # fmt: skip
    axes.set_title(title)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
    axes.set_ylim(-0.02, 1.02)


def learning_curve_figure(
    curves: Mapping[str, Runs],
    title: str = "Validation accuracy per teaching iteration",
    skills: Mapping[str, Mapping[str, Runs]] | None = None,
    y_label: str = "validation accuracy",
) -> Figure:
    """``curves[group]`` are a group's runs (e.g. a teacher's seeds); ``skills[skill][group]``
    the same per skill, each drawn in a panel of its own after the overall one."""
    panels = [("overall", curves), *sorted((skills or {}).items())]
    columns = min(len(panels), PANEL_COLUMNS)
    rows = math.ceil(len(panels) / columns)
    with style():
        figure = Figure(figsize=(3.6 * columns + 0.6, 2.9 * rows + 0.9), layout="constrained")
        grid = np.atleast_1d(
            figure.subplots(rows, columns, sharex=True, sharey=True, squeeze=False)
        )
        cells = list(grid.reshape(-1))
        for axes, (name, panel) in zip(cells, panels, strict=False):
            _draw(axes, panel, name if skills else "")
        for axes in cells[len(panels) :]:
            axes.set_visible(False)
        for axes in grid[-1]:
            axes.set_xlabel("teaching iteration")
        for axes in grid[:, 0]:
            axes.set_ylabel(y_label)
        handles, labels = cells[0].get_legend_handles_labels()
        if len(curves) > 1 or any(len(runs) > 1 for runs in curves.values()):
            figure.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 3))
        figure.suptitle(title)
    return figure


def save_learning_curves(
    curves: Mapping[str, Runs],
    path: str | Path,
    title: str = "Validation accuracy per teaching iteration",
    skills: Mapping[str, Mapping[str, Runs]] | None = None,
) -> Path:
    """Write :func:`learning_curve_figure` as a PNG."""
    return save_png(learning_curve_figure(curves, title, skills), path)
