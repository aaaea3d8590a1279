"""benchmarks/effect_pbt.py: question selection, training pairs, per-item counts and rows;
the quick run end to end (tiny model) and its resume."""

from __future__ import annotations

import importlib
import json
from dataclasses import replace
from pathlib import Path

import pytest

from societygym.baselines import persuasion_trees as pt
from societygym.baselines.lacie import read_jsonl, write_jsonl
from societygym.envs.persuasion.dialogue import Turn

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
ROW_KEYS = {"metric", "base", "trained", "diff", "diff_lo", "diff_hi", "seeds", "better", "paper"}


@pytest.fixture
def effect(monkeypatch):
    """benchmarks/effect_pbt.py, with its folder on sys.path as when the script runs."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("effect_pbt")


def test_selection_keeps_questions_answered_right_only_sometimes(effect) -> None:
    assert [effect.mixed(r, 4) for r in range(5)] == [False, True, True, True, False]
    train, pool = effect.candidates(effect.QUICK)
    assert (len(train), len(pool)) == (effect.QUICK.train_candidates, effect.QUICK.eval_candidates)
    assert {it.split for it in pool[:10]} <= {"dev", "test"}
    big_train, big_pool = effect.candidates(effect.Config())
    assert big_train[: len(train)] == train  # a larger run probes a smaller run's first
    assert not {it.id for it in big_train} & {it.id for it in big_pool}  # no tree question
    assert {it.split for it in big_pool} == {"dev", "test", "train"}


def _labelled_pairs() -> list[pt.PreferencePair]:
    pair = pt.PreferencePair("q", "agent_1", [], "right", "wrong", pt.RESIST, 1.0, 2, 0, 2)
    labels = [pt.RESIST] * 3 + [pt.ACCEPT, None]
    return [replace(pair, label=label, chosen=f"c{i}") for i, label in enumerate(labels)]


def test_training_pairs_are_balanced_labelled_or_all(effect) -> None:
    pairs = _labelled_pairs()
    balanced = effect.choose_pairs(pairs, "balanced")
    assert sorted(p.label for p in balanced) == [pt.ACCEPT, pt.RESIST]
    labelled = effect.choose_pairs(pairs, "labelled")
    assert len(labelled) == 4 and None not in [p.label for p in labelled]
    assert effect.choose_pairs(pairs, "all") == pairs
    with pytest.raises(ValueError, match="balanced"):
        effect.choose_pairs(pairs, "some")


def _run(metrics: dict[str, float], correct: list[bool]) -> dict:
    return {
        env: {"metrics": metrics, "episodes": [{"correct": c} for c in correct]}
        for env in BENCHMARKS_ENVS
    }


BENCHMARKS_ENVS = (
    "Persuasion-Balanced-v0",
    "Persuasion-AreYouSure-v0",
    "Persuasion-Misinformation-v0",
)
KEYS = ("accuracy_overall", "accuracy_resist", "accuracy_accept", "accuracy_delta",
        "accuracy_before", "accuracy_after", "adoption", "adoption_when_right")  # fmt: skip


def test_rows_pair_the_shared_base_run_with_each_seed(effect) -> None:
    assert effect.ENVS == BENCHMARKS_ENVS
    base = _run(dict.fromkeys(KEYS, 0.5), [True, False, True, False])
    trained = {
        s: _run(dict.fromkeys(KEYS, 0.5 + 0.1 * s), [True, True, False, False]) for s in (1, 2, 3)
    }
    rows = effect.rows(base, trained)
    assert [row["metric"] for row in rows] == [m[2] for m in effect.METRICS]
    for row in rows:
        assert set(row) == ROW_KEYS and row["seeds"] == 3
        assert row["base"] == 0.5 and row["diff"] == pytest.approx(0.2)
        assert row["diff_lo"] < 0.2 < row["diff_hi"]
    adoption = next(r for r in rows if r["metric"] == "misinformation/adoption")
    assert adoption["better"] == "lower"
    counts = effect.item_counts(
        base[BENCHMARKS_ENVS[0]]["episodes"], trained[1][BENCHMARKS_ENVS[0]]["episodes"]
    )
    assert counts == {"n": 4, "base_right": 2, "trained_right": 2, "gained": 1, "lost": 1}
    power = effect.powers(base, trained)
    assert set(power) == {
        "balanced/accuracy",
        "are_you_sure/accuracy_change",
        "misinformation/adoption",
    }
    assert power["balanced/accuracy"]["seeds"] == 3 and power["balanced/accuracy"]["items"] == 4


def _tree(item) -> pt.Tree:
    """A discussion of ``item`` holding one resist and one accept pair (the shape of
    ``test_persuasion_trees.hand_built_tree``): each turn states its speaker's answer."""
    right, wrong, other = item.answers[0], *item.distractors[:2]

    def node(speaker: str, a0: str, a1: str | None, *children: pt.Node) -> pt.Node:
        answers = {"agent_0": a0, "agent_1": a1}
        turn = Turn(speaker, f"It is {answers[speaker]}.", answers, "stated", opening=False)
        correct = {agent: answer == right for agent, answer in answers.items()}
        return pt.Node(turn, "standard", correct, list(children))

    a, b = "agent_0", "agent_1"
    stays = node(a, right, wrong, node(b, right, wrong), node(b, right, right))
    yields = node(a, other, wrong, node(b, other, wrong), node(b, other, right))
    root = node(a, right, None, node(b, right, wrong, stays, yields, node(a, wrong, wrong)))
    return pt.Tree(item, root)


@pytest.mark.slow
def test_quick_run_end_to_end_and_resume(effect, tmp_path, capsys) -> None:
    """The quick size on the tiny model. Its random text is never right, so the probes and the
    trees are seeded: two questions of each pool answered right once, and hand-built trees
    of resist and accept pairs; training and evaluation run for real."""
    work, results = tmp_path / "work", tmp_path / "results"
    train, pool = effect.candidates(effect.QUICK)
    k = effect.QUICK.probe_samples
    for name, items in (("train", train), ("eval", pool)):
        rows = [
            {"question_id": it.id, "right": int(i < 2), "samples": k} for i, it in enumerate(items)
        ]
        write_jsonl(rows, work / f"select-{name}.jsonl")
    pt.save_trees([_tree(item) for item in train[:2]], work / "trees.jsonl")

    argv = ["--quick", "--model", "tiny", "--workdir", str(work), "--results", str(results)]
    first = effect.main(argv)
    out = capsys.readouterr().out
    assert "train seed 1: DPO loss" in out
    assert first["pairs"]["kept"] == {"resist": 2, "accept": 2}
    assert (first["questions"]["train_selected"], first["questions"]["eval_selected"]) == (2, 2)
    for row in first["rows"]:
        assert set(row) == ROW_KEYS and row["seeds"] == 2 and row["better"] in ("higher", "lower")
    assert first["counts"]["0"]["Persuasion-Balanced-v0"]["n"] == 4  # both halves of 2 questions
    saved = json.loads((results / "effect_pbt.json").read_text())
    assert saved["rows"] == first["rows"]
    assert (results / "effect_pbt.png").stat().st_size > 0
    assert read_jsonl(work / "dpo.jsonl") and read_jsonl(work / "sft.jsonl")

    again = effect.main(argv)
    out = capsys.readouterr().out
    # every stage was checkpointed: nothing trained, evaluated or probed again
    assert not any(f"] {stage}" in out for stage in ("train seed", "eval ", "select ", "trees"))
    assert again["rows"] == first["rows"]


def test_training_steps_cover_the_pairs_epochs_times_within_bounds(effect) -> None:
    config = replace(effect.Config(), epochs=3.0, min_steps=2, max_steps=40, batch_size=2,
                     grad_accum=4)  # fmt: skip
    assert effect.training_steps(config, 20) == 8  # 60 pair passes, 8 a step
    assert effect.training_steps(config, 1) == 2
    assert effect.training_steps(config, 1000) == 40
