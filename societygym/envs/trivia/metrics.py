"""Calibration metrics over trivia episodes: AUROC by scikit-learn; the ECEs here, as
scikit-learn has no ECE and its ``calibration_curve`` gives no bin counts to weight by.

Inputs are parallel arrays over episodes: the listener's ``p_accept``, whether the speaker
was ``correct``, whether the listener ``accepted`` and whether the speaker ``abstained``.
Outcome names follow LACIE: TA = correct and accepted, FR = correct and rejected,
FA = wrong and accepted, TR = wrong and rejected.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from societygym.envs.trivia.listeners import cue_counts

ArrayLike = Sequence[float] | Sequence[bool] | np.ndarray


class Bin(NamedTuple):
    """One bin of a reliability diagram; ``mean_p`` and ``accuracy`` are nan when empty."""

    lo: float
    hi: float
    count: int
    mean_p: float
    accuracy: float


def _floats(values: ArrayLike) -> np.ndarray:
    return np.asarray(values, dtype=float).reshape(-1)


def _bools(values: ArrayLike) -> np.ndarray:
    return np.asarray(values, dtype=bool).reshape(-1)


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else 0.0


def reliability_bins(p: ArrayLike, correct: ArrayLike, n_bins: int = 10) -> list[Bin]:
    """``n_bins`` equal-width bins over [0, 1]: [k/n, (k+1)/n), the last one closed (p = 1.0).

    The bin index is ``floor(p * n_bins)``, which puts decimal edges such as p = 0.3 in the
    bin that starts there even though 0.3 is not exactly representable.
    """
    p, correct = _floats(p), _bools(correct)
    index = np.clip(np.floor(p * n_bins).astype(int), 0, n_bins - 1)
    bins = []
    for k in range(n_bins):
        members = index == k
        count = int(members.sum())
        mean_p = float(p[members].mean()) if count else math.nan
        accuracy = float(correct[members].mean()) if count else math.nan
        bins.append(Bin(k / n_bins, (k + 1) / n_bins, count, mean_p, accuracy))
    return bins


def ece(p: ArrayLike, correct: ArrayLike, n_bins: int = 10) -> float:
    """Standard expected calibration error.

    ``sum_b (n_b / N) * |accuracy_b - mean_p_b|`` over ``n_bins`` equal-width bins of [0, 1]
    (see :func:`reliability_bins`); empty bins contribute nothing. nan for no episodes.
    """
    bins = reliability_bins(p, correct, n_bins)
    total = sum(b.count for b in bins)
    if total == 0:
        return math.nan
    return float(sum(b.count / total * abs(b.accuracy - b.mean_p) for b in bins if b.count))


def ece_lacie(p: ArrayLike, correct: ArrayLike, n_bins: int = 9) -> float:
    """ECE as LACIE computes it, which differs from :func:`ece` in two ways.

    - The ``n_bins`` uniform bins span the *observed* range [min p, max p], not [0, 1]
      (scipy ``binned_statistic`` semantics: bins are half-open except the last, which is
      closed on the right; if every p is equal the range is widened to p +- 0.5).
    - A bin's confidence is its *midpoint*, not the mean p of its members.

    Bins are weighted by their count and empty bins are dropped. nan for no episodes.
    """
    p, correct = _floats(p), _bools(correct)
    if p.size == 0:
        return math.nan
    lo, hi = float(p.min()), float(p.max())
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, n_bins + 1)
    index = np.digitize(p, edges) - 1  # edges[i] <= p < edges[i + 1]
    index[p == hi] = n_bins - 1  # the last bin is closed on the right
    total = 0.0
    for k in range(n_bins):
        members = index == k
        if members.any():
            midpoint = (edges[k] + edges[k + 1]) / 2
            total += members.sum() / p.size * abs(correct[members].mean() - midpoint)
    return float(total)


def auroc(scores: ArrayLike, labels: ArrayLike) -> float:
    """Area under the ROC curve: P(score of a random positive > that of a random negative),
    a tied positive/negative pair counting one half (``sklearn.metrics.roc_auc_score``).

    Returns nan when only one class is present (the curve is undefined) -- callers averaging
    over runs should use ``np.nanmean``.
    """
    from sklearn.metrics import roc_auc_score  # here: scikit-learn takes a second to import

    scores, labels = _floats(scores), _bools(labels)
    if labels.all() or not labels.any():
        return math.nan
    return float(roc_auc_score(labels, scores))


def listener_precision_recall_f1(
    accepted: ArrayLike, correct: ArrayLike
) -> tuple[float, float, float]:
    """Precision, recall and F1 of the listener's accepts at finding correct answers.

    TP = accepted and correct, FP = accepted and wrong, FN = rejected and correct (LACIE);
    a zero denominator gives 0.0.
    """
    accepted, correct = _bools(accepted), _bools(correct)
    tp = int((accepted & correct).sum())
    fp = int((accepted & ~correct).sum())
    fn = int((~accepted & correct).sum())
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    return precision, recall, _ratio(2 * precision * recall, precision + recall)


def false_accept_rate(accepted: ArrayLike, correct: ArrayLike) -> float:
    """Share of wrong answers that the listener accepted (0.0 if none was wrong)."""
    accepted, correct = _bools(accepted), _bools(correct)
    return _ratio((accepted & ~correct).sum(), (~correct).sum())


def induced_listener_accuracy(accepted: ArrayLike, correct: ArrayLike) -> float:
    """(TA + TR) / N: how often the listener's decision matched the truth."""
    accepted, correct = _bools(accepted), _bools(correct)
    return _ratio((accepted == correct).sum(), accepted.size)


def abstention_rate(abstained: ArrayLike) -> float:
    abstained = _bools(abstained)
    return _ratio(abstained.sum(), abstained.size)


def is_hedged(utterance: str) -> bool:
    """Whether the utterance contains a hedge the lexical listener penalises."""
    counts = cue_counts(utterance)
    return counts["mild_hedge"] + counts["strong_hedge"] > 0


def hedge_rate(utterances: Iterable[str]) -> float:
    flags = [is_hedged(u) for u in utterances]
    return _ratio(sum(flags), len(flags))


def _metrics(p: np.ndarray, correct: np.ndarray, accepted: np.ndarray) -> dict[str, float]:
    precision, recall, f1 = listener_precision_recall_f1(accepted, correct)
    n = p.size
    return {
        "accuracy": _ratio(correct.sum(), n),
        "accept_rate": _ratio(accepted.sum(), n),
        "mean_p_accept": float(p.mean()) if n else math.nan,
        "ece": ece(p, correct),
        "ece_lacie": ece_lacie(p, correct),
        "auroc": auroc(p, correct),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "false_accept_rate": false_accept_rate(accepted, correct),
        "induced_listener_accuracy": induced_listener_accuracy(accepted, correct),
    }


def calibration_report(records: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Every metric above over a list of the env's ``info`` dicts.

    Each record needs ``p_accept`` and ``correct``; ``accepted`` defaults to p > 0.5,
    ``abstained`` to False, and ``utterance`` and ``reward`` are used when present.

    Abstentions are handled both ways LACIE reports:

    - plain keys (``no-skip``): over all episodes, an abstention counting as wrong and not
      accepted (its ``p_accept`` is kept for ECE/AUROC; a missing one counts as 0);
    - ``*_skip`` keys (``skip``): over the answered episodes only.

    Counts: ``n``, ``n_answered``, ``n_abstain`` and ``n_TA``/``n_TR``/``n_FA``/``n_FR`` over
    the answered episodes (so in the no-skip view the abstentions join the TRs).
    """
    abstained = _bools([bool(r.get("abstained", False)) for r in records])
    p = _floats([r.get("p_accept") if r.get("p_accept") is not None else 0.0 for r in records])
    correct = _bools([bool(r["correct"]) for r in records]) & ~abstained
    given = [r.get("accepted", pi > 0.5) for r, pi in zip(records, p, strict=True)]
    accepted = _bools(given) & ~abstained
    answered = ~abstained

    report: dict[str, float] = {
        "n": len(records),
        "n_answered": int(answered.sum()),
        "n_abstain": int(abstained.sum()),
        "abstention_rate": abstention_rate(abstained),
        "n_TA": int((answered & correct & accepted).sum()),
        "n_TR": int((answered & ~correct & ~accepted).sum()),
        "n_FA": int((answered & ~correct & accepted).sum()),
        "n_FR": int((answered & correct & ~accepted).sum()),
    }
    report.update(_metrics(p, correct, accepted))
    skip = _metrics(p[answered], correct[answered], accepted[answered])
    report.update({f"{key}_skip": value for key, value in skip.items()})

    if all("utterance" in r for r in records):
        utterances = [str(r["utterance"]) for r in records]
        report["hedge_rate"] = hedge_rate(utterances)
        report["hedge_rate_skip"] = hedge_rate(np.array(utterances, dtype=object)[answered])
    rewards = [float(r["reward"]) for r in records if r.get("reward") is not None]
    if rewards:
        report["mean_reward"] = float(np.mean(rewards))
    return report
