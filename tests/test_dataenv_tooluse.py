"""The tool-use domains: tools, plans, metrics, pinned generated splits, M&Ms fixture."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import societygym  # noqa: F401  (registers the env ids)
from societygym.envs.dataenv.domains import make_domain
from societygym.envs.dataenv.domains.tooluse import plans, tasks, tools
from societygym.envs.dataenv.domains.tooluse.domain import FINGERPRINTS, PER_SKILL, build_splits
from societygym.envs.dataenv.records import Example, Graded, TaskItem, fingerprint, question_key
from societygym.registry import entry

MNMS_FIXTURE = Path(__file__).parent / "fixtures" / "mnms"
PLAN_METRICS = ("plan_exact_match", "tool_f1", "argument_f1", "execution_pass_rate")


@pytest.fixture(scope="module")
def domain():
    return make_domain("tooluse")


def plan(*steps: tuple[str, dict]) -> str:
    return json.dumps([{"tool": t, "args": a} for t, a in steps])


def test_at_least_ten_tools_and_splits_are_pinned_disjoint_balanced(domain) -> None:
    assert len(tools.TOOLS) >= 10
    keys = {}
    for split in ("validation", "test"):
        items = domain.load_split(split)
        assert fingerprint(items) == FINGERPRINTS[split]
        assert all(sum(i.skill == s for i in items) == PER_SKILL for s in domain.skills)
        keys[split] = {question_key(i.question) for i in items}
        assert len(keys[split]) == len(items)
    assert not keys["validation"] & keys["test"]


def test_shipped_splits_regenerate(domain) -> None:
    rebuilt = build_splits()
    for split in ("validation", "test"):
        assert [i for i, _ in rebuilt[split]] == domain.load_split(split)
        assert [r for _, r in rebuilt[split]] == [
            domain.gold_result(i) for i in domain.load_split(split)
        ]


def test_gold_plans_execute_to_the_gold_results(domain) -> None:
    items = domain.load_split("validation") + domain.load_split("test")
    assert all(domain.grade([i.answer for i in items], items))
    rng = random.Random(0)
    for skill in tasks.SKILLS:  # fresh tasks too: results were computed without the tools
        for _ in range(40):
            task = tasks.sample(skill, rng)
            assert plans.same_result(plans.execute(task.plan), task.result), task.request


def test_pixel_counting_matches_the_scene() -> None:
    from societygym.envs.dataenv.domains.vqa import scenes

    for seed in range(40):
        image = f"scene-{seed}.png"
        objects = tools.scene_of(image).objects
        for color in scenes.COLORS:
            assert tools.count_objects(image, color) == sum(o.color == color for o in objects)
        assert tools.list_colors(image) == ", ".join(sorted({o.color for o in objects}))


@pytest.mark.parametrize(
    ("tool", "args", "expected"),
    [
        ("calculator", {"expression": "(2 + 3) * 4 - 2 ** 3"}, 12),
        ("calculator", {"expression": "7 / 2"}, 3.5),
        ("convert_units", {"value": 212, "from_unit": "F", "to_unit": "C"}, 100),
        ("convert_units", {"value": 1, "from_unit": "mi", "to_unit": "ft"}, 5280),
        ("convert_units", {"value": 3, "from_unit": "week", "to_unit": "day"}, 21),
        ("date_add", {"date": "2024-02-28", "days": 2}, "2024-03-01"),
        ("days_between", {"start": "2024-01-01", "end": "2025-01-01"}, 366),
        ("weekday", {"date": "2000-01-01"}, "Saturday"),
        ("text_reverse", {"text": "abc d"}, "d cba"),
        ("count_words", {"text": " two  words "}, 2),
        ("country_capital", {"country": "Japan"}, "Tokyo"),
        ("country_continent", {"country": "Kenya"}, "Africa"),
        ("element_atomic_number", {"element": "gold"}, 79),
        ("element_symbol", {"element": "potassium"}, "K"),
        ("state_capital", {"state": "Texas"}, "Austin"),
        ("state_abbreviation", {"state": "New York"}, "NY"),
    ],
)
def test_tools_on_known_values(tool, args, expected) -> None:
    assert plans.same_result(tools.TOOLS[tool].call(args)[tools.TOOLS[tool].output], expected)


@pytest.mark.parametrize(
    ("tool", "args", "message"),
    [
        ("calculator", {"expression": "__import__('os')"}, "may only hold numbers"),
        ("calculator", {"expression": "9 ** 9 ** 9"}, "too large"),
        ("calculator", {"expression": "1 / 0"}, "division by zero"),
        ("convert_units", {"value": 1, "from_unit": "kg", "to_unit": "km"}, "cannot convert"),
        ("convert_units", {"value": "1", "from_unit": "kg", "to_unit": "g"}, "must be float"),
        ("date_add", {"date": "01/02/2024", "days": 1}, "YYYY-MM-DD"),
        ("country_capital", {"country": "Atlantis"}, "unknown country"),
        ("count_objects", {"image": "../etc/passwd", "color": "red"}, "scene-<number>.png"),
        ("weekday", {"day": "2024-01-01"}, "takes ['date']"),
    ],
)
def test_tools_refuse_bad_arguments(tool, args, message) -> None:
    with pytest.raises(tools.ToolError, match=re.escape(message)):
        tools.TOOLS[tool].call(args)


def test_metrics_on_hand_computed_plans() -> None:
    gold = plans.parse_plan(
        plan(
            ("element_atomic_number", {"element": "iron"}),
            ("element_atomic_number", {"element": "gold"}),
            ("add", {"a": "<node-0>.number", "b": "<node-1>.number"}),
        )
    )
    same = plans.score_plan(
        plan(
            ("element_atomic_number", {"element": "Iron"}),
            ("element_atomic_number", {"element": "gold"}),
            ("add", {"b": "<node-1>.number", "a": "<node-0>.number"}),
        ),
        gold,
        105,
    )
    assert same.exact and same.executed and same.tool_f1 == same.arg_f1 == 1.0
    # two of three tools (multiset), two of four arguments; a different route to 105
    other = plans.score_plan(
        plan(
            ("element_atomic_number", {"element": "iron"}),
            ("calculator", {"expression": "26 + 79"}),
        ),
        gold,
        105,
    )
    assert not other.exact and other.executed
    assert other.tool_f1 == pytest.approx(2 * (1 / 2) * (1 / 3) / (1 / 2 + 1 / 3))
    assert other.arg_f1 == pytest.approx(2 * (1 / 2) * (1 / 4) / (1 / 2 + 1 / 4))
    broken = plans.score_plan("not json", gold, 105)
    assert not broken.parsed and broken.executed is False and broken.tool_f1 == 0.0
    summary = plans.mean_scores([same, other, broken])
    assert summary["plan_exact_match"] == pytest.approx(1 / 3)
    assert summary["execution_pass_rate"] == pytest.approx(2 / 3)


def test_report_on_a_hand_made_graded_list(domain) -> None:
    gold = plan(
        ("element_atomic_number", {"element": "iron"}),
        ("element_atomic_number", {"element": "gold"}),
        ("add", {"a": "<node-0>.number", "b": "<node-1>.number"}),
    )
    wrong_tool = gold.replace('"add"', '"multiply"')  # runs, but to 2054, not 105
    item = TaskItem("hand/0", "Add the atomic numbers of iron and gold.", gold, "chemistry")
    report = domain.report([Graded(item, gold, True), Graded(item, wrong_tool, False)])
    # the wrong plan: tools 2 of 3 (F1 2/3), arguments 2 of 4 (F1 1/2), not exact, fails
    assert report == pytest.approx(
        {
            "plan_exact_match": 1 / 2,
            "tool_f1": (1 + 2 / 3) / 2,
            "argument_f1": (1 + 1 / 2) / 2,
            "execution_pass_rate": 1 / 2,
            "parse_rate": 1.0,
        }
    )
    assert domain.report([]) == {}


def test_env_info_carries_plan_metrics(tmp_path) -> None:
    kwargs = {**entry("DataEnv-ToolUse-v0").test_kwargs, "max_iterations": 1, "run_dir": tmp_path}
    env = gym.make("DataEnv-ToolUse-v0", **kwargs)
    assert env.unwrapped.domain.max_new_tokens == 16  # the registry's domain_kwargs
    _, info = env.reset(seed=0)
    assert set(PLAN_METRICS) <= set(info["validation"]["metrics"])
    examples = env.unwrapped.domain.generate("arithmetic", 2, np.random.default_rng(0))
    _, _, _, truncated, info = env.step([e.to_dict() for e in examples])
    assert truncated
    for split in ("validation", "test"):
        metrics = info[split]["metrics"]
        assert all(0.0 <= metrics[name] <= 1.0 for name in PLAN_METRICS), (split, metrics)
    resumed = gym.make("DataEnv-ToolUse-v0", **kwargs)  # the checkpoint keeps the metrics
    _, again = resumed.reset(seed=0, options={"resume": True})
    assert again["resumed"] and again["validation"] == info["validation"]


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        ("[]", "non-empty JSON list"),
        ("calculator(1+1)", "no JSON list"),
        (plan(("teleport", {"to": "Mars"})), "unknown tool 'teleport'"),
        (plan(("weekday", {"when": "2024-01-01"})), "takes ['date']"),
        (plan(("weekday", {"date": "<node-0>.date"})), "does not name an earlier step"),
        (
            plan(
                ("days_between", {"start": "2024-01-01", "end": "2024-02-01"}),
                ("weekday", {"date": "<node-0>.date"}),
            ),
            "outputs 'days', not 'date'",
        ),
        (plan(("calculator", {"expression": "1 / 0"})), "division by zero"),
        (json.dumps([{"tool": "count_words", "args": {"text": ["a", "b"]}}]), "strings or numbers"),
    ],
)
def test_malformed_teacher_plans_are_rejected_with_reasons(domain, response, reason) -> None:
    got = domain.check_example(Example("Some request", response))
    assert got is not None and reason in got
    assert domain.verify(Example("Some request", response)) is False


def test_generated_examples_avoid_held_out_and_run(domain) -> None:
    rng = np.random.default_rng(0)
    for skill in domain.skills:
        examples = domain.generate(skill, 8, rng)
        assert len(examples) == 8
        assert not {question_key(e.instruction) for e in examples} & domain.held_out_keys
        assert all(domain.check_example(e) is None for e in examples)
        items = [domain.as_task_item(e) for e in examples]
        assert all(domain.grade([e.response for e in examples], items))
    instruction, response = domain.training_pair(examples[0])
    assert "count_objects(image, color)" in instruction and response == examples[0].response


def test_mnms_fixture_splits_scoring_and_alternatives() -> None:
    mnms = make_domain("mnms", source=MNMS_FIXTURE)
    val, test = mnms.load_split("validation"), mnms.load_split("test")
    assert [i.id for i in test] == ["mnms/11", "mnms/37", "mnms/58"]  # the filtered set
    assert [i.id for i in val] == ["mnms/23", "mnms/42"]  # verified minus filtered
    assert test[0].skill == "image_captioning+text_summarization"
    assert all(mnms.grade([i.answer for i in test], test))
    # an alternative gold plan counts; the wrong tool order does not
    alt = json.dumps(
        [
            {"id": 0, "name": "get weather", "args": {"location": "Paris"}},
            {"id": 1, "name": "text generation", "args": {"text": "<node-0>.objects"}},
        ]
    )
    swapped = json.dumps(
        [
            {"name": "text summarization", "args": {"text": "x"}},
            {"name": "image captioning", "args": {"image": "2327921.jpg"}},
        ]
    )
    assert mnms.grade([alt, swapped], [test[2], test[0]]) == [True, False]
    metrics = mnms.plan_metrics([swapped], [test[0]])
    assert metrics["tool_f1"] == 1.0 and metrics["plan_exact_match"] == 0.0
    assert metrics["execution_pass_rate"] is None  # M&Ms' model tools are not executed
    report = mnms.report([Graded(test[0], swapped, False), Graded(test[0], test[0].answer, True)])
    assert report["tool_f1"] == 1.0 and report["plan_exact_match"] == 0.5
    assert "execution_pass_rate" not in report  # not measurable, so not reported
    assert "unknown M&Ms tools" in mnms.check_example(Example("q", plan(("teleport", {}))))
