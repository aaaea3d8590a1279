"""A student that only memorizes: the worst case for a teaching reward that copies can buy.

``MemorizingStudent`` answers a question with the response of the most similar question it
was trained on (1-nearest neighbour over word 3-grams, the tokens of ``near_duplicates``),
so trivially rewritten copies of a question are recalled perfectly while nothing is learned
that carries to a new question. It measures how much reward copying can earn, cheaply and
deterministically on a CPU (``benchmarks/bench_copying_teacher.py``,
``tests/test_dataenv_copying.py``); a language model learns less from copies, and more
from fresh items, than this.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from societygym.envs.dataenv.near_duplicates import shingles, tokens
from societygym.envs.dataenv.trainer import TrainStats

FILE = "memorized.json"


class MemorizingStudent:
    """Text-in, text-out student; see the module docstring. Implements ``Student``."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._pairs: list[tuple[str, str]] = []
        self._grams: list[frozenset[tuple[str, ...]]] = []

    def train(self, pairs: Sequence[Any], seed: int) -> TrainStats:
        for question, response in pairs:
            self._pairs.append((question, response))
            self._grams.append(shingles(tokens(question)))
        return TrainStats(examples=len(pairs))

    def _recall(self, question: str) -> str:
        grams = shingles(tokens(question))
        best, score = "", 0.0
        for (_, response), known in zip(self._pairs, self._grams, strict=True):
            union = len(grams | known)
            similarity = len(grams & known) / union if union else 0.0
            if similarity > score:
                best, score = response, similarity
        return best

    def answer(self, inputs: Sequence[Any], max_new_tokens: int) -> list[str]:
        return [self._recall(question) for question in inputs]

    def save(self, folder: str | os.PathLike) -> None:
        (Path(folder) / FILE).write_text(json.dumps(self._pairs))

    def load(self, folder: str | os.PathLike) -> None:
        self.reset()
        self.train([tuple(p) for p in json.loads((Path(folder) / FILE).read_text())], seed=0)
