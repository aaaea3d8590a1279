"""Playing leaderboard episodes: one worker's envs and agents, groups, results, traces.

Every episode is addressed by ``(task, seed, index)`` and played by the episode engine
(``societygym.episodes``) as the key ``(env id, seed, index)``, so it depends on nothing else:
serial, process-pool and Ray runs, a resumed run, and ``societygym run --indexed`` play the
same episode for the same key.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from societygym.agents import agent_factory, load_agent
from societygym.agents.base import batches
from societygym.episodes import (
    SEAT,
    Episode,
    EpisodeKey,
    bind,
    make_env,
    play,
    seat_agents,
    slot_count,
    write_trace,
)
from societygym.leaderboard.suites import Suite, Task
from societygym.traces import Jsonifier

Key = tuple[str, int, int]
# info entries that measure the machine, not the agent: kept out of results and hashes
VOLATILE = re.compile(r"(seconds|elapsed|duration|wall|time|_s$|per_s$)", re.IGNORECASE)
MAX_TEXT = 120


@dataclass(frozen=True)
class AgentSpec:
    """An agent as the command line names it: ``module:Class`` (or an alias) and kwargs."""

    spec: str
    args: Mapping[str, Any] = field(default_factory=dict)

    def make(self) -> Any:
        return load_agent(self.spec, **dict(self.args))

    def factory(self) -> Any:
        """The class or factory the spec names, imported but not called."""
        return agent_factory(self.spec)

    def batches(self) -> bool:
        """Whether the agent has an ``act_batch`` of its own (a factory is assumed to)."""
        factory = self.factory()
        return batches(factory) if isinstance(factory, type) else True

    def llm_settings(self) -> dict[str, Any] | None:
        """The LLM-facing settings (given or defaulted) for the bundle, without building the
        agent: a main process that only orchestrates never loads the model."""
        keys = ("llm", "temperature", "top_p", "max_tokens", "seed", "chat", "system", "prompt")
        try:
            parameters = inspect.signature(self.factory()).parameters
        except (TypeError, ValueError):
            parameters = {}
        settings = {
            k: p.default
            for k, p in parameters.items()
            if k in keys and p.default is not inspect.Parameter.empty
        }
        settings.update({k: v for k, v in self.args.items() if k in keys})
        if "llm" not in settings:
            return None
        return {
            k: v if isinstance(v, (str, int, float, bool, type(None))) else repr(v)
            for k, v in settings.items()
        }

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec, "args": dict(self.args), "llm": self.llm_settings()}


def compact(value: Any, depth: int = 0) -> Any:
    """The part of an info worth keeping in a bundle (which is shipped and diffed): numbers,
    flags, short texts, lists of numbers (curves) and small dicts of them, without machine
    timings. Everything else stays in the episode's trace."""
    value = Jsonifier()(value) if depth == 0 else value
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else None
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, list):
        numbers = all(isinstance(v, (bool, int, float)) for v in value)
        return value if numbers and len(value) <= 64 else None
    if isinstance(value, dict) and depth < 2:
        kept = {k: compact(v, depth + 1) for k, v in value.items() if not VOLATILE.search(k)}
        return {k: v for k, v in kept.items() if v is not None or value[k] is None}
    return None


def lookup(data: Any, path: str) -> Any:
    """``data["a"]["b"]`` for ``"a.b"``; None when any part is missing."""
    for part in path.split("."):
        if not isinstance(data, Mapping) or part not in data:
            return None
        data = data[part]
    return data


def metric_value(task: Task, total: float, info: Mapping[str, Any]) -> float | None:
    if task.metric == "return":
        return float(total)
    value = lookup(info, task.metric[len("info.") :])
    return None if value is None else float(value)


def trace_path(traces_dir: Path, key: Key) -> Path:
    task, seed, index = key
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", task)
    return traces_dir / slug / f"seed{seed}-index{index}.jsonl"


def episode_key(task: Task, seed: int, index: int) -> EpisodeKey:
    return EpisodeKey(task.env_id, seed, index, task.indexed)


class EpisodeWorker:
    """Plays groups of episodes of one suite with one agent spec, writing a trace for each.

    Envs are made once per task and slot; an agent is made once per task, because agents
    adapt to the env they are bound to (an LLM agent takes the env's prompt and parser).
    A multi-agent env's seats are all played by the one agent.
    """

    def __init__(
        self,
        suite: Suite | Mapping[str, Any],
        agent: AgentSpec | Mapping[str, Any],
        traces_dir: str | Path | None,
    ) -> None:
        self.suite = suite if isinstance(suite, Suite) else Suite.from_dict(suite)
        self.agent_spec = (
            agent
            if isinstance(agent, AgentSpec)
            else AgentSpec(agent["spec"], agent.get("args", {}))
        )
        self.traces_dir = Path(traces_dir) if traces_dir is not None else None
        self._envs: dict[str, list[Any]] = {}
        self._players: dict[str, dict[str, Any]] = {}
        self._jsonify = Jsonifier()

    def _table(self, task: Task, slots: int) -> tuple[list[Any], dict[str, Any]]:
        """At least ``slots`` envs of ``task`` (the first one binds the agent) and its seats."""
        envs = self._envs.setdefault(task.name, [])
        if not envs:
            envs.append(make_env(task.env_id, task.env_kwargs))
            players = seat_agents(self.agent_spec.make(), envs[0].possible_agents)
            bind(players, task.env_id, envs[0])
            self._players[task.name] = players
        players = self._players[task.name]
        while len(envs) < slot_count(players, slots):
            envs.append(make_env(task.env_id, task.env_kwargs))
        return envs[: slot_count(players, slots)], players

    def run_group(self, keys: Sequence[Key]) -> list[dict[str, Any]]:
        """Play these episodes (all of one task); one result dict per key."""
        keys = [tuple(k) for k in keys]
        if len({k[0] for k in keys}) != 1:
            raise ValueError("a group holds episodes of one task")
        task = self.suite.task(keys[0][0])
        envs, players = self._table(task, len(keys))
        episode_keys = [episode_key(task, seed, index) for _, seed, index in keys]
        results: dict[tuple[int, int], dict[str, Any]] = {}
        for episode in play(envs, players, episode_keys, jsonify=self._jsonify):
            results[episode.key.seed, episode.key.index] = self._finish(task, episode)
        return [results[seed, index] for _, seed, index in keys]

    def _finish(self, task: Task, episode: Episode) -> dict[str, Any]:
        seed, index = episode.key.seed, episode.key.index
        if self.traces_dir is not None:
            header = {"task": task.name, "seed": seed, "index": index}
            write_trace(
                trace_path(self.traces_dir, (task.name, seed, index)), header, episode.trace
            )
        value = metric_value(task, episode.total, episode.final_info)
        result: dict[str, Any] = {
            "task": task.name,
            "seed": seed,
            "index": index,
            "return": episode.total,
            "length": episode.length,
            "value": 0.0 if value is None else value,
            "info": compact(episode.final_info),
            # the whole final info, for the envs' own reports; kept in the run's journal only
            "final_info": self._jsonify(episode.final_info),
        }
        if value is None:
            result["metric_missing"] = True
        if task.plot and task.plot.startswith("curve:"):
            path = task.plot[len("curve:") :]
            infos = [episode.first_info, *(record["info"] for record in episode.trace)]
            result["curve"] = [compact(lookup(info, path)) for info in infos]
        return result

    def close(self) -> None:
        for envs in self._envs.values():
            for env in envs:
                env.close()
        self._envs.clear()


def instances_sha(suite: Suite) -> str:
    """The hash of every instance's first observation under the first seed: the data behind
    the frozen indices. A change in a data package or generator changes it."""
    from societygym.leaderboard.hashing import content_hash

    seen = []
    jsonify = Jsonifier()
    for task in suite.tasks:
        env = make_env(task.env_id, task.env_kwargs)
        for index in task.indices:
            key = episode_key(task, suite.seeds[0], index)
            observations, _ = env.reset(seed=key.env_seed, options=key.options)
            observation = observations.get(SEAT, observations)
            seen.append([task.name, index, jsonify(observation)])
        env.close()
    return content_hash(seen)
