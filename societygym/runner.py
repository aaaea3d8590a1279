"""Running an agent on a single-agent env for many episodes, with traces and a summary.

Episodes run on ``batch_size`` copies of the env so that an LLM agent's calls are batched:
in lockstep (one ``act_batch`` per step) or, for an ``LLMAgent``, through one continuously
refilled decoding batch. Episode ``i`` is reset with seed ``seed + i``, so results do not
depend on the batch size.
"""

from __future__ import annotations

import json
import logging
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from societygym.agents.base import act_batch
from societygym.traces import Jsonifier


@dataclass
class RunSummary:
    env_id: str
    episodes: int
    returns: list[float]
    lengths: list[int]
    metrics: dict[str, float] = field(default_factory=dict)
    final_infos: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def mean_return(self) -> float:
        return float(np.mean(self.returns)) if self.returns else float("nan")

    @property
    def ci95(self) -> float:
        """Half-width of the normal-approximation 95% interval of the mean return."""
        if len(self.returns) < 2:
            return float("nan")
        return 1.96 * float(np.std(self.returns, ddof=1)) / math.sqrt(len(self.returns))

    def to_dict(self) -> dict[str, Any]:
        return {
            "env_id": self.env_id,
            "episodes": self.episodes,
            "mean_return": self.mean_return,
            "ci95": self.ci95,
            "mean_length": float(np.mean(self.lengths)) if self.lengths else float("nan"),
            "metrics": self.metrics,
        }


@dataclass
class _Slot:
    env: gym.Env
    episode: int = -1
    observation: Any = None
    info: dict[str, Any] = field(default_factory=dict)
    total: float = 0.0
    steps: int = 0
    trace: list[dict[str, Any]] = field(default_factory=list)


SCHEDULES = ("lockstep", "continuous", "auto")


def run_episodes(
    env_id: str,
    agent: Any,
    *,
    episodes: int,
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    batch_size: int = 8,
    out_dir: str | Path | None = None,
    progress: bool = True,
    schedule: str = "lockstep",
) -> RunSummary:
    """Play ``episodes`` episodes on ``batch_size`` env copies.

    ``schedule="lockstep"`` steps the copies together, one ``act_batch`` call per step.
    ``"continuous"`` (an ``LLMAgent`` on a model with continuous batching, e.g. the embedded
    SmolLM2) decodes every copy's prompt in one running batch and steps a copy as soon as its
    own completion ends, so no copy waits for the longest completion of the step; ``"auto"``
    picks it where the agent allows. With greedy decoding both give the same episodes.
    """
    if episodes < 1:
        raise ValueError("episodes must be at least 1")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, not {schedule!r}")
    continuous = supports_continuous(agent)
    if schedule == "continuous" and not continuous:
        raise ValueError(
            "schedule='continuous' needs an LLMAgent (act_batch not overridden) whose LLM "
            "has a continuous-batching decoder (TransformersLLM)"
        )
    book = _Episodes(env_id, agent, episodes, seed, env_kwargs, batch_size, out_dir, progress)
    if schedule != "lockstep" and continuous:
        _play_continuous(book, agent)
    else:
        _play_lockstep(book, agent)
    return book.finish()


def supports_continuous(agent: Any) -> bool:
    """Whether ``agent``'s calls can be decoded by a running batch one copy at a time."""
    from societygym.agents.llm_agent import LLMAgent

    return (
        isinstance(agent, LLMAgent)
        and type(agent).act_batch is LLMAgent.act_batch
        and hasattr(agent.llm, "decoder")
    )


def _play_lockstep(book: _Episodes, agent: Any) -> None:
    active = [slot for slot in book.slots if book.start(slot)]
    while active:
        actions = act_batch(agent, [s.observation for s in active], [s.info for s in active])
        calls = getattr(agent, "last_calls", None) or [None] * len(active)
        for slot, action, call in zip(active, actions, calls, strict=True):
            if book.advance(slot, action, call):
                book.start(slot)
        active = [slot for slot in book.slots if slot.episode >= 0]


def _play_continuous(book: _Episodes, agent: Any) -> None:
    decoder = agent.decoder(slots=len(book.slots))
    prompts: dict[int, Any] = {}

    def ask(index: int) -> None:
        prompts[index] = agent.render_prompt(book.slots[index].observation)
        decoder.submit(agent.llm.encode(prompts[index]), index)

    for index, slot in enumerate(book.slots):
        if book.start(slot):
            ask(index)
    while decoder.busy:
        for index, generation in decoder.step():
            action, call = agent.act_from(prompts[index], generation)
            slot = book.slots[index]
            if not book.advance(slot, action, call) or book.start(slot):
                ask(index)


class _Episodes:
    """The env copies and the bookkeeping of every episode: resets, traces, returns."""

    def __init__(
        self,
        env_id: str,
        agent: Any,
        episodes: int,
        seed: int,
        env_kwargs: dict[str, Any] | None,
        batch_size: int,
        out_dir: str | Path | None,
        progress: bool,
    ) -> None:
        self.env_id, self.agent, self.episodes, self.seed = env_id, agent, episodes, seed
        self.out = Path(out_dir) if out_dir is not None else None
        self.jsonify = Jsonifier(self.out / "images" if self.out else None)
        self.slots = [
            _Slot(gym.make(env_id, **(env_kwargs or {}))) for _ in range(min(batch_size, episodes))
        ]
        self.env_class = type(self.slots[0].env.unwrapped)
        if hasattr(agent, "bind"):
            agent.bind(env_id, self.slots[0].env.action_space, self.env_class)
        self.returns: list[float] = [0.0] * episodes
        self.lengths: list[int] = [0] * episodes
        self.final_infos: list[dict[str, Any]] = [{}] * episodes
        self.next_episode = 0
        self.bar = _progress_bar(episodes, env_id, progress)

    def start(self, slot: _Slot) -> bool:
        """Reset ``slot`` to the next episode; False (and the slot idle) when none is left."""
        if self.next_episode >= self.episodes:
            slot.episode = -1
            return False
        slot.episode, self.next_episode = self.next_episode, self.next_episode + 1
        if hasattr(self.agent, "reset"):
            self.agent.reset()
        slot.observation, slot.info = slot.env.reset(seed=self.seed + slot.episode)
        slot.total, slot.steps, slot.trace = 0.0, 0, []
        return True

    def advance(self, slot: _Slot, action: Any, call: dict[str, Any] | None) -> bool:
        """Step ``slot`` with ``action`` and record it; True when its episode has ended."""
        jsonify = self.jsonify
        observation, reward, terminated, truncated, info = slot.env.step(action)
        record = {
            "step": slot.steps,
            "observation": jsonify(slot.observation),
            "action": jsonify(action),
            "reward": float(reward),
            "terminated": bool(terminated),
            "truncated": bool(truncated),
            "info": jsonify(info),
        }
        if call is not None:
            record["agent"] = jsonify(call)
        slot.trace.append(record)
        slot.total += float(reward)
        slot.steps += 1
        slot.observation, slot.info = observation, info
        if not (terminated or truncated):
            return False
        self.returns[slot.episode], self.lengths[slot.episode] = slot.total, slot.steps
        self.final_infos[slot.episode] = info
        if self.out is not None:
            _write_trace(self.out, slot.episode, self.seed + slot.episode, slot.trace)
        self.bar.update(1)
        return True

    def finish(self) -> RunSummary:
        self.bar.close()
        for slot in self.slots:
            slot.env.close()
        summary = RunSummary(
            self.env_id, self.episodes, self.returns, self.lengths, final_infos=self.final_infos
        )
        summarize = getattr(self.env_class, "summarize", None)
        if summarize is not None:
            summary.metrics = summarize(self.final_infos, self.out)
        if self.out is not None:
            text = json.dumps(self.jsonify(summary.to_dict()), indent=2)
            (self.out / "summary.json").write_text(text)
        return summary


def _write_trace(out: Path, episode: int, seed: int, trace: Sequence[dict[str, Any]]) -> None:
    folder = out / "episodes"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"episode-{episode:05d}.jsonl", "w", encoding="utf-8") as handle:
        handle.write(json.dumps({"episode": episode, "seed": seed}) + "\n")
        for record in trace:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def _progress_bar(total: int, label: str, enabled: bool) -> _Progress:
    return _Progress(total, label, enabled)


class _TqdmHandler(logging.Handler):
    """Log lines printed above the progress bar instead of through it."""

    def emit(self, record: logging.LogRecord) -> None:
        from tqdm.auto import tqdm

        tqdm.write(self.format(record), file=sys.stderr)


class _Progress:
    """An episode progress bar that also shows the envs' INFO log lines (e.g. a teaching
    env's per-iteration progress) while it is open, unless the user has configured the
    ``societygym`` logger already."""

    def __init__(self, total: int, label: str, enabled: bool) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc=label, unit="ep", disable=not enabled)
        self._logger = logging.getLogger("societygym")
        self._handler: logging.Handler | None = None
        if enabled and not self._logger.handlers and self._logger.level == logging.NOTSET:
            self._handler = _TqdmHandler()
            self._logger.addHandler(self._handler)
            self._logger.setLevel(logging.INFO)

    def update(self, n: int = 1) -> None:
        self.bar.update(n)

    def close(self) -> None:
        self.bar.close()
        if self._handler is not None:
            self._logger.removeHandler(self._handler)
            self._logger.setLevel(logging.NOTSET)
            self._handler = None
