"""Choosing the next token and cutting at stop strings: shared by ``TransformersLLM`` and
its continuous-batching decoder."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from societygym.llm.base import SamplingParams

if TYPE_CHECKING:
    import torch


def pick_token(logits: torch.Tensor, params: SamplingParams, generator: Any) -> torch.Tensor:
    """Next token per row: argmax, or a temperature / nucleus (top-p) sample drawn from
    ``generator``: one shared by the rows, or a list of one per row (a row's draws then do not
    depend on which other rows share the batch; ``None`` in the list is the global RNG)."""
    import torch

    if params.temperature <= 0:
        return logits.argmax(-1)
    probs = (logits / params.temperature).softmax(-1)
    if params.top_p < 1:
        sorted_probs, index = probs.sort(-1, descending=True)
        # Drop a token once the tokens ranked above it already hold top_p of the mass, so the
        # most likely token always survives.
        dropped = sorted_probs.cumsum(-1) - sorted_probs >= params.top_p
        probs = torch.zeros_like(probs).scatter(-1, index, sorted_probs.masked_fill(dropped, 0))
    if isinstance(generator, list):
        rows = zip(probs, generator, strict=True)
        return torch.cat([torch.multinomial(p[None], 1, generator=g)[:, 0] for p, g in rows])
    return torch.multinomial(probs, 1, generator=generator)[:, 0]


def stop_at(text: str, stop: Sequence[str]) -> int | None:
    """Index of the earliest stop string in ``text``, if any."""
    hits = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    return min(hits) if hits else None
