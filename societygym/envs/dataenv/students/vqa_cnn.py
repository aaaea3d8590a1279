"""The VQA domain's embedded student: a small CNN + bag-of-words question encoder.

It answers by classifying over a fixed answer vocabulary (the domain's ``answers``), which
is how easy-VQA's reference model works; FiLM layers let the question modulate the image
features, so "how many red shapes" and "where is the blue circle" read different parts of
the same feature map. It trains from scratch in seconds on a CPU, so a teaching episode
with a real student fits in a test. All randomness comes from the ``seed`` arguments;
global torch RNG state is left as it was.
"""

from __future__ import annotations

import copy
import itertools
import os
import re
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from societygym import progress

WEIGHTS_FILE = "vqa_cnn.pt"
BUCKETS = 2048  # hashed words and word bigrams


def question_features(question: str) -> list[int]:
    """Hashed word and bigram ids of a question (stable across runs: crc32, not hash())."""
    words = re.findall(r"[a-z0-9]+", question.lower()) or ["<empty>"]
    grams = words + [f"{a}_{b}" for a, b in itertools.pairwise(words)]
    return [zlib.crc32(g.encode()) % BUCKETS for g in grams]


@dataclass
class CNNTrainStats:
    """What one training call did."""

    examples: int = 0
    skipped: int = 0  # answers outside the vocabulary (not trainable by a classifier)
    optimizer_steps: int = 0
    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "examples": self.examples,
            "skipped": self.skipped,
            "optimizer_steps": self.optimizer_steps,
            "seconds": round(self.seconds, 3),
            "first_loss": self.losses[0] if self.losses else None,
            "last_loss": self.losses[-1] if self.losses else None,
        }


def _build_model(n_answers: int, width: int) -> Any:
    import torch
    from torch import nn

    class FiLMNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            w = width
            # a strided first layer: most of the compute of a CNN sits at full resolution
            self.stem = nn.Sequential(
                nn.Conv2d(5, w, 5, stride=2, padding=2),
                nn.BatchNorm2d(w),
                nn.ReLU(),
                nn.Conv2d(w, 2 * w, 3, padding=1),
                nn.BatchNorm2d(2 * w),
                nn.ReLU(),
                nn.MaxPool2d(2),
            )
            self.film_convs = nn.ModuleList(
                [nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.Conv2d(4 * w, 4 * w, 3, padding=1)]
            )
            # normalisation without learned scale: FiLM supplies it
            self.film_norms = nn.ModuleList(
                [nn.BatchNorm2d(4 * w, affine=False), nn.BatchNorm2d(4 * w, affine=False)]
            )
            self.words = nn.EmbeddingBag(BUCKETS, 64, mode="mean")
            self.question = nn.Sequential(nn.Linear(64, 128), nn.ReLU())
            self.film = nn.Linear(128, 2 * 2 * 4 * w)
            self.pool = nn.AdaptiveMaxPool2d(4)
            self.head = nn.Sequential(
                nn.Linear(4 * w * 16 + 128, 256), nn.ReLU(), nn.Linear(256, n_answers)
            )

        def forward(self, images: Any, tokens: Any, offsets: Any) -> Any:
            q = self.question(self.words(tokens, offsets))
            gammas_betas = self.film(q).view(q.shape[0], 2, 2, -1)
            # two coordinate channels, so position is easy to read off (CoordConv)
            n, _, h, w_ = images.shape
            ys = torch.linspace(-1, 1, h).view(1, 1, h, 1).expand(n, 1, h, w_)
            xs = torch.linspace(-1, 1, w_).view(1, 1, 1, w_).expand(n, 1, h, w_)
            x = self.stem(torch.cat([images, ys, xs], dim=1))
            for i, conv in enumerate(self.film_convs):
                x = self.film_norms[i](conv(x))
                gamma, beta = gammas_betas[:, i, 0], gammas_betas[:, i, 1]
                x = torch.relu(x * (1 + gamma[:, :, None, None]) + beta[:, :, None, None])
                x = nn.functional.max_pool2d(x, 2)
            return self.head(torch.cat([self.pool(x).flatten(1), q], dim=1))

    return FiLMNet()


class VQACNNStudent:
    """A ``Student`` for the VQA domain: ``answer`` takes ``(image, question)`` pairs,
    ``train`` takes ``(image, question, answer)`` triples.

    ``answers``: the answer vocabulary; ``epochs``, ``batch_size``, ``learning_rate``: one
    ``train`` call (continue-training from the current weights). ``threads``: torch threads
    whenever the student computes (restored afterwards; None keeps torch's setting). One is
    the default: a model this small gains little from intra-op threads, loses several times
    its speed when the cores are shared. (Forked ``AsyncVectorEnv`` workers are safe with any
    setting: torch is imported through ``fork_safe_torch``.)
    """

    def __init__(
        self,
        answers: Sequence[str],
        image_size: int = 64,
        seed: int = 0,
        width: int = 16,
        epochs: int = 8,
        batch_size: int = 16,
        learning_rate: float = 3e-3,
        eval_batch_size: int = 256,
        threads: int | None = 1,
    ) -> None:
        from societygym.llm.torch_runtime import fork_safe_torch

        torch = fork_safe_torch()
        if epochs < 1 or batch_size < 1 or learning_rate <= 0:
            raise ValueError("epochs and batch_size must be >= 1 and learning_rate > 0")
        self.answers = tuple(answers)
        self.index = {a: i for i, a in enumerate(self.answers)}
        self.image_size = int(image_size)
        self.epochs, self.batch_size = int(epochs), int(batch_size)
        self.learning_rate = float(learning_rate)
        self.eval_batch_size = int(eval_batch_size)
        self.threads = threads
        with torch.random.fork_rng(devices=[]), self._threads():
            torch.manual_seed(seed)
            self.model = _build_model(len(self.answers), width)
            self._initial = copy.deepcopy(self.model.state_dict())

    @contextmanager
    def _threads(self) -> Iterator[None]:
        import torch

        before = torch.get_num_threads()
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        try:
            yield
        finally:
            torch.set_num_threads(before)

    # --- batching -----------------------------------------------------------------------------

    def _batch(self, images: Sequence[np.ndarray], questions: Sequence[str]) -> tuple:
        import torch

        array = np.stack([np.asarray(i, dtype=np.uint8) for i in images])
        if array.shape[1:] != (self.image_size, self.image_size, 3):
            raise ValueError(
                f"images must be {self.image_size}x{self.image_size}x3, got {array.shape[1:]}"
            )
        pixels = torch.from_numpy(array).permute(0, 3, 1, 2).float().div_(255.0).sub_(0.5)
        features = [question_features(q) for q in questions]
        offsets = torch.tensor(np.cumsum([0] + [len(f) for f in features[:-1]]))
        tokens = torch.tensor([t for f in features for t in f])
        return pixels, tokens, offsets

    # --- Student protocol ---------------------------------------------------------------------

    def train(self, pairs: Sequence[tuple[np.ndarray, str, str]], seed: int) -> CNNTrainStats:
        import torch

        start = time.perf_counter()
        usable = [(i, q, self.index[a]) for i, q, a in pairs if a in self.index]
        stats = CNNTrainStats(examples=len(usable), skipped=len(pairs) - len(usable))
        if not usable:
            return stats
        rng = np.random.default_rng(seed)
        optimizer = torch.optim.Adam(self.model.parameters(), lr=self.learning_rate)
        self.model.train()
        with self._threads():
            self._epochs(usable, rng, optimizer, stats)
        stats.seconds = time.perf_counter() - start
        return stats

    def _epochs(self, usable: list, rng: np.random.Generator, optimizer: Any, stats: Any) -> None:
        import torch

        steps = self.epochs * -(-len(usable) // self.batch_size)
        with progress.stage(steps, "training student", "step") as bar:
            for epoch in range(self.epochs):
                order = rng.permutation(len(usable))
                for begin in range(0, len(order), self.batch_size):
                    chunk = [usable[k] for k in order[begin : begin + self.batch_size]]
                    images, questions = [c[0] for c in chunk], [c[1] for c in chunk]
                    labels = torch.tensor([c[2] for c in chunk])
                    logits = self.model(*self._batch(images, questions))
                    loss = torch.nn.functional.cross_entropy(logits, labels)
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    stats.optimizer_steps += 1
                    stats.losses.append(round(loss.item(), 4))
                    bar.set_postfix_str(f"epoch {epoch + 1}/{self.epochs}", refresh=False)
                    bar.update(1)

    def answer(
        self, inputs: Sequence[tuple[np.ndarray, str]], max_new_tokens: int = 0
    ) -> list[str]:
        import torch

        self.model.eval()
        out: list[str] = []
        with torch.inference_mode(), self._threads():
            for begin in range(0, len(inputs), self.eval_batch_size):
                chunk = inputs[begin : begin + self.eval_batch_size]
                logits = self.model(*self._batch([c[0] for c in chunk], [c[1] for c in chunk]))
                out += [self.answers[k] for k in logits.argmax(dim=1).tolist()]
                progress.generated(len(chunk))
        return out

    def reset(self) -> None:
        with self._threads():
            self.model.load_state_dict(self._initial)

    def save(self, folder: str | os.PathLike) -> None:
        import torch

        torch.save(self.model.state_dict(), Path(folder) / WEIGHTS_FILE)

    def load(self, folder: str | os.PathLike) -> None:
        import torch

        with self._threads():
            state = torch.load(Path(folder) / WEIGHTS_FILE, weights_only=True)
            self.model.load_state_dict(state)
