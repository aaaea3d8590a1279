"""Spaces for text and multimodal observations.

Gymnasium's ``spaces.Text`` only contains strings built from its charset, which by default
has no space, punctuation or accents, so a trivia question or an LLM utterance is "outside
the space". ``UnicodeText`` contains *any* ``str`` up to ``max_length`` and samples printable
text (with a few accented letters) so that env checkers exercise awkward input.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import create_shared_memory

SAMPLE_CHARSET = string.ascii_letters + string.digits + string.punctuation + " \n" + "éüñçß–’"


class UnicodeText(spaces.Text):
    """Any Python ``str`` whose length lies in ``[min_length, max_length]``.

    ``charset`` only drives ``sample()``; ``contains`` accepts every character.
    Text cannot travel through ``AsyncVectorEnv`` shared memory (it is encoded as charset
    indices there), so use ``AsyncVectorEnv(..., shared_memory=False)``.
    """

    def __init__(
        self,
        max_length: int,
        *,
        min_length: int = 0,
        charset: str = SAMPLE_CHARSET,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__(max_length, min_length=min_length, charset=charset, seed=seed)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"UnicodeText({self.min_length}, {self.max_length})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, UnicodeText)
            and self.min_length == other.min_length
            and self.max_length == other.max_length
        )

    __hash__ = spaces.Text.__hash__


@create_shared_memory.register(UnicodeText)
def _refuse_shared_memory(space: UnicodeText, n: int = 1, ctx: Any = None) -> Any:
    # Gymnasium's Text shared memory silently returns stale strings of the first charset
    # character; a clear error beats garbage observations.
    raise TypeError(
        "UnicodeText observations cannot use shared memory; create the vector env with "
        "gymnasium.vector.AsyncVectorEnv(env_fns, shared_memory=False)"
    )


def text_and_image(max_text_length: int, image_shape: tuple[int, int, int]) -> spaces.Dict:
    """The multimodal observation space: ``{"text": str, "image": uint8 HxWxC}``."""
    return spaces.Dict(
        {
            "text": UnicodeText(max_text_length),
            "image": spaces.Box(0, 255, shape=image_shape, dtype=np.uint8),
        }
    )


def text_and_image_observation(text: str, image: np.ndarray) -> dict[str, Any]:
    """A fresh multimodal observation (checkers require new objects on every call).

    Keys in sorted order, as ``spaces.Dict`` (and so vector envs) order them.
    """
    return {"image": np.array(image, dtype=np.uint8, copy=True), "text": str(text)}
