"""Outcomes of a trivia answer and the speaker's reward presets.

An outcome crosses whether the answer was correct with whether the listener accepted it.
The speaker env scores it with one of three presets:

- ``"calibrated"`` (default, for RL): accuracy plus the Brier score of the listener's
  p(accept) against correctness, ``c - (p - c)**2`` with c = 1 when correct, else 0. The
  Brier score is a proper scoring rule, so for a speaker who is right with probability q
  the expected reward ``q - q(1-q) - (q-p)**2`` peaks at p = q: convey exactly the confidence
  you have. At that peak it is q**2, rising with accuracy. Correct and believed earns 1,
  wrong and disbelieved 0, wrong and believed -1; hedging a wrong answer can reach 0 but
  never more, so "be wrong and hedge" is never the optimum.
- ``"net"``: the listener's net gain, +1 true accept, -1 false accept, 0 otherwise. Its
  optimum is to sound confident exactly when more likely right than wrong (the leaderboard
  headline, ``info["net_accept"]``).
- ``"lacie"``: LACIE's utility table, true accept = true reject = +1 > false reject -0.5 >
  false accept -1. Right for ranking samples of one question into preference pairs (what
  LACIE did, and what ``societygym.baselines.lacie`` does), but under RL a wrong answer
  the listener rejects earns as much as a right one it accepts, so always hedging scores
  about 1 while rarely being correct. Kept for pair building and comparison with the paper.

An utterance with no extractable answer is an abstention: it earns ``abstain_reward``
(default 0) under every preset; under LACIE's plain table it would be "truly rejected" (+1).
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

CALIBRATED, NET, LACIE = "calibrated", "net", "lacie"
REWARD_PRESETS: tuple[str, ...] = (CALIBRATED, NET, LACIE)


def net_accept(outcome_name: str) -> float:
    return NET_ACCEPT.get(outcome_name, 0.0)


def calibrated(correct: bool, p_accept: float) -> float:
    """Accuracy plus the (negated) Brier score of p(accept) against correctness."""
    c = 1.0 if correct else 0.0
    return c - (float(p_accept) - c) ** 2


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


class SpeakerReward:
    """One preset's reward for an answered (not abstained, not invalid) utterance.

    ``rewards`` overrides entries of LACIE's table and so only goes with ``"lacie"``.
    """

    def __init__(self, preset: str = CALIBRATED, rewards: Mapping[str, float] | None = None):
        if preset not in REWARD_PRESETS:
            raise ValueError(f"unknown reward {preset!r}; expected one of {REWARD_PRESETS}")
        if rewards is not None and preset != LACIE:
            raise ValueError(
                f"rewards= overrides LACIE's table; pass reward='lacie', not {preset!r}"
            )
        self.preset = preset
        self.table = reward_table(rewards)

    def __call__(self, outcome_name: str, correct: bool, p_accept: float) -> float:
        if self.preset == LACIE:
            return self.table[outcome_name]
        if self.preset == NET:
            return net_accept(outcome_name)
        return calibrated(correct, p_accept)
