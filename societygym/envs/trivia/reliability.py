"""Reliability diagrams (matplotlib): accuracy per p(accept) bin with 95% intervals, against
the diagonal of perfect calibration, over a panel of the bins' episode counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MultipleLocator
from scipy.stats import binomtest

from societygym.envs.trivia.metrics import ArrayLike, Bin, ece, reliability_bins
from societygym.figures import COLOURS, save_png, style

BAR, MEAN_P, IDEAL = COLOURS[0], COLOURS[1], "#7f7f7f"


def wilson_interval(successes: int, count: int) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion (sound at 0 and 1, unlike the normal
    approximation); (nan, nan) for no trials."""
    if count == 0:
        return float("nan"), float("nan")
    interval = binomtest(successes, count).proportion_ci(0.95, method="wilson")
    return float(interval.low), float(interval.high)


def _interval(b: Bin) -> tuple[float, float]:
    return wilson_interval(round(b.accuracy * b.count), b.count)


def reliability_figure(
    p: ArrayLike, correct: ArrayLike, n_bins: int = 10, title: str = "Reliability diagram"
) -> Figure:
    """Bars: accuracy per bin, with a dot and its 95% Wilson interval (so a bin of zero
    accuracy still shows); orange: the bin's mean p(accept); dashed: perfect calibration; below,
    the number of episodes per bin. The title carries the ECE (:func:`metrics.ece`)."""
    bins = [b for b in reliability_bins(p, correct, n_bins) if b.count]
    width = 1 / n_bins
    with style():
        figure = Figure(figsize=(5.0, 5.8), layout="constrained")
        top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
        top.plot([0, 1], [0, 1], linestyle="--", color=IDEAL, label="perfect calibration")
        if bins:
            left = np.array([b.lo for b in bins])
            accuracy = np.array([b.accuracy for b in bins])
            top.bar(left, accuracy, width=width, align="edge", color=BAR, alpha=0.85,
                    edgecolor="black", linewidth=0.8, label="accuracy")  # fmt: skip
            intervals = np.array([_interval(b) for b in bins])
            top.errorbar(left + width / 2, accuracy, yerr=np.abs(intervals.T - accuracy),
                         fmt="o", color="black", markersize=3, capsize=3,
                         linewidth=1, label="accuracy's 95% interval (Wilson)")  # fmt: skip
            top.hlines([b.mean_p for b in bins], left + 0.15 * width, left + 0.85 * width,
                       colors=MEAN_P, linewidth=2.5, label="mean p(accept) of the bin")  # fmt: skip
            counts = [b.count for b in bins]
            drawn = bottom.bar(left, counts, width=width, align="edge", color="#9a9a9a",
                               edgecolor="black", linewidth=0.8)  # fmt: skip
            bottom.bar_label(drawn, fontsize=8, padding=1)
            bottom.set_ylim(0, max(counts) * 1.25)
        n = sum(b.count for b in bins)
        figure.suptitle(f"{title}\nECE = {ece(p, correct, n_bins):.3f}, n = {n}")
        top.set(xlim=(0, 1), ylim=(-0.02, 1.02), ylabel="accuracy")
        top.yaxis.set_major_locator(MultipleLocator(0.2))
        handles, labels = top.get_legend_handles_labels()  # below the plot: never on a bar
        figure.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=8)
        bottom.set(xlabel="listener p(accept)", ylabel="episodes")
        bottom.xaxis.set_major_locator(MultipleLocator(0.2))
        bottom.xaxis.set_minor_locator(MultipleLocator(width))
    return figure


def save_reliability_diagram(
    p: ArrayLike,
    correct: ArrayLike,
    path: str | Path,
    n_bins: int = 10,
    title: str = "Reliability diagram",
) -> Path:
    """Write :func:`reliability_figure` as a PNG."""
    return save_png(reliability_figure(p, correct, n_bins, title), path)
