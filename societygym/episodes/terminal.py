"""A person playing an env in the terminal, through the episode engine: alone on a
single-agent env, or from one seat of a multi-agent env against a partner agent."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from itertools import count
from typing import IO, Any

import numpy as np

from societygym.contracts import Agent
from societygym.episodes.engine import SEAT, Step, bind, make_env, play, seat_agents
from societygym.episodes.keys import EpisodeKey


def play_in_terminal(
    env_id: str,
    *,
    human: Any = None,
    partner: Agent | None = None,
    seat: str | None = None,
    episodes: int | None = None,
    seed: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
    stdout: IO[str] | None = None,
) -> int:
    """Play episodes ``(env_id, seed, 0, 1, ...)`` as ``human`` (default a terminal
    ``HumanAgent``); on a multi-agent env from ``seat`` (default the first) against
    ``partner``. Rewards are shown as they come. Returns the number of episodes played;
    ends after ``episodes`` or on end of input."""
    from societygym.agents.human import HumanAgent

    stdout = stdout or sys.stdout
    human = human if human is not None else HumanAgent(stdout=stdout)
    env = make_env(env_id, env_kwargs)
    seat = seat or env.possible_agents[0]
    if seat not in env.possible_agents:
        raise ValueError(f"{env_id} has no seat {seat!r}")
    if len(env.possible_agents) > 1 and partner is None:
        raise ValueError(f"{env_id} is multi-agent: name a partner for the other seats")
    players = seat_agents(partner, env.possible_agents) if partner is not None else {}
    players[seat] = human
    bind(players, env_id, env)
    keys: Iterator[EpisodeKey] = (
        EpisodeKey(env_id, seed, i, indexed=False)
        for i in (count() if episodes is None else range(episodes))
    )
    played = 0

    def show(step: Step) -> None:
        if seat == SEAT:
            _show_step(step.rewards[seat], step.infos[seat], human, stdout)
        if step.ended:
            human.show(step.observations[seat])
            print(f"Episode {step.key.index} return: {step.returns[seat]:+.2f}", file=stdout)
            print("=" * 60, file=stdout)

    try:
        for _ in play([env], players, keys, on_step=show):
            played += 1
    except (EOFError, KeyboardInterrupt):
        print("\nbye", file=stdout)
    env.close()
    return played


def _show_step(reward: float, info: Mapping[str, Any], human: Any, stdout: IO[str]) -> None:
    shown = {k: v for k, v in info.items() if _short(v)}
    print(f"\nreward {reward:+.2f}  {shown}", file=stdout)
    for key, value in info.items():
        if isinstance(value, np.ndarray) and value.ndim in (2, 3) and value.size > 64:
            print(f"[{key}] saved to {human.save_image(value)}", file=stdout)


def _short(value: Any) -> bool:
    return isinstance(value, (bool, int, float, type(None), np.generic)) or (
        isinstance(value, str) and len(value) <= 200
    )
