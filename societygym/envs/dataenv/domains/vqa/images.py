"""Images as the VQA domain passes them around: uint8 arrays, PNG data URIs, pixel digests.

Teachers send images inside JSON actions, so an image travels as a ``data:image/png;base64``
URI; the student sees ``size x size x 3`` uint8 arrays; the held-out check compares pixels.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io

import numpy as np
from PIL import Image, UnidentifiedImageError

DATA_URI = "data:image/png;base64,"


def to_array(image: Image.Image | np.ndarray, size: int) -> np.ndarray:
    """An RGB ``size x size`` uint8 array (resized with bilinear filtering when needed)."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(np.asarray(image, dtype=np.uint8))
    image = image.convert("RGB")
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.uint8)


def encode_png(image: Image.Image | np.ndarray) -> str:
    """An image as a PNG data URI, the form a teacher's JSON example carries it in."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(np.asarray(image, dtype=np.uint8))
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG")
    return DATA_URI + base64.b64encode(buffer.getvalue()).decode("ascii")


def is_data_uri(ref: str) -> bool:
    return ref.startswith("data:image/")


def decode_data_uri(ref: str) -> Image.Image:
    """The image of a ``data:image/...;base64,`` URI; ValueError says what was wrong."""
    header, _, payload = ref.partition(",")
    if not header.endswith(";base64") or not payload:
        raise ValueError("an image data URI must look like data:image/png;base64,<data>")
    try:
        raw = base64.b64decode(payload, validate=True)
        image = Image.open(io.BytesIO(raw))
        image.load()
    except (binascii.Error, UnidentifiedImageError, OSError) as error:
        raise ValueError(f"the image data could not be decoded: {error}") from error
    if max(image.size) > 4096:
        raise ValueError(f"the image is {image.size[0]}x{image.size[1]}; at most 4096 a side")
    return image


def pixel_digest(array: np.ndarray) -> str:
    """A hash of an image's pixels (shape included)."""
    digest = hashlib.sha256(str(array.shape).encode())
    digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]
