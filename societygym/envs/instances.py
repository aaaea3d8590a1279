"""Addressing task instances: every episode is ``(env id, seed, index)``."""

from __future__ import annotations

import numpy as np


def pick_index(rng: np.random.Generator, count: int, options: dict | None) -> int:
    """``options={"index": i}`` addresses instance ``i``; otherwise the env's RNG picks one."""
    if count <= 0:
        raise ValueError("the env has no task instances")
    if options and "index" in options:
        index = int(options["index"])
        if not 0 <= index < count:
            raise IndexError(f"instance index {index} out of range [0, {count})")
        return index
    return int(rng.integers(count))
