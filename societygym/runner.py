"""Running agents on any env for many episodes, with traces and a summary.

Episode ``i`` of a run with ``seed`` is the episode keyed ``(env_id, seed, i)``
(``societygym.episodes``): the same whatever the batch size or schedule, and the same as the
leaderboard's episode of that key when ``indexed=True`` (instance ``i``; otherwise the
seeded env picks the instance). Agents that batch play ``batch_size`` env copies in
lockstep (one ``act_batch`` per step) or, for an ``LLMAgent``, through one continuously
refilled decoding batch; other agents play one episode at a time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from societygym.contracts import Agent, summarizer, supports_continuous, takes_step_infos
from societygym.episodes import (
    EpisodeKey,
    Progress,
    SingleSeat,
    bind,
    make_env,
    play,
    seat_agents,
    slot_count,
    write_trace,
)
from societygym.progress import count_generations, show_stages
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


SCHEDULES = ("lockstep", "continuous", "auto")


def run_episodes(
    env_id: str,
    agent: Agent | Mapping[str, Agent],
    *,
    episodes: int,
    seed: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
    batch_size: int = 8,
    out_dir: str | Path | None = None,
    progress: bool = True,
    schedule: str = "lockstep",
    indexed: bool = False,
) -> RunSummary:
    """Play episodes ``(env_id, seed, 0 .. episodes-1)``; ``agent`` plays every seat, or
    maps a multi-agent env's seats to agents.

    ``schedule="lockstep"`` steps the copies together, one ``act_batch`` call per step.
    ``"continuous"`` (an ``LLMAgent`` on a single-agent env, on a model with continuous
    batching, e.g. the embedded SmolLM2) decodes every copy's prompt in one running batch and
    steps a copy as soon as its own completion ends; ``"auto"`` picks it where the agent
    allows. Both give the same episodes (a sampling agent draws each row with its episode's
    ``act_seed``). ``returns`` are the episodes'
    returns (a multi-agent env's: the seats' mean); ``metrics`` adds each seat's mean return
    there, and the env class's ``summarize`` over the final infos.
    """
    if episodes < 1:
        raise ValueError("episodes must be at least 1")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, not {schedule!r}")
    first = make_env(env_id, env_kwargs)
    players = seat_agents(agent, first.possible_agents)
    continuous = isinstance(first, SingleSeat) and supports_continuous(agent)
    if schedule == "continuous" and not continuous:
        raise ValueError(
            "schedule='continuous' needs one LLMAgent (act_batch not overridden) on a "
            "single-agent env, whose LLM has a continuous-batching decoder (TransformersLLM)"
        )
    slots = min(episodes, slot_count(players, batch_size))
    envs = [first] + [make_env(env_id, env_kwargs) for _ in range(slots - 1)]
    bind(players, env_id, first)
    out = Path(out_dir) if out_dir is not None else None
    jsonify = Jsonifier(out / "images" if out else None)
    keys = [EpisodeKey(env_id, seed, i, indexed) for i in range(episodes)]
    played: list[Any] = [None] * episodes
    bar = Progress(episodes, env_id, progress)
    use_continuous = continuous and schedule != "lockstep"
    episode_stream = play(
        envs, players, keys, jsonify=jsonify, continuous=use_continuous, on_step=bar.step
    )
    try:
        # the bar moves inside a batched LLM call too, and long env steps (a teaching env's
        # student training) show nested stage bars under it
        with count_generations(bar.replies), show_stages(progress):
            for episode in episode_stream:
                played[episode.key.index] = episode
                if out is not None:
                    index = episode.key.index
                    header = {"episode": index, "seed": seed, "index": index}
                    write_trace(
                        out / "episodes" / f"episode-{index:05d}.jsonl", header, episode.trace
                    )
                bar.update(1)
    finally:
        bar.close()
        for env in envs:
            env.close()
    summary = RunSummary(
        env_id,
        episodes,
        [e.total for e in played],
        [e.length for e in played],
        final_infos=[e.final_info for e in played],
    )
    if len(players) > 1:
        summary.metrics = {
            f"return_{seat}": float(np.mean([e.returns[seat] for e in played])) for seat in players
        }
    summarize = summarizer(type(first.unwrapped))
    if summarize is not None:
        extra: dict[str, Any] = {}
        if takes_step_infos(summarize):
            extra["step_infos"] = [[e.first_info, *(r["info"] for r in e.trace)] for e in played]
        summary.metrics.update(summarize(summary.final_infos, out, **extra))
    if out is not None:
        text = json.dumps(jsonify(summary.to_dict()), indent=2)
        (out / "summary.json").write_text(text)
    return summary
