"""Turning observations, actions and infos into JSON for episode traces."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

MAX_INLINE_ARRAY = 64  # larger arrays are summarized (or saved as images) instead of inlined


class Jsonifier:
    """Converts values to JSON-safe data, saving image arrays as PNGs under ``image_dir``."""

    def __init__(self, image_dir: Path | None = None) -> None:
        self.image_dir = image_dir
        self._images = 0

    def __call__(self, value: Any) -> Any:
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else str(value)
        if isinstance(value, np.generic):
            return self(value.item())
        if isinstance(value, np.ndarray):
            return self._array(value)
        if isinstance(value, dict):
            return {str(k): self(v) for k, v in value.items()}
        if isinstance(value, (list, tuple, set, frozenset)):
            return [self(v) for v in value]
        if isinstance(value, Path):
            return str(value)
        return repr(value)

    def _array(self, array: np.ndarray) -> Any:
        if array.size <= MAX_INLINE_ARRAY:
            return self(array.tolist())
        is_image = array.dtype == np.uint8 and array.ndim == 3 and array.shape[2] in (1, 3, 4)
        if is_image and self.image_dir is not None:
            from PIL import Image

            self.image_dir.mkdir(parents=True, exist_ok=True)
            self._images += 1
            path = self.image_dir / f"image-{self._images:05d}.png"
            Image.fromarray(array.squeeze(-1) if array.shape[2] == 1 else array).save(path)
            return {"image": path.name, "shape": list(array.shape)}
        return {"array": {"shape": list(array.shape), "dtype": str(array.dtype)}}
