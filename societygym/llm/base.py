"""The LLM protocol every backend implements, and the records it returns.

A prompt is either plain text or a list of chat messages (``{"role", "content"}``).
``generate`` is batched over prompts and returns ``n`` generations per prompt;
``score`` returns the total log-probability of each given continuation after a prompt
(listeners compute P(yes) / (P(yes) + P(no)) from it), and ``score_batch`` does that for many
prompts in as few model passes as the backend can. ``BaseLLM`` derives ``score`` from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

Message = dict[str, str]
Prompt = str | list[Message]


@dataclass
class Generation:
    """One sampled continuation."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"  # "stop" | "length"
    token_ids: list[int] | None = None
    logprobs: list[float] | None = None


@dataclass
class Usage:
    """Token counts accumulated by a backend; envs copy a delta of it into ``info``."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, prompt_tokens: int, completion_tokens: int = 0) -> None:
        self.calls += 1
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens

    def snapshot(self) -> Usage:
        return Usage(self.calls, self.prompt_tokens, self.completion_tokens)

    def since(self, earlier: Usage) -> dict[str, int]:
        return {
            "calls": self.calls - earlier.calls,
            "prompt_tokens": self.prompt_tokens - earlier.prompt_tokens,
            "completion_tokens": self.completion_tokens - earlier.completion_tokens,
        }


@dataclass(frozen=True)
class SamplingParams:
    n: int = 1
    max_tokens: int = 64
    temperature: float = 0.0  # 0 means greedy
    top_p: float = 1.0
    stop: tuple[str, ...] = field(default_factory=tuple)
    seed: int | None = None


@runtime_checkable
class LLM(Protocol):
    """What agents, listeners, partners and teachers call."""

    name: str
    usage: Usage

    def generate(
        self,
        prompts: Sequence[Prompt],
        *,
        n: int = 1,
        max_tokens: int = 64,
        temperature: float = 0.0,
        top_p: float = 1.0,
        stop: Sequence[str] | None = None,
        seed: int | Sequence[int] | None = None,
    ) -> list[list[Generation]]:
        """``n`` generations for each prompt, in prompt order. ``seed``: one for the call, or
        one per prompt (a prompt's samples then depend on its own seed, not on the batch)."""
        ...

    def score(self, prompt: Prompt, continuations: Sequence[str]) -> list[float]:
        """Total log-probability of each continuation following ``prompt``."""
        ...

    def score_batch(
        self, prompts: Sequence[Prompt], continuations_per_prompt: Sequence[Sequence[str]]
    ) -> list[list[float]]:
        """``score`` for each prompt with its own continuations."""
        ...


class BaseLLM:
    """Shared plumbing for our backends: a usage counter, and ``score`` as a one-prompt batch."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.usage = Usage()

    def score(self, prompt: Prompt, continuations: Sequence[str]) -> list[float]:
        return self.score_batch([prompt], [continuations])[0]

    def score_batch(
        self, prompts: Sequence[Prompt], continuations_per_prompt: Sequence[Sequence[str]]
    ) -> list[list[float]]:
        raise NotImplementedError
