"""Deterministic vector-to-raster rendering of turtle segments (numpy only, no anti-aliasing).

A pixel is ink exactly when its centre lies within ``radius`` pixels of a drawn segment. That
rule is geometric, so a line drawn in one stroke or in several collinear pieces gives the same
pixels, and two renders of one drawing are byte-identical. ReGAL drew with matplotlib into a
JPEG, whose anti-aliasing and compression made its exact-gray-value judge fragile.
"""

from __future__ import annotations

import numpy as np

from societygym.envs.programs.logo.dsl import CANVAS_HALF, run_program

RESOLUTION = 512
RADIUS = 1.0  # pixels: lines are about two pixels wide
INK, PAPER = 0, 255


def out_of_canvas(segments: np.ndarray) -> bool:
    """True if any drawn segment reaches outside the [-50, 50]² canvas (it gets clipped)."""
    return bool(np.any(np.abs(segments) > CANVAS_HALF))


def ink_mask(segments: np.ndarray, resolution: int = RESOLUTION, radius: float = RADIUS):
    """Boolean ``resolution x resolution`` mask of the pixels covered by the segments."""
    mask = np.zeros((resolution, resolution), dtype=bool)
    segments = np.asarray(segments, dtype=np.float64).reshape(-1, 4)
    if not len(segments):
        return mask
    scale = resolution / (2 * CANVAS_HALF)
    # pixel coordinates: columns grow with x, rows grow downwards (y up on the canvas)
    cols = (segments[:, [0, 2]] + CANVAS_HALF) * scale
    rows = (CANVAS_HALF - segments[:, [1, 3]]) * scale
    starts, ends = _split(
        np.stack([cols[:, 0], rows[:, 0]], 1), np.stack([cols[:, 1], rows[:, 1]], 1)
    )
    # every piece is at most one pixel long, so a fixed window around its middle holds all the
    # pixel centres within ``radius`` of it
    middle = (starts + ends) / 2
    window = 2 * int(np.ceil(radius + 1))
    offsets = np.arange(window) - window // 2
    base = np.floor(middle).astype(np.int64)
    pixel_cols = base[:, 0, None, None] + offsets[None, None, :]
    pixel_rows = base[:, 1, None, None] + offsets[None, :, None]
    distance = _distance(pixel_cols + 0.5, pixel_rows + 0.5, starts, ends)
    inside = (distance <= radius) & (pixel_cols >= 0) & (pixel_cols < resolution)
    inside &= (pixel_rows >= 0) & (pixel_rows < resolution)
    hit_rows, hit_cols = (
        np.broadcast_to(pixel_rows, inside.shape),
        np.broadcast_to(pixel_cols, inside.shape),
    )
    mask[hit_rows[inside], hit_cols[inside]] = True
    return mask


def _split(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cut every segment into equal collinear pieces of at most one pixel."""
    lengths = np.hypot(*(ends - starts).T)
    pieces = np.maximum(1, np.ceil(lengths)).astype(np.int64)
    owner = np.repeat(np.arange(len(starts)), pieces)
    first = np.cumsum(pieces) - pieces
    index = np.arange(len(owner)) - first[owner]
    step = (ends - starts)[owner] / pieces[owner, None]
    piece_starts = starts[owner] + step * index[:, None]
    return piece_starts, piece_starts + step


def _distance(px: np.ndarray, py: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Distance from points (broadcast over pieces x window x window) to each piece."""
    ax, ay = starts[:, 0, None, None], starts[:, 1, None, None]
    dx, dy = (ends - starts)[:, 0, None, None], (ends - starts)[:, 1, None, None]
    squared = dx * dx + dy * dy
    safe = np.where(squared > 0, squared, 1.0)
    t = np.clip(((px - ax) * dx + (py - ay) * dy) / safe, 0.0, 1.0)
    return np.hypot(px - (ax + t * dx), py - (ay + t * dy))


def render(segments: np.ndarray, resolution: int = RESOLUTION, radius: float = RADIUS):
    """Grayscale uint8 image: black ink on white paper."""
    return np.where(ink_mask(segments, resolution, radius), INK, PAPER).astype(np.uint8)


def render_program(source: str, resolution: int = RESOLUTION) -> np.ndarray:
    """Run a trusted program (a reference solution) in this process and render it."""
    return render(run_program(source), resolution)


def to_rgb(gray: np.ndarray) -> np.ndarray:
    """The same picture with three channels, as observations carry it."""
    rgb = np.empty((*gray.shape, 3), dtype=np.uint8)
    rgb[...] = gray[:, :, None]  # a broadcast copy: several times faster than np.repeat
    return rgb


def side_by_side(target: np.ndarray, drawing: np.ndarray | None) -> np.ndarray:
    """RGB panel: the target, then the drawing coloured against it (black where both have ink,
    red for extra ink, light blue for missing ink); a blank right half before any drawing."""
    right = np.full((*target.shape, 3), PAPER, dtype=np.uint8)
    if drawing is not None:
        target_ink, drawing_ink = target < 128, drawing < 128
        right[target_ink & drawing_ink] = (0, 0, 0)
        right[drawing_ink & ~target_ink] = (220, 30, 30)
        right[target_ink & ~drawing_ink] = (150, 190, 240)
    gap = np.full((target.shape[0], 8, 3), 200, dtype=np.uint8)
    return np.concatenate([to_rgb(target), gap, right], axis=1)
