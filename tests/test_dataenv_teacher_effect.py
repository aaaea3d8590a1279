"""The learning-progress teacher, the power arithmetic of a paired comparison, and
benchmarks/bench_dataenv_teachers.py (paired rows; the quick run end to end, resumed)."""

from __future__ import annotations

import importlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

from societygym.agents.teachers import (
    LearningProgressTeacher,
    learning_progress_weights,
)

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def bench(monkeypatch):
    """The benchmark scripts' folder on sys.path, as when a script runs from it."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib


def test_learning_progress_weights_mix_progress_with_an_even_share():
    weights = learning_progress_weights([0.3, 0.1, 0.0, 0.0], explore=0.2)
    # 0.2 spread over four skills, 0.8 split 3:1 between the two that moved
    assert weights == pytest.approx([0.05 + 0.6, 0.05 + 0.2, 0.05, 0.05])
    assert learning_progress_weights([0.0, 0.0, 0.0], explore=0.2) == [1.0, 1.0, 1.0]
    assert learning_progress_weights([0.2, 0.0], explore=0.0) == pytest.approx([1.0, 0.0])


def test_learning_progress_teacher_follows_the_smoothed_absolute_change():
    teacher = LearningProgressTeacher("math", smoothing=0.5, explore=0.0)
    skills = len(teacher.domain.skills)

    def observe(*changed: tuple[int, float]) -> list[float]:
        accuracy = np.zeros(skills)
        for skill, value in changed:
            accuracy[skill] = value
        return teacher.weights({"skill_accuracy": accuracy})

    assert observe() == [1.0] * skills  # nothing measured yet: uniform
    first = observe((0, 0.4), (1, 0.2))  # skill 0 rose 0.4, skill 1 rose 0.2
    assert first[:3] == pytest.approx([0.4 / 0.6, 0.2 / 0.6, 0.0])
    # skill 0 falls back by 0.4 (forgetting counts), skill 1 holds: EMA 0.4 and 0.1
    second = observe((1, 0.2))
    assert second[:2] == pytest.approx([0.8, 0.2])
    teacher.reset()
    assert observe((5, 1.0)) == [1.0] * skills  # a new episode starts unmeasured
    with pytest.raises(ValueError, match="skill-list"):
        teacher.weights({"accuracy": [0.5]})
    with pytest.raises(ValueError, match="smoothing"):
        LearningProgressTeacher("math", smoothing=0.0)


def test_learning_progress_teacher_writes_its_allocation():
    teacher = LearningProgressTeacher("math", examples_per_step=20, explore=0.0, seed=3)
    skills = teacher.domain.skills
    before = {"skill_accuracy": np.zeros(len(skills)), "budget": np.array([0, 2, 40])}
    after = {"skill_accuracy": np.eye(len(skills))[2] * 0.5, "budget": np.array([1, 1, 20])}
    assert len(teacher.act(before, {})) == 20
    examples = teacher.act(after, {})
    assert [e["skill"] for e in examples] == [skills[2]] * 20


def test_t_quantiles_and_power_of_a_paired_comparison(bench):
    power = bench.import_module("effect_power")
    for df, expected in ((1, 12.706), (2, 4.303), (4, 2.776), (9, 2.262), (29, 2.045)):
        assert power.t_quantile(0.975, df) == pytest.approx(expected, abs=0.004)
    assert power.t_quantile(0.8, 9) == pytest.approx(0.883, abs=0.002)
    assert power.half_width(0.1, 10) == pytest.approx(2.262 * 0.1 / math.sqrt(10), abs=1e-3)
    # 80% power needs (t_.975 + t_.8) standard errors: 3.145 at 9 degrees of freedom
    assert power.minimum_detectable(0.1, 10) == pytest.approx(3.145 * 0.1 / math.sqrt(10), 1e-3)
    n = power.seeds_needed(0.08, 0.03)
    assert power.half_width(0.08, n) <= 0.03 < power.half_width(0.08, n - 1)
    # the items asked for bring the total variance to what the target allows at 10 seeds
    items = power.items_needed(0.001, 0.5, 10, 0.03)
    total = 0.001 + power.measurement_variance(0.5, items)
    assert power.half_width(math.sqrt(total), 10) <= 0.03
    assert (
        power.half_width(math.sqrt(0.001 + power.measurement_variance(0.5, items - 5)), 10) > 0.03
    )
    assert power.items_needed(0.01, 0.5, 10, 0.03) is None  # training noise alone too wide

    report = power.power([0.0, 0.1, 0.2, 0.1], accuracy=0.5, items=50, target=0.03)
    assert report.sd == pytest.approx(math.sqrt(0.02 / 3))
    assert report.half_width == pytest.approx(power.half_width(report.sd, 4))
    # the measurement part, 2 * 0.25 / 50 = 0.01, exceeds the observed variance
    assert report.train_sd == 0.0 and report.items_needed is not None
    with pytest.raises(ValueError, match="two"):
        power.power([0.1], 0.5, 50, 0.03)


def _episode(seed: int, teacher: str, start: float, end: float, test: float) -> dict:
    return {
        "seed": seed,
        "teacher": teacher,
        "curve": [start, end],
        "test": test,
        "validation_items": 100,
        "test_items": 200,
    }


def test_rows_pair_the_teachers_by_seed(bench):
    """Seeds differ a lot in accuracy, the teachers by a steady +0.02: the paired interval
    is narrow, though an unpaired one would be wide."""
    teachers = bench.import_module("bench_dataenv_teachers")
    config = teachers.Config("vqa", "cnn", seeds=(0, 1, 2, 3))
    level = {0: 0.2, 1: 0.5, 2: 0.3, 3: 0.6}
    shift = {0: 0.02, 1: 0.03, 2: 0.01, 3: 0.02}
    episodes = {
        s: {
            "no-state": _episode(s, "no-state", 0.1, level[s], level[s]),
            "weakest-first": _episode(s, "weakest-first", 0.1, level[s] + shift[s], level[s]),
            "learning-progress": _episode(s, "learning-progress", 0.1, level[s], level[s] - 0.1),
        }
        for s in config.seeds
    }
    summary = teachers.summarize(config, episodes, target=0.03)
    rows = {r["metric"]: r for r in summary["rows"]}
    gain = rows["validation_gain (weakest-first)"]
    assert gain["diff"] == pytest.approx(0.02)
    assert 0.0 < gain["diff_lo"] < 0.02 < gain["diff_hi"] < 0.04
    assert gain["base"] == pytest.approx(0.3) and gain["seeds"] == 4
    assert rows["test_accuracy (weakest-first)"]["diff"] == 0.0
    assert rows["test_accuracy (learning-progress)"]["diff"] == pytest.approx(-0.1)
    assert summary["power"]["validation_gain (weakest-first)"]["items"] == 100
    assert summary["power"]["test_accuracy (learning-progress)"]["items"] == 200
    assert {r["better"] for r in rows.values()} == {"higher"}


@pytest.mark.slow
def test_quick_run_writes_rows_and_resumes(bench, tmp_path, capsys):
    """The whole benchmark at its quick size (tiny VQA CNN), then a re-run that plays no
    episode again."""
    teachers = bench.import_module("bench_dataenv_teachers")
    rows_module = bench.import_module("effect_rows")
    argv = ["--domain", "vqa", "--quick", "--workdir", str(tmp_path / "w")]
    first = teachers.main([*argv, "--results", str(tmp_path / "r")])
    out = capsys.readouterr().out
    assert "6/6 done" in out
    saved = json.loads((tmp_path / "r" / "effect_dataenv_vqa.json").read_text())
    assert saved["rows"] == first["rows"] and not saved["partial"]
    assert all(tuple(r)[: len(rows_module.ROW_KEYS)] == rows_module.ROW_KEYS for r in saved["rows"])
    assert len(saved["rows"]) == 4 and saved["seeds_done"] == [0, 1]
    # the teachers differ only in allocation: the same number of examples each step
    sizes = {n: [sum(a.values()) for a in runs[0]] for n, runs in saved["allocations"].items()}
    assert len(set(map(tuple, sizes.values()))) == 1
    assert (tmp_path / "r" / "effect_dataenv_vqa.png").stat().st_size > 0
    again = teachers.main([*argv, "--results", str(tmp_path / "r2")])
    assert "6 of 6 episodes already done" in capsys.readouterr().out
    assert again["rows"] == first["rows"]
