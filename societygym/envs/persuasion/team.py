"""Team evaluation (PBT): a strong and a weak agent discuss in both speaking orders.

Without PBT training a team tends to end near the accuracy of whichever agent speaks
first; the gap between the two orders measures that. Both orders play the same episode
seeds, so the gap is paired per question.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from societygym.envs.persuasion.dialogue import AGENTS
from societygym.envs.persuasion.metrics import add_estimate, bootstrap_ci

ORDERS = ("strong_first", "weak_first")


def _team_scores(final_infos: list[dict[str, Any]], key: str) -> np.ndarray:
    """Per episode, the mean over both agents of ``key`` (correct or initial_correct)."""
    return np.array([np.mean([info[a][key] for a in AGENTS]) for info in final_infos])


def evaluate_team(
    strong: Any,
    weak: Any,
    *,
    episodes: int,
    seed: int = 0,
    env_id: str = "Persuasion-v0",
    env_kwargs: Mapping[str, Any] | None = None,
    batch_size: int = 8,
) -> dict[str, float]:
    """Team accuracy (mean of both agents' final correctness) with the strong agent speaking
    first and with the weak one first, each with its pre-discussion baseline, and the order
    gap ``team_accuracy_strong_first - team_accuracy_weak_first``, all with bootstrap 95%
    intervals. Discussion turns alternate (``turns`` is forced to ``"alternating"``) and
    ``agent_0`` speaks first."""
    kwargs = {**(env_kwargs or {}), "turns": "alternating", "first_speaker": AGENTS[0]}
    seats = {"strong_first": (strong, weak), "weak_first": (weak, strong)}
    report: dict[str, float] = {"n": episodes}
    final: dict[str, np.ndarray] = {}
    from societygym.runner import run_episodes

    for order in ORDERS:
        summary = run_episodes(
            env_id,
            dict(zip(AGENTS, seats[order], strict=True)),
            episodes=episodes,
            seed=seed,
            env_kwargs=kwargs,
            batch_size=batch_size,
            progress=False,
        )
        final[order] = _team_scores(summary.final_infos, "correct")
        add_estimate(report, f"team_accuracy_{order}", bootstrap_ci(final[order]))
        before = _team_scores(summary.final_infos, "initial_correct")
        add_estimate(report, f"team_accuracy_before_{order}", bootstrap_ci(before))
    add_estimate(report, "order_gap", bootstrap_ci(final["strong_first"] - final["weak_first"]))
    return report
