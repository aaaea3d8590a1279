"""The contracts between envs, agents, runners and LLMs, declared in one place.

An env class may offer agents a prompt and a parser (``PromptingEnv``), reports a summary
of many episodes (``ReportingEnv``) and may declare difficulty levels (``LeveledEnv``); the
episode engine and ``LLMAgent`` look these up through ``prompt_hooks`` and ``summarizer``
only, ``societygym.curriculum`` through ``difficulty_levels``. An LLM that also offers
``ContinuousLLM`` lets the engine decode many env copies in one continuously refilled batch.
``Agent``, ``LLM`` and ``Student`` are re-exported so that signatures can name them from here.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from societygym.agents.base import Agent
from societygym.llm.base import LLM, Generation, Prompt, SamplingParams

if TYPE_CHECKING:
    import numpy as np

    from societygym.envs.dataenv.students.base import Student

__all__ = [
    "LLM",
    "Agent",
    "ContinuousLLM",
    "Decoder",
    "LeveledEnv",
    "PromptingEnv",
    "ReportingEnv",
    "SamplingEnv",
    "Student",
    "difficulty_levels",
    "plausible_sampler",
    "prompt_hooks",
    "summarizer",
    "supports_continuous",
]


@runtime_checkable
class PromptingEnv(Protocol):
    """What an env class offers an LLM agent: its prompt template (``{observation}`` is
    replaced by the observation's text) and the parser from a completion to an action."""

    agent_prompt: str

    @staticmethod
    def parse_llm_action(text: str) -> Any: ...


@runtime_checkable
class SamplingEnv(Protocol):
    """An env class that can sample a plausible action (``random-valid`` baseline agent): a
    random answer from the env's answer vocabulary, a random valid command, a random program
    of its DSL. ``observations`` are the episode's so far (the reset one first, the current
    one last); all randomness comes from ``rng``."""

    @staticmethod
    def sample_plausible_action(
        observations: Sequence[Any], info: Mapping[str, Any], rng: np.random.Generator
    ) -> Any: ...


@runtime_checkable
class ReportingEnv(Protocol):
    """An env class that summarizes many episodes' final infos into named metrics (and may
    write plots into ``out_dir``). A ``summarize`` that also takes ``step_infos`` gets each
    episode's infos after reset and after every step from ``societygym run`` (e.g. for
    per-step curves that the final info does not hold; see ``takes_step_infos``)."""

    @staticmethod
    def summarize(
        final_infos: Sequence[Mapping[str, Any]], out_dir: Path | None
    ) -> dict[str, float]: ...


@runtime_checkable
class LeveledEnv(Protocol):
    """An env class with difficulty levels, easiest first: ``difficulty_levels[k - 1]``
    describes level ``k``, which its constructor plays with ``difficulty=k``; its default,
    ``difficulty=None``, keeps the env's usual mix (``societygym.envs.levels``)."""

    difficulty_levels: tuple[str, ...]


class Decoder(Protocol):
    """A running decoding batch: rows are submitted one at a time and come back finished."""

    @property
    def busy(self) -> bool: ...

    def submit(self, ids: list[int], tag: Any, generator: Any = None) -> None:
        """Queue a row; ``generator`` (from ``ContinuousLLM.row_generator``) samples it alone."""
        ...

    def step(self) -> list[tuple[Any, Generation]]: ...


@runtime_checkable
class ContinuousLLM(Protocol):
    """An LLM whose prompts can join a running batch one at a time (``TransformersLLM``)."""

    device: Any

    def encode(self, prompt: Prompt) -> list[int]: ...

    def decoder(
        self, params: SamplingParams, *, slots: int | None = None, generator: Any = None
    ) -> Decoder: ...

    def row_generator(self, seed: int, copy: int = 0) -> Any: ...


def prompt_hooks(env_class: type | None) -> tuple[str | None, Callable[[str], Any] | None]:
    """The env class's prompt template and parser, each None where it offers none."""
    return (
        getattr(env_class, "agent_prompt", None),
        getattr(env_class, "parse_llm_action", None),
    )


def plausible_sampler(env_class: type | None) -> Callable[..., Any] | None:
    """The env class's ``sample_plausible_action``, or None."""
    return getattr(env_class, "sample_plausible_action", None)


def summarizer(env_class: type | None) -> Callable[..., dict[str, float]] | None:
    """The env class's ``summarize``, or None."""
    return getattr(env_class, "summarize", None)


def takes_step_infos(summarize: Callable[..., Any]) -> bool:
    """Whether an env's ``summarize`` accepts ``step_infos`` (every step's info, not only
    the final one's: kept out of the final info so that shipped bundles stay as they are)."""
    return "step_infos" in inspect.signature(summarize).parameters


def difficulty_levels(env_class: type | None) -> tuple[str, ...]:
    """The env class's difficulty levels, easiest first; empty where it declares none."""
    return tuple(getattr(env_class, "difficulty_levels", ()))


def supports_continuous(agent: Any) -> bool:
    """Whether ``agent``'s calls can be decoded by a running batch one env copy at a time:
    an ``LLMAgent`` with ``act_batch`` not overridden, on a ``ContinuousLLM``."""
    from societygym.agents.llm_agent import LLMAgent

    return (
        isinstance(agent, LLMAgent)
        and type(agent).act_batch is LLMAgent.act_batch
        and isinstance(agent.llm, ContinuousLLM)
    )


def __getattr__(name: str) -> Any:
    # the teaching envs' package is imported only when a signature asks for ``Student``
    if name == "Student":
        from societygym.envs.dataenv.students.base import Student

        return Student
    raise AttributeError(name)
