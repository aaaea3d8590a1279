"""Is a drawing the target picture? ReGAL's pixel-overlap rule on binarized renders.

ReGAL (``visual_sim.vis_compare``) takes the union of the non-white pixels of both images and
scores the fraction of them whose gray values are exactly equal; a program is correct when the
score exceeds 0.98. On binary images (ours: no anti-aliasing) "equal inside the union" means
"ink in both", so the score is exactly the intersection-over-union of the two ink sets: the
judge computes it once from the ink masks and reports it as both ``overlap`` and ``iou``.
``overlap`` applies the rule as written to any gray images, e.g. ReGAL's JPEG renders.

The threshold is 0.995, not 0.98. ReGAL compared exact gray values of anti-aliased 2000x2000
renders, so a line moved by a fraction of a pixel already changed its edge pixels; the IoU of
our 512x512 binary renders is far more forgiving, and at 0.98 it accepted 4 of ReGAL's 600
perturbed programs (a ``forward`` 0.25 longer, a turn 2 degrees wider) whose drawing differs.
At 0.995 it rejects all of them (the closest scores 0.9905) while identical drawings score 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

THRESHOLD = 0.995
PAPER = 255
INK_BELOW = 128  # gray values under this count as ink when binarizing


@dataclass(frozen=True)
class Verdict:
    correct: bool
    overlap: float
    iou: float


def overlap(drawing: np.ndarray, target: np.ndarray) -> float:
    """ReGAL's score: equal pixels / pixels that are not white in either image (1 if both blank)."""
    _check_shapes(drawing, target)
    union = (drawing != PAPER) | (target != PAPER)
    total = int(union.sum())
    return 1.0 if total == 0 else float((drawing[union] == target[union]).sum() / total)


def iou(drawing: np.ndarray, target: np.ndarray) -> float:
    """Intersection over union of the binarized ink (1 if both blank)."""
    _check_shapes(drawing, target)
    a, b = drawing < INK_BELOW, target < INK_BELOW
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else float(np.count_nonzero(a & b) / union)


def judge(drawing: np.ndarray, target: np.ndarray, threshold: float = THRESHOLD) -> Verdict:
    """Correct when the overlap of the binarized images (their ink IoU) reaches ``threshold``.

    ReGAL's test was ``> 0.98`` on its renders; ``>=`` lets ``threshold=1.0`` mean
    "pixel-identical".
    """
    score = iou(drawing, target)
    return Verdict(correct=bool(score >= threshold), overlap=score, iou=score)


def _check_shapes(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"images of different shapes: {a.shape} and {b.shape}")
