"""Calibration metrics against values worked out by hand, and the reliability diagram."""

import itertools
import math

import numpy as np
import pytest
from PIL import Image

from societygym.envs.trivia import metrics
from societygym.envs.trivia.reliability import (
    reliability_figure,
    save_reliability_diagram,
    wilson_interval,
)

# Six episodes used by several tests.
P6 = [0.1, 0.15, 0.25, 0.85, 0.95, 1.0]
C6 = [0, 1, 0, 1, 0, 1]


def test_reliability_bins_place_edges_and_one_in_the_right_bins():
    bins = metrics.reliability_bins(P6, C6)
    # 0.1, 0.15 -> [0.1, 0.2); 0.25 -> [0.2, 0.3); 0.85 -> [0.8, 0.9); 0.95 and 1.0 -> last.
    assert [b.count for b in bins] == [0, 2, 1, 0, 0, 0, 0, 0, 1, 2]
    assert bins[1].mean_p == pytest.approx(0.125) and bins[1].accuracy == 0.5
    assert bins[9].lo == 0.9 and bins[9].hi == 1.0 and bins[9].mean_p == pytest.approx(0.975)
    assert math.isnan(bins[0].mean_p) and math.isnan(bins[0].accuracy)


def test_ece_six_samples():
    # bin [0.1,0.2): mean p 0.125, acc 0.5 -> 2 * 0.375 = 0.75
    # bin [0.2,0.3): 0.25 vs 0          -> 1 * 0.25  = 0.25
    # bin [0.8,0.9): 0.85 vs 1          -> 1 * 0.15  = 0.15
    # bin [0.9,1.0]: mean p 0.975, acc 0.5 -> 2 * 0.475 = 0.95
    # ECE = (0.75 + 0.25 + 0.15 + 0.95) / 6 = 2.1 / 6 = 0.35
    assert metrics.ece(P6, C6) == pytest.approx(0.35)


def test_ece_lacie_six_samples_uses_observed_range_and_midpoints():
    # 9 bins over [min, max] = [0.1, 1.0], each 0.1 wide; confidence = bin midpoint.
    # [0.1,0.2): {0.1, 0.15} mid 0.15, acc 0.5 -> 2 * 0.35 = 0.7
    # [0.2,0.3): {0.25}      mid 0.25, acc 0   -> 1 * 0.25 = 0.25
    # [0.8,0.9): {0.85}      mid 0.85, acc 1   -> 1 * 0.15 = 0.15
    # [0.9,1.0]: {0.95, 1.0} mid 0.95, acc 0.5 -> 2 * 0.45 = 0.9  (last bin closed)
    # ECE = (0.7 + 0.25 + 0.15 + 0.9) / 6 = 2.0 / 6
    assert metrics.ece_lacie(P6, C6) == pytest.approx(2.0 / 6)


def test_ece_lacie_differs_from_ece_on_a_narrow_range():
    p, correct = [0.5, 0.5, 0.95], [1, 0, 1]
    # Standard: {0.5, 0.5} mean 0.5, acc 0.5 -> 0; {0.95} -> 0.05.  ECE = 0.05 / 3.
    assert metrics.ece(p, correct) == pytest.approx(0.05 / 3)
    # LACIE: bins of width 0.05 over [0.5, 0.95]; {0.5, 0.5} mid 0.525 -> 2 * 0.025;
    # {0.95} in the last bin [0.9, 0.95], mid 0.925 -> 0.075.  ECE = 0.125 / 3.
    assert metrics.ece_lacie(p, correct) == pytest.approx(0.125 / 3)


def test_ece_lacie_constant_p_widens_the_range():
    # All p = 0.7: range [0.2, 1.2], 9 bins of 1/9; 0.7 falls in the middle bin, midpoint 0.7.
    assert metrics.ece_lacie([0.7, 0.7], [1, 0]) == pytest.approx(0.2)


def test_ece_of_nothing_is_nan():
    assert math.isnan(metrics.ece([], [])) and math.isnan(metrics.ece_lacie([], []))


def _auroc_by_pairs(scores, labels):
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a, b in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_auroc_with_ties_by_hand():
    scores = [0.9, 0.8, 0.8, 0.6, 0.6, 0.3]
    labels = [1, 1, 0, 1, 0, 0]
    # positives 0.9, 0.8, 0.6 against negatives 0.8, 0.6, 0.3:
    # 0.9 beats all three (3); 0.8 ties 0.8, beats 0.6 and 0.3 (2.5); 0.6 loses to 0.8,
    # ties 0.6, beats 0.3 (1.5).  AUROC = 7 / 9.
    assert metrics.auroc(scores, labels) == pytest.approx(7 / 9)


def test_auroc_matches_brute_force_pair_count():
    rng = np.random.default_rng(0)
    for _ in range(20):
        scores = rng.integers(0, 5, size=15) / 4  # coarse values: many ties
        labels = rng.random(15) < 0.5
        if labels.all() or not labels.any():
            continue
        assert metrics.auroc(scores, labels) == pytest.approx(_auroc_by_pairs(scores, labels))


def test_auroc_single_class_is_nan():
    assert math.isnan(metrics.auroc([0.2, 0.9], [1, 1]))
    assert math.isnan(metrics.auroc([0.2, 0.9], [0, 0]))


# TA = 3, FA = 1, FR = 2, TR = 2
ACCEPTED = [1, 1, 1, 1, 0, 0, 0, 0]
CORRECT = [1, 1, 1, 0, 1, 1, 0, 0]


def test_precision_recall_f1_two_by_two():
    precision, recall, f1 = metrics.listener_precision_recall_f1(ACCEPTED, CORRECT)
    assert precision == pytest.approx(3 / 4)  # TA / (TA + FA)
    assert recall == pytest.approx(3 / 5)  # TA / (TA + FR)
    assert f1 == pytest.approx(2 * 0.75 * 0.6 / 1.35)  # = 2/3


def test_precision_recall_f1_zero_division():
    assert metrics.listener_precision_recall_f1([0, 0], [1, 0]) == (0.0, 0.0, 0.0)


def test_rates():
    assert metrics.false_accept_rate(ACCEPTED, CORRECT) == pytest.approx(1 / 3)  # FA/(FA+TR)
    assert metrics.induced_listener_accuracy(ACCEPTED, CORRECT) == pytest.approx(5 / 8)
    assert metrics.false_accept_rate([1], [1]) == 0.0  # nothing was wrong
    assert metrics.abstention_rate([True, False, False, False]) == 0.25


def test_hedge_rate():
    utterances = ["I think it is X.", "Definitely X.", "No idea, my guess is X.", "X."]
    assert metrics.hedge_rate(utterances) == 0.5
    assert metrics.hedge_rate([]) == 0.0


def test_calibration_report_counts_abstentions_both_ways():
    records = [
        {"p_accept": 0.9, "correct": True, "accepted": True, "utterance": "Surely X.", "reward": 1},
        {"p_accept": 0.8, "correct": False, "accepted": True, "utterance": "X.", "reward": -1},
        {"p_accept": 0.3, "correct": True, "accepted": False, "utterance": "Maybe X?"},
        {"p_accept": 0.2, "correct": False, "accepted": False, "utterance": "I guess X."},
        # abstentions: wrong and rejected in the no-skip view, whatever they say
        {"p_accept": 0.6, "correct": False, "accepted": True, "abstained": True, "utterance": "?"},
        {"p_accept": None, "correct": False, "abstained": True, "utterance": "I don't know."},
    ]
    report = metrics.calibration_report(records)
    assert (report["n"], report["n_answered"], report["n_abstain"]) == (6, 4, 2)
    assert [report[f"n_{k}"] for k in ("TA", "TR", "FA", "FR")] == [1, 1, 1, 1]
    assert report["abstention_rate"] == pytest.approx(2 / 6)
    # no-skip: 4 wrong (2 answered, 2 abstained), 1 false accept; (TA + TR + 2) / 6 right calls
    assert report["false_accept_rate"] == pytest.approx(1 / 4)
    assert report["induced_listener_accuracy"] == pytest.approx(4 / 6)
    assert report["accuracy"] == pytest.approx(2 / 6)
    assert report["precision"] == report["recall"] == pytest.approx(0.5)
    # no-skip AUROC: positives 0.9, 0.3 vs negatives 0.8, 0.2, 0.6, 0 -> (4 + 2) / 8
    assert report["auroc"] == pytest.approx(6 / 8)
    # skip: only the four answered episodes
    assert report["false_accept_rate_skip"] == pytest.approx(1 / 2)
    assert report["induced_listener_accuracy_skip"] == pytest.approx(2 / 4)
    assert report["accuracy_skip"] == pytest.approx(2 / 4)
    assert report["auroc_skip"] == pytest.approx(3 / 4)  # 0.9 beats both, 0.3 beats 0.2
    assert report["ece_skip"] == pytest.approx(metrics.ece([0.9, 0.8, 0.3, 0.2], [1, 0, 1, 0]))
    # hedges: "Maybe", "guess" (answered), "I don't know" (abstained)
    assert report["hedge_rate"] == pytest.approx(3 / 6)
    assert report["hedge_rate_skip"] == pytest.approx(2 / 4)
    assert report["mean_reward"] == 0.0


def test_calibration_report_defaults_accepted_to_p_over_half():
    report = metrics.calibration_report(
        [{"p_accept": 0.7, "correct": True}, {"p_accept": 0.4, "correct": True}]
    )
    assert (report["n_TA"], report["n_FR"]) == (1, 1)
    assert "hedge_rate" not in report and "mean_reward" not in report


def test_reliability_diagram_is_a_drawn_png(tmp_path):
    rng = np.random.default_rng(0)
    p = rng.random(200)
    correct = rng.random(200) < p
    path = save_reliability_diagram(p, correct, tmp_path / "sub" / "reliability.png", title="t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as image:
        assert image.format == "PNG" and min(image.size) > 400
        pixels = np.asarray(image.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 10  # not blank: bars, text, lines


def test_reliability_figure_has_counts_intervals_and_zero_accuracy_bins():
    p = [0.05, 0.05, 0.55, 0.58, 0.95]
    correct = [False, False, True, False, True]  # the first bin has accuracy 0
    figure = reliability_figure(p, correct, title="t")
    top, counts = figure.axes
    assert len(top.patches) == 3  # one bar per non-empty bin, the zero-accuracy one too
    assert [t.get_text() for t in counts.texts] == ["2", "2", "1"]
    [intervals] = [c for c in top.containers if type(c).__name__ == "ErrorbarContainer"]
    dots = intervals.lines[0].get_ydata()
    assert list(dots) == [0.0, 0.5, 1.0]  # the zero-accuracy bin's dot sits on the axis
    assert "ECE" in figure.get_suptitle() and counts.get_xlabel() == "listener p(accept)"


def test_wilson_interval_is_sound_at_zero_and_matches_a_worked_value():
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and 0.27 < high < 0.28  # Wilson's upper bound for 0/10 is 0.2775
    low, high = wilson_interval(5, 10)
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)
