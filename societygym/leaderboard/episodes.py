"""Playing leaderboard episodes: one worker's envs and agents, lockstep groups, traces.

Every episode is addressed by ``(task, seed, index)`` and depends on nothing else: the env
is reset with instance ``index`` and the seed ``env_seed(seed, index)``, and the action space
the agent samples from is seeded from the key before every episode. That is what makes
serial, process-pool and Ray runs, and a resumed run, give the same results. (Resetting
every instance with the bare suite seed would hand all instances of a seed the same random
draws — one scripted speaker's coin for every question — and correlate their results.)
Agents that batch (``act_batch`` of their own) play a group of episodes in lockstep; others
play one at a time, since lockstep would only interleave their random draws across episodes.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from societygym.agents import load_agent
from societygym.agents.base import BaseAgent, act_batch
from societygym.leaderboard.hashing import stable_int
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
        from societygym.agents import ALIASES

        module_name, _, attr = ALIASES.get(self.spec, self.spec).partition(":")
        try:
            return getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError, ValueError) as error:
            raise ValueError(f"cannot load agent {self.spec!r}: {error}") from error

    def batches(self) -> bool:
        """Whether the agent has an ``act_batch`` of its own (a factory is assumed to)."""
        factory = self.factory()
        if not isinstance(factory, type):
            return True
        own = getattr(factory, "act_batch", None)
        return own is not None and own is not getattr(BaseAgent, "act_batch", None)

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


def env_seed(seed: int, index: int) -> int:
    """The seed an episode's env is reset with: one stream per (suite seed, instance), the same
    in every suite that holds the instance."""
    return stable_int(f"env|{seed}|{index}")


def trace_path(traces_dir: Path, key: Key) -> Path:
    task, seed, index = key
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", task)
    return traces_dir / slug / f"seed{seed}-index{index}.jsonl"


def _write_atomically(path: Path, lines: Sequence[str]) -> None:
    """A trace is either all there or not there: a kill leaves no half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.writelines(line + "\n" for line in lines)
    os.replace(tmp, path)


@dataclass
class _Slot:
    key: Key
    env: Any
    observation: Any = None
    info: dict[str, Any] = field(default_factory=dict)
    total: float = 0.0
    steps: int = 0
    curve: list[Any] = field(default_factory=list)
    trace: list[str] = field(default_factory=list)


class EpisodeWorker:
    """Plays groups of episodes of one suite with one agent spec, writing a trace for each.

    Envs are made once per task and slot; an agent is made once per task, because agents
    adapt to the env they are bound to (an LLM agent takes the env's prompt and parser).
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
        self._envs: dict[tuple[str, int], Any] = {}
        self._agents: dict[str, Any] = {}
        self._jsonify = Jsonifier()

    def _env(self, task: Task, slot: int) -> Any:
        if (task.name, slot) not in self._envs:
            import societygym
            from societygym.registry import entry

            if entry(task.env_id).multi_agent:
                raise ValueError(
                    f"{task.env_id} is multi-agent: a suite evaluates one agent, "
                    "through the env's single-agent variants"
                )

            env = societygym.make(task.env_id, **dict(task.env_kwargs))
            agent = self._agent(task)
            if hasattr(agent, "bind"):
                agent.bind(task.env_id, env.action_space, type(env.unwrapped))
            self._envs[task.name, slot] = env
        return self._envs[task.name, slot]

    def _agent(self, task: Task) -> Any:
        if task.name not in self._agents:
            self._agents[task.name] = self.agent_spec.make()
        return self._agents[task.name]

    def run_group(self, keys: Sequence[Key]) -> list[dict[str, Any]]:
        """Play these episodes (all of one task) in lockstep; one result dict per key."""
        keys = [tuple(k) for k in keys]
        tasks = {k[0] for k in keys}
        if len(tasks) != 1:
            raise ValueError("a group holds episodes of one task")
        task = self.suite.task(keys[0][0])
        agent = self._agent(task)
        slots = [_Slot(key, self._env(task, i)) for i, key in enumerate(keys)]
        for slot in slots:
            self._start(task, agent, slot)
        results: dict[Key, dict[str, Any]] = {}
        active = list(slots)
        while active:
            actions = act_batch(agent, [s.observation for s in active], [s.info for s in active])
            calls = getattr(agent, "last_calls", None) or [None] * len(active)
            for slot, action, call in zip(active, actions, calls, strict=True):
                if self._step(task, slot, action, call):
                    results[slot.key] = self._finish(task, slot)
            active = [s for s in active if s.key not in results]
        return [results[k] for k in keys]

    def _start(self, task: Task, agent: Any, slot: _Slot) -> None:
        name, seed, index = slot.key
        if hasattr(agent, "reset"):
            agent.reset()
        slot.env.action_space.seed(stable_int(f"agent|{task.env_id}|{seed}|{index}"))
        options = {"index": index} if task.indexed else None
        slot.observation, slot.info = slot.env.reset(seed=env_seed(seed, index), options=options)
        slot.trace = [json.dumps({"task": name, "seed": seed, "index": index})]
        self._record_curve(task, slot, slot.info)

    def _record_curve(self, task: Task, slot: _Slot, info: Mapping[str, Any]) -> None:
        if task.plot and task.plot.startswith("curve:"):
            slot.curve.append(compact(lookup(info, task.plot[len("curve:") :])))

    def _step(self, task: Task, slot: _Slot, action: Any, call: Any) -> bool:
        observation, reward, terminated, truncated, info = slot.env.step(action)
        record = {
            "step": slot.steps,
            "observation": self._jsonify(slot.observation),
            "action": self._jsonify(action),
            "reward": float(reward),
            "terminated": bool(terminated),
            "truncated": bool(truncated),
            "info": self._jsonify(info),
        }
        if call is not None:
            record["agent"] = self._jsonify(call)
        slot.trace.append(json.dumps(record, ensure_ascii=False))
        slot.total += float(reward)
        slot.steps += 1
        slot.observation, slot.info = observation, info
        self._record_curve(task, slot, info)
        return bool(terminated or truncated)

    def _finish(self, task: Task, slot: _Slot) -> dict[str, Any]:
        name, seed, index = slot.key
        if self.traces_dir is not None:
            _write_atomically(trace_path(self.traces_dir, slot.key), slot.trace)
        value = metric_value(task, slot.total, slot.info)
        result: dict[str, Any] = {
            "task": name,
            "seed": seed,
            "index": index,
            "return": slot.total,
            "length": slot.steps,
            "value": 0.0 if value is None else value,
            "info": compact(slot.info),
            # the whole final info, for the envs' own reports; kept in the run's journal only
            "final_info": self._jsonify(slot.info),
        }
        if value is None:
            result["metric_missing"] = True
        if slot.curve:
            result["curve"] = slot.curve
        return result

    def close(self) -> None:
        for env in self._envs.values():
            env.close()
        self._envs.clear()


def instances_sha(suite: Suite) -> str:
    """The hash of every instance's first observation under the first seed: the data behind
    the frozen indices. A change in a data package or generator changes it."""
    import societygym
    from societygym.leaderboard.hashing import content_hash

    seen = []
    jsonify = Jsonifier()
    for task in suite.tasks:
        env = societygym.make(task.env_id, **dict(task.env_kwargs))
        for index in task.indices:
            options = {"index": index} if task.indexed else None
            observation, _ = env.reset(seed=env_seed(suite.seeds[0], index), options=options)
            seen.append([task.name, index, jsonify(observation)])
        env.close()
    return content_hash(seen)
