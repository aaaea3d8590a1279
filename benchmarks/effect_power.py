"""Power of a paired comparison over seeds: its 95% interval, the smallest difference it
would detect, and the seeds or evaluation items a target interval needs.

Each seed gives one paired difference (trained - base on the same seed). Its variance has
two parts: training noise (which data, which initialisation) and measurement noise (which
items happen to be right on a finite evaluation set). The measurement part is taken as
that of two independent binomial accuracies on ``items`` items, ``2 p (1 - p) / items``;
the two teachers are scored on the same items, so the real part is smaller and the item
counts this asks for are conservative.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from scipy.stats import t as student_t


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError(f"df must be >= 1, got {df}")
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    return float(student_t.ppf(p, df))


def half_width(sd: float, n: int) -> float:
    """Half the two-sided 95% Student-t interval of a mean of ``n`` values with spread ``sd``."""
    return t_quantile(0.975, n - 1) * sd / math.sqrt(n)


def minimum_detectable(sd: float, n: int, power: float = 0.8) -> float:
    """The smallest true mean difference a two-sided 5% paired t-test over ``n`` seeds
    detects with probability ``power``."""
    return (t_quantile(0.975, n - 1) + t_quantile(power, n - 1)) * sd / math.sqrt(n)


def measurement_variance(accuracy: float, items: int) -> float:
    """Variance of a paired accuracy difference from a finite evaluation set alone."""
    return 2 * accuracy * (1 - accuracy) / items


def seeds_needed(sd: float, target: float, most: int = 10_000) -> int:
    """The fewest seeds whose 95% half-width is at most ``target`` at this spread."""
    n = 2
    while n < most and half_width(sd, n) > target:
        n += 1
    return n


def items_needed(train_variance: float, accuracy: float, seeds: int, target: float) -> int | None:
    """Evaluation items per teacher for a 95% half-width ``target`` over ``seeds`` seeds,
    or None when training noise alone is too wide (more seeds are needed, not items)."""
    room = seeds * (target / t_quantile(0.975, seeds - 1)) ** 2 - train_variance
    if room <= 0:
        return None
    return math.ceil(2 * accuracy * (1 - accuracy) / room)


@dataclass(frozen=True)
class Power:
    """What a paired comparison over ``seeds`` seeds could resolve."""

    seeds: int
    items: int
    sd: float  # of the per-seed differences
    half_width: float  # of the achieved 95% interval
    mde80: float  # minimum detectable difference at 80% power
    train_sd: float  # the spread left after the measurement part
    seeds_needed: int  # for ``target`` at these items
    items_needed: int | None  # for ``target`` at these seeds (None: seeds are the limit)
    target: float

    def to_dict(self) -> dict[str, Any]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def power(differences: Sequence[float], accuracy: float, items: int, target: float) -> Power:
    """The power of paired ``differences`` (one per seed, at least two) measured on
    ``items`` evaluation items at a mean accuracy ``accuracy``."""
    if len(differences) < 2:
        raise ValueError("power needs at least two paired differences")
    n, sd = len(differences), statistics.stdev(differences)
    train_variance = max(0.0, sd**2 - measurement_variance(accuracy, items))
    return Power(
        seeds=n,
        items=items,
        sd=sd,
        half_width=half_width(sd, n),
        mde80=minimum_detectable(sd, n),
        train_sd=math.sqrt(train_variance),
        seeds_needed=seeds_needed(sd, target),
        items_needed=items_needed(train_variance, accuracy, n, target),
        target=target,
    )
