"""Rollout collection for training: any agent on N copies of any env, as a dataset.

``collect_rollouts`` runs ``societygym.runner.run_episodes`` (Gymnasium and PettingZoo
parallel envs alike, one policy per agent id or one for all) so that a training run sees
exactly what ``societygym run`` evaluates: episode ``i`` is the episode keyed
``(env_id, seed, i)`` (``societygym.episodes``). The copies' LLM calls are batched: an
``LLMAgent`` on a single-agent env shares one continuously refilled decoding batch across
copies (a copy steps as soon as its own completion ends), other batching agents get one
``act_batch`` call per step (per policy). The JSONL traces are then flattened into one row
per agent step, with the LLM call behind it (prompt, completion, completion token ids and
log-probs where the backend reports them) next to the env's reward and ``info``.

The copies are stepped like a ``gymnasium.vector.SyncVectorEnv``, but each is reset per
episode from its key instead of auto-reset: a vector env's auto-reset continues each copy's
RNG (so episodes would depend on ``num_envs``) and steps copies that have finished while
others play on; here the rows do not depend on ``num_envs``.

Rows hold JSON text for the fields whose shape varies between envs (``info``, non-text
actions, structured observations), so every env yields the same Arrow schema.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SINGLE_AGENT = "agent"  # the agent_id of rows from single-agent envs


@dataclass
class Rollouts:
    """The steps of ``episodes`` episodes, and how long collecting them took."""

    env_id: str
    rows: list[dict[str, Any]]
    episodes: int
    num_envs: int
    seconds: float
    returns: list[float] = field(default_factory=list)

    @property
    def completion_tokens(self) -> int:
        return sum(row["completion_tokens"] for row in self.rows)

    def throughput(self) -> dict[str, float]:
        """Episodes, agent steps and generated tokens per second of wall-clock time."""
        seconds = max(self.seconds, 1e-9)
        return {
            "episodes_per_s": self.episodes / seconds,
            "steps_per_s": len(self.rows) / seconds,
            "tokens_per_s": self.completion_tokens / seconds,
        }

    def to_dataset(self) -> Any:
        """A ``datasets.Dataset`` with one row per agent step."""
        from datasets import Dataset

        return Dataset.from_list(self.rows)

    def to_jsonl(self, path: str | Path) -> Path:
        """Write one JSON object per agent step; returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            for row in self.rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        return path


def collect_rollouts(
    env_id: str,
    agent: Any,
    *,
    episodes: int,
    num_envs: int = 8,
    seed: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
    out_dir: str | Path | None = None,
    progress: bool = True,
    schedule: str = "auto",
    indexed: bool = False,
) -> Rollouts:
    """Play ``episodes`` episodes of ``env_id`` on ``num_envs`` copies and return their steps.

    ``agent`` is any agent (an ``LLMAgent`` batches its LLM calls across the copies); for a
    multi-agent env it may also be a mapping from agent id to agent. Traces (and images of
    image observations) are kept in ``out_dir`` when given, else in a temporary folder.
    ``schedule`` (single-agent envs; see ``run_episodes``): ``"auto"`` decodes an
    ``LLMAgent``'s copies in one continuously refilled batch where its LLM allows, so a copy
    steps as soon as its own completion ends; ``"lockstep"`` waits for every copy each step.
    ``indexed``: episode ``i`` plays instance ``i`` (as a leaderboard task does).
    ``progress`` shows a bar on stderr: episodes, with env steps and LLM replies between them.
    """
    from societygym.registry import entry
    from societygym.runner import run_episodes

    if not entry(env_id).multi_agent and isinstance(agent, Mapping):
        raise TypeError(f"{env_id} is single-agent: pass one agent, not a mapping")
    with tempfile.TemporaryDirectory(prefix="societygym-rollouts-") as scratch:
        out = Path(out_dir) if out_dir is not None else Path(scratch)
        started = time.perf_counter()
        summary = run_episodes(
            env_id,
            agent,
            episodes=episodes,
            seed=seed,
            env_kwargs=dict(env_kwargs or {}),
            batch_size=num_envs,
            out_dir=out,
            progress=progress,
            schedule=schedule,
            indexed=indexed,
        )
        seconds = time.perf_counter() - started
        rows = [
            row
            for episode in range(episodes)
            for row in _episode_rows(out / "episodes" / f"episode-{episode:05d}.jsonl")
        ]
    return Rollouts(env_id, rows, episodes, num_envs, seconds, list(summary.returns))


def _episode_rows(path: Path) -> Iterator[dict[str, Any]]:
    """One row per agent step of one runner trace, with its episode return."""
    with open(path, encoding="utf-8") as handle:
        header, *records = (json.loads(line) for line in handle)
    rows = []
    for record in records:
        rows.extend(_step_rows(header, record))
    returns: dict[str, float] = {}
    for row in rows:
        returns[row["agent_id"]] = returns.get(row["agent_id"], 0.0) + row["reward"]
    for row in rows:
        row["episode_return"] = returns[row["agent_id"]]
    yield from rows


def _step_rows(header: dict[str, Any], record: dict[str, Any]) -> Iterator[dict[str, Any]]:
    multi_agent = isinstance(record["reward"], dict)
    if not multi_agent:
        yield _row(header, record, SINGLE_AGENT, record.get("agent"), acted=True)
        return
    calls = record.get("agent") or {}
    actions = record["action"]
    for agent_id in record["reward"]:
        per_agent = {
            key: record[key][agent_id] if isinstance(record[key], dict) else record[key]
            for key in ("observation", "reward", "terminated", "truncated", "info")
        }
        per_agent["action"] = actions.get(agent_id)
        per_agent["step"] = record["step"]
        yield _row(header, per_agent, agent_id, calls.get(agent_id), agent_id in actions)


def _row(
    header: dict[str, Any],
    values: dict[str, Any],
    agent_id: str,
    call: dict[str, Any] | None,
    acted: bool,
) -> dict[str, Any]:
    call = call or {}
    observation = values["observation"]
    return {
        "episode": header["episode"],
        "seed": header["seed"],
        "index": header["index"],
        "step": values["step"],
        "agent_id": agent_id,
        "acted": acted,
        "observation": _text(observation.get("text", observation))
        if isinstance(observation, dict)
        else _text(observation),
        "prompt": _text(call.get("prompt")) if call else None,
        "completion": call.get("completion"),
        "prompt_tokens": int(call.get("prompt_tokens") or 0),
        "completion_tokens": int(call.get("completion_tokens") or 0),
        "completion_token_ids": call.get("token_ids"),
        "completion_logprobs": call.get("logprobs"),
        "action": None if values["action"] is None else _text(values["action"]),
        "reward": float(values["reward"]),
        "terminated": bool(values["terminated"]),
        "truncated": bool(values["truncated"]),
        "info": json.dumps(values["info"], ensure_ascii=False),
    }


def _text(value: Any) -> str:
    """Strings as they are; anything else (chat messages, numbers, dicts) as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
