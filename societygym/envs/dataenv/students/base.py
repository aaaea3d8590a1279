"""What a teaching env needs from a student; any object with these methods plugs in."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Student(Protocol):
    """A trainable model behind ``step()``.

    ``answer`` gets what the domain's ``student_input`` returns (question text for text
    domains) and ``train`` what its ``training_pair`` returns, so a domain and its student
    agree on the format (text pairs for language models; image, question, answer for VQA).
    ``train`` returns an object with ``to_dict()`` (``TrainStats`` for the built-in ones).
    """

    def train(self, pairs: Sequence[Any], seed: int) -> Any: ...

    def answer(self, inputs: Sequence[Any], max_new_tokens: int) -> list[str]: ...

    def reset(self) -> None:
        """Back to the initial weights."""

    def save(self, folder: str | os.PathLike) -> None: ...

    def load(self, folder: str | os.PathLike) -> None: ...
