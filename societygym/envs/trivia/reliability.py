"""Reliability diagrams drawn with PIL alone, so plotting needs no matplotlib."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from societygym.envs.trivia.metrics import ArrayLike, ece, reliability_bins

WIDTH, HEIGHT = 640, 520
LEFT, RIGHT, TOP, BOTTOM = 72, 24, 56, 64  # margins around the plot area
BAR, GAP, DIAGONAL, AXIS, GRID = "#4c72b0", "#dd8452", "#7f7f7f", "#000000", "#e5e5e5"


def save_reliability_diagram(
    p: ArrayLike,
    correct: ArrayLike,
    path: str | Path,
    n_bins: int = 10,
    title: str = "Reliability diagram",
) -> Path:
    """Write a PNG: accuracy per p(accept) bin against the diagonal of perfect calibration.

    Each non-empty bin shows a bar up to its accuracy, a thin orange tick at its mean p and
    its episode count above the bar; the title carries the ECE (:func:`metrics.ece`).
    """
    bins = reliability_bins(p, correct, n_bins)
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=14)
    small = ImageFont.load_default(size=11)
    x0, y0, x1, y1 = LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM  # plot area, y0 at the top

    def x_of(value: float) -> float:
        return x0 + value * (x1 - x0)

    def y_of(value: float) -> float:
        return y1 - value * (y1 - y0)

    for tick in (i / 5 for i in range(6)):
        label = f"{tick:.1f}"
        draw.line([(x_of(tick), y0), (x_of(tick), y1)], fill=GRID)
        draw.line([(x0, y_of(tick)), (x1, y_of(tick))], fill=GRID)
        draw.line([(x_of(tick), y1), (x_of(tick), y1 + 5)], fill=AXIS)
        draw.line([(x0 - 5, y_of(tick)), (x0, y_of(tick))], fill=AXIS)
        draw.text((x_of(tick), y1 + 8), label, fill=AXIS, font=font, anchor="mt")
        draw.text((x0 - 8, y_of(tick)), label, fill=AXIS, font=font, anchor="rm")

    for b in bins:
        if not b.count:
            continue
        left, right = x_of(b.lo) + 2, x_of(b.hi) - 2
        draw.rectangle([left, y_of(b.accuracy), right, y1], fill=BAR, outline=AXIS)
        draw.line([(left, y_of(b.mean_p)), (right, y_of(b.mean_p))], fill=GAP, width=3)
        count_y = min(y_of(b.accuracy), y_of(b.mean_p)) - 5
        draw.text(((left + right) / 2, count_y), f"n={b.count}", fill=AXIS, font=small, anchor="mb")

    draw.line([(x0, y1), (x1, y0)], fill=DIAGONAL, width=2)
    draw.rectangle([x0, y0, x1, y1], outline=AXIS)
    draw.text(((x0 + x1) / 2, HEIGHT - 12), "p(accept)", fill=AXIS, font=font, anchor="ms")
    _vertical_text(image, (18, (y0 + y1) / 2), "accuracy", font)
    error = ece(p, correct, n_bins)
    draw.text((WIDTH / 2, 18), f"{title}  (ECE = {error:.3f})", fill=AXIS, font=font, anchor="mm")
    legend = "bars: accuracy    orange: mean p(accept) of the bin    grey: perfect calibration"
    draw.text((WIDTH / 2, 38), legend, fill=DIAGONAL, font=small, anchor="mm")

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG")
    return path


def _vertical_text(
    image: Image.Image, center: tuple[float, float], text: str, font: ImageFont.ImageFont
) -> None:
    """Draw ``text`` rotated to read bottom-to-top (PIL cannot rotate text in place)."""
    left, top, right, bottom = font.getbbox(text)
    label = Image.new("L", (right - left + 2, bottom - top + 2), 0)
    ImageDraw.Draw(label).text((1 - left, 1 - top), text, fill=255, font=font)
    label = label.rotate(90, expand=True)
    corner = (round(center[0] - label.width / 2), round(center[1] - label.height / 2))
    image.paste(AXIS, (*corner, corner[0] + label.width, corner[1] + label.height), label)
