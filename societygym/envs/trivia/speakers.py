"""Speakers that produce utterances for the listener env (and for tests and benchmarks).

``ScriptedSpeaker`` is deterministic given the RNG: it answers correctly with probability
``p_correct`` (otherwise it gives a distractor of the same kind), draws a latent confidence
from Beta(a, b) — skewed high when right and low when wrong, by ``informativeness`` — and
phrases the answer with a template from the matching confidence band. A listener that reads
the phrasing well can therefore beat chance, but not perfectly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from societygym.envs.trivia.data import TriviaItem
from societygym.envs.trivia.prompts import SPEAKER_PROMPT
from societygym.llm.base import LLM

# Confidence bands from unsure to certain; {a} is the answer.
PHRASINGS: tuple[tuple[str, ...], ...] = (
    (
        "I have no idea, but I'll randomly guess {a}.",
        "Honestly I'm not sure at all. Maybe {a}?",
        "This is a wild guess: {a}.",
    ),
    (
        "I think it might be {a}, but I'm not certain.",
        "Possibly {a}, if I recall correctly.",
        "My best guess would be {a}, though I could be wrong.",
    ),
    (
        "It's {a}.",
        "The answer is {a}.",
        "I believe the answer is {a}, which is what I remember reading.",
    ),
    (
        "I'm confident it is {a}, because I remember it clearly.",
        "It's {a}; I'm about 85% sure.",
        "The answer is {a}, as I learned in school.",
    ),
    (
        "I'm absolutely certain the answer is {a}.",
        "Definitely {a}. I studied this, no doubt about it.",
        "Without a doubt it is {a}; I'm 100% sure.",
    ),
)


class Speaker(Protocol):
    def speak(self, items: Sequence[TriviaItem], rng: np.random.Generator) -> list[str]:
        """One utterance per item."""
        ...


class ScriptedSpeaker:
    def __init__(self, p_correct: float = 0.6, informativeness: float = 2.0) -> None:
        if not 0.0 <= p_correct <= 1.0:
            raise ValueError("p_correct must lie in [0, 1]")
        self.p_correct = p_correct
        self.informativeness = informativeness

    def speak(self, items: Sequence[TriviaItem], rng: np.random.Generator) -> list[str]:
        return [self._utterance(item, items, rng) for item in items]

    def _utterance(
        self, item: TriviaItem, pool: Sequence[TriviaItem], rng: np.random.Generator
    ) -> str:
        correct = rng.random() < self.p_correct
        answer = item.answers[0] if correct else self._wrong_answer(item, pool, rng)
        high, low = 1.0 + self.informativeness, 1.0
        confidence = rng.beta(high, low) if correct else rng.beta(low, high)
        band = PHRASINGS[min(len(PHRASINGS) - 1, int(confidence * len(PHRASINGS)))]
        return band[int(rng.integers(len(band)))].format(a=answer)

    @staticmethod
    def _wrong_answer(
        item: TriviaItem, pool: Sequence[TriviaItem], rng: np.random.Generator
    ) -> str:
        if item.distractors:
            return item.distractors[int(rng.integers(len(item.distractors)))]
        others = [other for other in pool if other.answers[0] not in item.answers]
        if not others:
            return "unknown"
        return others[int(rng.integers(len(others)))].answers[0]


class LLMSpeaker:
    """Samples an utterance from any LLM with LACIE's speaker prompt."""

    def __init__(
        self, llm: LLM | str = "embedded", temperature: float = 0.7, max_tokens: int = 80
    ) -> None:
        if isinstance(llm, str):  # loaded when first used, not when the object is made
            from societygym.llm.lazy import LazyLLM

            llm = LazyLLM(llm)
        self.llm = llm
        self.temperature = temperature
        self.max_tokens = max_tokens

    def speak(self, items: Sequence[TriviaItem], rng: np.random.Generator) -> list[str]:
        prompts = [SPEAKER_PROMPT.format(question=item.question) for item in items]
        seed = int(rng.integers(2**31 - 1))
        generations = self.llm.generate(
            prompts,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            stop=["\nQuestion:", "\n\n"],
            seed=seed,
        )
        return [g[0].text.strip() for g in generations]


def make_speaker(spec: Speaker | str = "scripted") -> Speaker:
    """``"scripted"`` (default), ``"llm"`` (embedded model), ``"llm:<spec>"`` or an instance."""
    from societygym.specs import resolve

    return resolve(spec, "speaker", {"scripted": ScriptedSpeaker}, LLMSpeaker)
