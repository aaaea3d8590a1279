"""The agent pages' plots as inline SVG: self-contained pages, no plotting library needed to
build the site, crisp at any zoom.

Each task of a suite names its plot (``Task.plot``); ``task_plot`` turns a bundle's episodes
into it: a reliability diagram (trivia), accuracy by a split key (persuasion halves, program
families), or a learning curve (teaching: validation accuracy after every iteration).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

W, H, PAD = 360, 260, 48


def _frame(title: str, body: str, x_label: str, y_label: str) -> str:
    return (
        f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}">'
        f'<text x="{W / 2}" y="16" text-anchor="middle" class="title">{escape(title)}</text>'
        f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - 10}" y2="{H - PAD}" class="axis"/>'
        f'<line x1="{PAD}" y1="24" x2="{PAD}" y2="{H - PAD}" class="axis"/>'
        f'<text x="{W / 2}" y="{H - 8}" text-anchor="middle">{escape(x_label)}</text>'
        f'<text x="12" y="{H / 2}" transform="rotate(-90 12 {H / 2})" '
        f'text-anchor="middle">{escape(y_label)}</text>{body}</svg>'
    )


def _x(u: float) -> float:
    return PAD + u * (W - 10 - PAD)


def _y(v: float) -> float:
    return H - PAD - v * (H - PAD - 24)


def _ticks() -> str:
    return "".join(
        f'<text x="{PAD - 4}" y="{_y(v) + 4:.1f}" text-anchor="end" class="tick">{v:g}</text>'
        for v in (0, 0.5, 1)
    )


def reliability(p: Sequence[float], correct: Sequence[bool], title: str) -> str:
    """Accuracy against mean p(accept) per bin; the diagonal is perfect calibration."""
    from societygym.envs.trivia.metrics import reliability_bins

    body = [f'<line x1="{_x(0)}" y1="{_y(0)}" x2="{_x(1)}" y2="{_y(1)}" class="ideal"/>']
    for b in reliability_bins(p, correct):
        if b.count:
            body.append(
                f'<rect x="{_x(b.lo) + 1:.1f}" y="{_y(b.accuracy):.1f}" '
                f'width="{_x(b.hi) - _x(b.lo) - 2:.1f}" height="{_y(0) - _y(b.accuracy):.1f}" '
                f'class="bar"><title>p {b.lo:.1f}-{b.hi:.1f}: accuracy {b.accuracy:.2f} '
                f"(n={b.count})</title></rect>"
            )
    return _frame(title, _ticks() + "".join(body), "listener p(accept)", "accuracy")


def bars(values: Mapping[str, float], title: str, y_label: str = "accuracy") -> str:
    names = list(values)
    width = 1 / max(len(names), 1)
    body = []
    for i, name in enumerate(names):
        v = min(max(values[name], 0.0), 1.0)
        x0 = _x(i * width) + 2
        body.append(
            f'<rect x="{x0:.1f}" y="{_y(v):.1f}" width="{_x(width) - PAD - 4:.1f}" '
            f'height="{_y(0) - _y(v):.1f}" class="bar"><title>{escape(name)}: '
            f"{values[name]:.3f}</title></rect>"
            f'<text x="{x0 + (_x(width) - PAD) / 2:.1f}" y="{H - PAD + 10}" '
            f'transform="rotate(-30 {x0 + (_x(width) - PAD) / 2:.1f} {H - PAD + 10})" '
            f'text-anchor="end" class="tick">{escape(name[:12])}</text>'
        )
    return _frame(title, _ticks() + "".join(body), "", y_label)


def curve(points: Sequence[float], title: str, y_label: str) -> str:
    """A learning curve: the mean value after each step (step 0 is before any teaching)."""
    if not points:
        return _frame(title, "", "iteration", y_label)
    steps = max(len(points) - 1, 1)
    xy = [(_x(i / steps), _y(min(max(v, 0.0), 1.0))) for i, v in enumerate(points)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" class="dot"><title>iteration {i}: '
        f"{points[i]:.3f}</title></circle>"
        for i, (x, y) in enumerate(xy)
    )
    return _frame(
        title, _ticks() + f'<polyline points="{path}" class="line"/>' + dots, "iteration", y_label
    )


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
        curves = [
            [float(v) for v in e.get("curve", []) if isinstance(v, (int, float))] for e in episodes
        ]
        length = max((len(c) for c in curves), default=0)
        means = [_mean([c[i] for c in curves if len(c) > i]) for i in range(length)]
        return curve(means, f"{task}: learning curve", key)
    raise ValueError(f"unknown plot {plot!r}")
