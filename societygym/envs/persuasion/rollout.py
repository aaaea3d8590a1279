"""Running agents on a PettingZoo parallel env for many episodes, with traces and a summary,
and letting a person argue against a partner.

Episodes run in lockstep on ``batch_size`` copies of the env, and each agent object answers
all its pending turns across copies (both sides, when one agent plays both) in one
``act_batch`` call, so LLM calls are batched. Episode ``i`` is reset with seed ``seed + i``.
Only agents whose ``info["to_act"]`` is not False are asked to act. Traces use the format of
``societygym.runner``, with per-agent dicts for observations, actions, rewards and infos.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from societygym.agents.base import act_batch
from societygym.runner import RunSummary, _progress_bar, _write_trace
from societygym.traces import Jsonifier


def make_parallel(env_id: str, env_kwargs: Mapping[str, Any] | None = None) -> Any:
    import pettingzoo

    return pettingzoo.make("parallel", env_id, **(env_kwargs or {}))


@dataclass
class _Slot:
    env: Any
    episode: int = -1
    observations: dict[str, Any] = field(default_factory=dict)
    infos: dict[str, dict[str, Any]] = field(default_factory=dict)
    totals: dict[str, float] = field(default_factory=dict)
    steps: int = 0
    trace: list[dict[str, Any]] = field(default_factory=list)


def _agents_by_id(agents: Mapping[str, Any] | Any, possible: list[str]) -> dict[str, Any]:
    if not isinstance(agents, Mapping):
        return dict.fromkeys(possible, agents)
    missing = set(possible) - set(agents)
    if missing:
        raise ValueError(f"no agent given for {sorted(missing)}")
    return {agent_id: agents[agent_id] for agent_id in possible}


def _must_act(slot: _Slot, agent_id: str) -> bool:
    return slot.infos.get(agent_id, {}).get("to_act", True) is not False


def run_parallel_episodes(
    env_id: str,
    agents: Mapping[str, Any] | Any,
    *,
    episodes: int,
    seed: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
    batch_size: int = 8,
    out_dir: str | Path | None = None,
    progress: bool = True,
) -> RunSummary:
    """Play ``episodes`` episodes; ``agents`` maps agent ids to agents, or is one agent that
    plays every side. ``returns`` are the agents' mean returns per episode; ``metrics`` adds
    each agent's mean return and the env class's ``summarize`` over the final infos."""
    if episodes < 1:
        raise ValueError("episodes must be at least 1")
    out = Path(out_dir) if out_dir is not None else None
    jsonify = Jsonifier(out / "images" if out else None)
    slots = [_Slot(make_parallel(env_id, env_kwargs)) for _ in range(min(batch_size, episodes))]
    first = slots[0].env
    players = _agents_by_id(agents, list(first.possible_agents))
    env_class = type(first.unwrapped)
    bound: set[int] = set()
    for agent_id, agent in players.items():
        if hasattr(agent, "bind") and id(agent) not in bound:
            agent.bind(env_id, first.action_space(agent_id), env_class)
            bound.add(id(agent))
    returns: list[float] = [0.0] * episodes
    per_agent: dict[str, list[float]] = {a: [0.0] * episodes for a in players}
    lengths: list[int] = [0] * episodes
    final_infos: list[dict[str, Any]] = [{}] * episodes
    next_episode = 0
    bar = _progress_bar(episodes, env_id, progress)

    def start(slot: _Slot) -> None:
        nonlocal next_episode
        if next_episode >= episodes:
            slot.episode = -1
            return
        slot.episode, next_episode = next_episode, next_episode + 1
        for agent in {id(a): a for a in players.values()}.values():
            if hasattr(agent, "reset"):
                agent.reset()
        slot.observations, slot.infos = slot.env.reset(seed=seed + slot.episode)
        slot.totals, slot.steps, slot.trace = dict.fromkeys(players, 0.0), 0, []

    for slot in slots:
        start(slot)
    active = [slot for slot in slots if slot.episode >= 0]
    while active:
        actions, calls = _act(players, active)
        for slot, slot_actions, slot_calls in zip(active, actions, calls, strict=True):
            observations, rewards, terminated, truncated, infos = slot.env.step(slot_actions)
            record = {
                "step": slot.steps,
                "observation": jsonify(slot.observations),
                "action": jsonify(slot_actions),
                "reward": jsonify({a: float(r) for a, r in rewards.items()}),
                "terminated": jsonify(terminated),
                "truncated": jsonify(truncated),
                "info": jsonify(infos),
            }
            if slot_calls:
                record["agent"] = jsonify(slot_calls)
            slot.trace.append(record)
            for agent_id, reward in rewards.items():
                slot.totals[agent_id] += float(reward)
            slot.steps += 1
            slot.observations, slot.infos = observations, infos
            if not slot.env.agents:
                episode = slot.episode
                for agent_id, total in slot.totals.items():
                    per_agent[agent_id][episode] = total
                returns[episode] = float(np.mean(list(slot.totals.values())))
                lengths[episode], final_infos[episode] = slot.steps, infos
                if out is not None:
                    _write_trace(out, episode, seed + episode, slot.trace)
                bar.update(1)
                start(slot)
        active = [slot for slot in slots if slot.episode >= 0]
    bar.close()
    for slot in slots:
        slot.env.close()
    summary = RunSummary(env_id, episodes, returns, lengths, final_infos=final_infos)
    summary.metrics = {f"return_{a}": float(np.mean(r)) for a, r in per_agent.items()}
    summarize = getattr(env_class, "summarize", None)
    if summarize is not None:
        summary.metrics.update(summarize(final_infos, out))
    if out is not None:
        (out / "summary.json").write_text(json.dumps(jsonify(summary.to_dict()), indent=2))
    return summary


def _act(
    players: dict[str, Any], active: list[_Slot]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every pending action, one ``act_batch`` call per distinct agent object."""
    actions: list[dict[str, Any]] = [{} for _ in active]
    calls: list[dict[str, Any]] = [{} for _ in active]
    pending: dict[int, list[tuple[int, str]]] = {}
    for index, slot in enumerate(active):
        for agent_id in slot.env.agents:
            if _must_act(slot, agent_id):
                pending.setdefault(id(players[agent_id]), []).append((index, agent_id))
    agents = {id(a): a for a in players.values()}
    for key, requests in pending.items():
        agent = agents[key]
        got = act_batch(
            agent,
            [active[i].observations[a] for i, a in requests],
            [active[i].infos[a] for i, a in requests],
        )
        made = getattr(agent, "last_calls", None) or [None] * len(requests)
        for (i, agent_id), action, call in zip(requests, got, made, strict=True):
            actions[i][agent_id] = action
            if call is not None:
                calls[i][agent_id] = call
    return actions, calls


def play_against(
    partner: Any,
    *,
    env_id: str = "Persuasion-v0",
    human: Any = None,
    seat: str = "agent_0",
    episodes: int | None = None,
    seed: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
    stdout: IO[str] | None = None,
) -> int:
    """A person (``human``, default a terminal ``HumanAgent``) argues in ``seat`` against
    ``partner`` (e.g. an ``LLMPartner``); after each episode the final observation and reward
    are shown. Returns the number of episodes played; ends on end of input."""
    import sys

    from societygym.agents.human import HumanAgent

    stdout = stdout or sys.stdout
    human = human if human is not None else HumanAgent(stdout=stdout)
    env = make_parallel(env_id, env_kwargs)
    other = next(a for a in env.possible_agents if a != seat)
    players = {seat: human, other: partner}
    for agent_id, agent in players.items():
        if hasattr(agent, "bind"):
            agent.bind(env_id, env.action_space(agent_id), type(env.unwrapped))
    played = 0
    try:
        while episodes is None or played < episodes:
            observations, infos = env.reset(seed=seed + played)
            rewards: dict[str, float] = {}
            while env.agents:
                actions = {
                    a: players[a].act(observations[a], infos[a])
                    for a in env.agents
                    if infos[a].get("to_act", True) is not False
                }
                observations, rewards, _, _, infos = env.step(actions)
            print(f"\n{observations[seat]}\nYour reward: {rewards[seat]:+.2f}", file=stdout)
            played += 1
    except (EOFError, KeyboardInterrupt):
        print("\nbye", file=stdout)
    env.close()
    return played
