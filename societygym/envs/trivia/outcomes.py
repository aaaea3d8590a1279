"""LACIE's outcome table: whether the answer was correct crossed with whether it was accepted.

LACIE ranks true accepts and true rejects equally (+1) above false rejects (-0.5) and false
accepts (-1). An utterance with no extractable answer is an abstention, scored separately:
under the plain table an agent that always abstains would be "truly rejected" and earn +1
on every question.
"""

from __future__ import annotations

from collections.abc import Mapping

TRUE_ACCEPT, TRUE_REJECT, FALSE_REJECT, FALSE_ACCEPT, ABSTAIN, INVALID = (
    "TA",
    "TR",
    "FR",
    "FA",
    "abstain",
    "invalid",
)
LACIE_REWARDS: dict[str, float] = {
    TRUE_ACCEPT: 1.0,
    TRUE_REJECT: 1.0,
    FALSE_REJECT: -0.5,
    FALSE_ACCEPT: -1.0,
}


# What the listener gains from the speaker: right answers it accepted minus wrong ones it
# accepted. A rejected answer (right or wrong) gains nothing, so unlike LACIE's table this
# cannot be earned by answering wrongly and hedging; the leaderboard's trivia headline.
NET_ACCEPT: dict[str, float] = {TRUE_ACCEPT: 1.0, FALSE_ACCEPT: -1.0}


def net_accept(outcome_name: str) -> float:
    return NET_ACCEPT.get(outcome_name, 0.0)


def outcome(correct: bool, accepted: bool) -> str:
    if correct:
        return TRUE_ACCEPT if accepted else FALSE_REJECT
    return FALSE_ACCEPT if accepted else TRUE_REJECT


def reward_table(overrides: Mapping[str, float] | None) -> dict[str, float]:
    """LACIE's table with any of its four entries replaced; unknown keys are an error."""
    table = dict(LACIE_REWARDS)
    for key, value in (overrides or {}).items():
        if key not in table:
            raise ValueError(f"unknown outcome {key!r} in rewards; expected one of {list(table)}")
        table[key] = float(value)
    return table
