"""Learning curves (validation accuracy per teaching iteration) drawn with PIL alone."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 640, 440
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 48, 88  # margins around the plot area (legend below)
COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860")
AXIS, GRID = "#000000", "#e5e5e5"


def _lighter(colour: str) -> str:
    """The colour mixed 70% with white, for the individual runs under the mean."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{int(c + 0.7 * (255 - c)):02x}" for c in (r, g, b))


def save_learning_curves(
    curves: Mapping[str, Sequence[Sequence[float]]],
    path: str | Path,
    title: str = "Validation accuracy per teaching iteration",
) -> Path:
    """Write a PNG with, per named group, its runs (thin, light) and their mean (thick).

    ``curves[name]`` is a list of runs, each the validation accuracy after iterations
    0 (the initial student), 1, 2, …; runs may differ in length (the mean uses the runs that
    reach an iteration).
    """
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font, small = ImageFont.load_default(size=14), ImageFont.load_default(size=11)
    x0, y0, x1, y1 = LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM
    steps = max((len(run) for runs in curves.values() for run in runs), default=1)
    values = [v for runs in curves.values() for run in runs for v in run] or [0.0, 1.0]
    low = max(0.0, min(values) - 0.05)
    high = min(1.0, max(values) + 0.05)
    if high - low < 0.1:
        low, high = max(0.0, low - 0.05), min(1.0, high + 0.05)

    def point(i: int, v: float) -> tuple[float, float]:
        x = x0 + (i / max(1, steps - 1)) * (x1 - x0)
        return x, y1 - (v - low) / (high - low) * (y1 - y0)

    for k in range(6):  # horizontal grid and y labels
        v = low + k * (high - low) / 5
        _, y = point(0, v)
        draw.line([(x0, y), (x1, y)], fill=GRID)
        draw.text((x0 - 8, y), f"{v:.2f}", fill=AXIS, font=small, anchor="rm")
    for i in range(steps):
        x, _ = point(i, low)
        draw.text((x, y1 + 6), str(i), fill=AXIS, font=small, anchor="mt")
    draw.rectangle([x0, y0, x1, y1], outline=AXIS)
    draw.text(((x0 + x1) / 2, y1 + 22), "teaching iteration", fill=AXIS, font=small, anchor="mt")
    draw.text((WIDTH / 2, 16), title, fill=AXIS, font=font, anchor="mt")

    legend_y = HEIGHT - 34
    legend_x = x0
    for n, (name, runs) in enumerate(curves.items()):
        colour = COLOURS[n % len(COLOURS)]
        for run in runs:
            if len(run) > 1:
                draw.line([point(i, v) for i, v in enumerate(run)], fill=_lighter(colour))
        means = [
            statistics.fmean(run[i] for run in runs if len(run) > i)
            for i in range(max((len(r) for r in runs), default=0))
        ]
        if len(means) > 1:
            draw.line([point(i, v) for i, v in enumerate(means)], fill=colour, width=3)
        for i, v in enumerate(means):
            x, y = point(i, v)
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
        label = f"{name} (mean of {len(runs)})"
        draw.line([(legend_x, legend_y + 6), (legend_x + 20, legend_y + 6)], fill=colour, width=3)
        draw.text((legend_x + 26, legend_y), label, fill=AXIS, font=small)
        legend_x += 40 + int(draw.textlength(label, font=small))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path
