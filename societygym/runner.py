"""Running an agent on a single-agent env for many episodes, with traces and a summary.

Episodes run in lockstep on ``batch_size`` copies of the env so that an LLM agent's calls
are batched (``act_batch``); episode ``i`` is reset with seed ``seed + i``, so results do not
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
) -> RunSummary:
    if episodes < 1:
        raise ValueError("episodes must be at least 1")
    out = Path(out_dir) if out_dir is not None else None
    jsonify = Jsonifier(out / "images" if out else None)
    slots = [
        _Slot(gym.make(env_id, **(env_kwargs or {}))) for _ in range(min(batch_size, episodes))
    ]
    env_class = type(slots[0].env.unwrapped)
    if hasattr(agent, "bind"):
        agent.bind(env_id, slots[0].env.action_space, env_class)
    returns: list[float] = [0.0] * episodes
    lengths: list[int] = [0] * episodes
    final_infos: list[dict[str, Any]] = [{}] * episodes
    next_episode = 0
    bar = _progress_bar(episodes, env_id, progress)

    def start(slot: _Slot) -> bool:
        nonlocal next_episode
        if next_episode >= episodes:
            slot.episode = -1
            return False
        slot.episode, next_episode = next_episode, next_episode + 1
        if hasattr(agent, "reset"):
            agent.reset()
        slot.observation, slot.info = slot.env.reset(seed=seed + slot.episode)
        slot.total, slot.steps, slot.trace = 0.0, 0, []
        return True

    active = [slot for slot in slots if start(slot)]
    while active:
        actions = act_batch(agent, [s.observation for s in active], [s.info for s in active])
        calls = getattr(agent, "last_calls", None) or [None] * len(active)
        for slot, action, call in zip(active, actions, calls, strict=True):
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
            if terminated or truncated:
                returns[slot.episode], lengths[slot.episode] = slot.total, slot.steps
                final_infos[slot.episode] = info
                if out is not None:
                    _write_trace(out, slot.episode, seed + slot.episode, slot.trace)
                bar.update(1)
                start(slot)
        active = [slot for slot in slots if slot.episode >= 0]
    bar.close()
    for slot in slots:
        slot.env.close()
    summary = RunSummary(env_id, episodes, returns, lengths, final_infos=final_infos)
    summarize = getattr(env_class, "summarize", None)
    if summarize is not None:
        summary.metrics = summarize(final_infos, out)
    if out is not None:
        (out / "summary.json").write_text(json.dumps(jsonify(summary.to_dict()), indent=2))
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
