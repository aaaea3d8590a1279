"""benchmarks/effect_grpo.py: the effect rows and their intervals; the quick run end to end."""

from __future__ import annotations

import importlib
import json
import math
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def bench(monkeypatch):
    """The benchmark scripts' folder on sys.path, as when a script runs from it."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib


def test_effect_row_is_the_paired_t_interval_over_seeds(bench):
    rows = bench.import_module("effect_rows")
    row = rows.effect_row("acc", [0.2, 0.2, 0.2], [0.3, 0.4, 0.5], "higher", "up")
    assert tuple(row) == rows.ROW_KEYS
    # differences 0.1, 0.2, 0.3: mean 0.2, sd 0.1, t(2) = 4.303
    half = 4.303 * 0.1 / math.sqrt(3)
    assert row["diff"] == pytest.approx(0.2)
    assert (row["diff_lo"], row["diff_hi"]) == (round(0.2 - half, 4), round(0.2 + half, 4))
    assert (row["base"], row["trained"], row["seeds"]) == (0.2, 0.4, 3)
    one = rows.effect_row("acc", [0.5], [0.75], "lower", "")
    assert one["diff"] == 0.25 and one["diff_lo"] is None and one["diff_hi"] is None
    assert rows.effect_row("auroc", [math.nan] * 2, [0.5, 0.7], "higher", "")["base"] is None
    with pytest.raises(ValueError, match="better"):
        rows.effect_row("acc", [0.1], [0.2], "up", "")
    with pytest.raises(ValueError, match="2 base values"):
        rows.effect_row("acc", [0.1, 0.2], [0.2], "higher", "")


def test_grpo_rows_compare_heldout_and_the_curve_early_vs_late(bench):
    grpo = bench.import_module("effect_grpo")
    base = {"accuracy": 0.25, "reward": -0.1}
    trained = [{"accuracy": a, "reward": r} for a, r in ((0.5, 0.2), (0.25, 0.0), (0.75, 0.4))]
    curves = [[{"step": i + 1, "reward": float(i + s)} for i in range(8)] for s in range(3)]
    rows = {r["metric"]: r for r in grpo.result_rows(base, trained, curves)}
    assert rows["heldout/accuracy"]["base"] == 0.25
    assert rows["heldout/accuracy"]["trained"] == pytest.approx(0.5)
    assert rows["heldout/accuracy"]["diff"] == pytest.approx(0.25)
    assert rows["heldout/reward"]["diff"] == pytest.approx(0.3)
    # 8 steps: quarters are steps 1-2 and 7-8, so each seed rises by 6
    curve = rows["train/reward_first_vs_last_quarter"]
    assert curve["diff"] == 6.0 and curve["diff_lo"] == curve["diff_hi"] == 6.0
    assert curve["base"] == pytest.approx(1.5)
    assert all(r["seeds"] == 3 and r["better"] == "higher" for r in rows.values())


def test_textcraft_slice_holds_out_whole_goals(bench):
    grpo = bench.import_module("effect_grpo")
    train, held_out = grpo.textcraft_goals()
    assert len(held_out) * 3 <= len(train) and not set(train) & set(held_out)
    task = grpo.make_task("TextCraft-v0", grpo.Config())
    assert {t.goal for t in task.eval_kwargs["tasks"]} == set(held_out)
    assert all(len(t.commands) == 1 for t in task.train_kwargs["tasks"])  # depth 1, no noise
    with pytest.raises(ValueError, match="no GRPO task"):
        grpo.make_task("ReGAL-Logo-v0", grpo.Config())


def test_textcraft_warmup_demonstrations_are_the_planners_winning_turns(bench):
    grpo = bench.import_module("effect_grpo")
    task = grpo.make_task("TextCraft-v0", grpo.Config())
    assert task.warmup and not grpo.make_task("Trivia-Calibration-v0", grpo.Config()).warmup
    rows = grpo.task_rows(task, 6, grpo.WARMUP_SEED, task.train_kwargs)
    demos = grpo.demonstrations(task, task.train_kwargs, rows)
    assert len(demos) >= 2 * len(rows)  # at least a get and a craft per goal
    held_out = {t.goal for t in task.eval_kwargs["tasks"]}
    for demo in demos:
        (reply,) = demo["completion"]
        assert reply["role"] == "assistant" and reply["content"].split()[0] in ("get", "craft")
        assert demo["prompt"][-1]["role"] == "user"  # the task, or the env's last answer
        goal = demo["prompt"][0]["content"].rpartition("Goal: craft ")[2].partition(".")[0]
        assert goal not in held_out
    # each episode's later commands see the earlier ones and the env's answers
    second = next(d for d in demos if len(d["prompt"]) == 3)
    assert second["prompt"][1]["role"] == "assistant" and "Got" in second["prompt"][2]["content"]
    # plans longer than the episode are left out (the 3-command ones at 2 steps), and
    # with none left the warm-up is refused rather than trained on nothing
    short = grpo.demonstrations(task, dict(task.train_kwargs, max_steps=2), rows)
    assert {len(d["prompt"]) for d in short} <= {1, 3} and len(short) < len(demos)
    with pytest.raises(ValueError, match="no planner solution fits in 1 steps"):
        grpo.demonstrations(task, dict(task.train_kwargs, max_steps=1), rows)


def test_a_task_whose_base_groups_all_tie_is_not_trained(bench, tmp_path, capsys):
    grpo = bench.import_module("effect_grpo")
    work = tmp_path / "work" / "Trivia-Calibration-v0"
    work.mkdir(parents=True)
    tied = {"groups": [[0.0, 0.0]], "groups_with_signal": 0.0, "mean_reward": 0, "success": 0}
    (work / "variance.json").write_text(json.dumps(tied))
    assert (
        grpo.run_task(grpo.Config(), "Trivia-Calibration-v0", tmp_path / "work", tmp_path) is None
    )
    assert "SKIPPED" in capsys.readouterr().out and not list(tmp_path.glob("*.json"))


@pytest.mark.slow
@pytest.mark.timeout(2400)  # 12 GRPO steps and 8 evaluations: ~10 min on 2 busy cores
def test_effect_grpo_quick_run_writes_rows_and_resumes(bench, tmp_path, capsys):
    """The whole benchmark at its quick size (tiny model), then a re-run that redoes nothing."""
    grpo = bench.import_module("effect_grpo")
    rows_module = bench.import_module("effect_rows")
    work, results = tmp_path / "work", tmp_path / "results"
    argv = ["--quick", "--workdir", str(work), "--results", str(results)]
    first = grpo.main(argv)
    out = capsys.readouterr().out
    assert "train seed 2" in out and "2/2 reward" in out  # stages and progress lines
    assert "1/3 seeds" in out  # results rewritten after every seed
    for env_id in ("Trivia-Calibration-v0", "TextCraft-v0"):
        saved = json.loads((results / f"effect_grpo_{env_id}.json").read_text())
        assert saved["rows"] == first[env_id]["rows"] and saved["partial"] is False
        assert (results / f"effect_grpo_{env_id}.png").stat().st_size > 0
        for row in saved["rows"]:
            assert tuple(row) == rows_module.ROW_KEYS and row["seeds"] == 3
            assert row["better"] in ("higher", "lower")
        assert sorted(saved["curves"]) == ["0", "1", "2"]
        assert all(len(curve) == 2 for curve in saved["curves"].values())
        base = json.loads((work / env_id / "eval" / "base.json").read_text())
        assert len(base["episodes"]) == 4
    warmup = json.loads((results / "effect_grpo_TextCraft-v0.json").read_text())["warmup"]
    assert warmup["commands"] >= 2 * warmup["episodes"] and warmup["steps"] == 1
    assert (work / "TextCraft-v0" / "warmup" / "model" / "config.json").exists()
    again = grpo.main(argv)
    out = capsys.readouterr().out
    assert "train seed" not in out and "held-out episodes" not in out  # all checkpointed
    assert {k: v["rows"] for k, v in again.items()} == {k: v["rows"] for k, v in first.items()}
