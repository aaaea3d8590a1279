"""The code bank: helper validation, ReGAL's pruning score, test-driven edits, persistence."""

from __future__ import annotations

import ast
import json

import gymnasium as gym
import pytest

from societygym.envs.programs.codebank import (
    CodeBank,
    Helper,
    InvalidHelper,
    TestCase,
    called_names,
    closure,
    parse_helper,
)
from tests.program_support import needs_sandbox

FORMAT_DATE = '''def mmddyyyy(day):
    """The date as MM/DD/YYYY."""
    return day.strftime("%m/%d/%Y")'''

# Buggy on purpose: it ignores the sign of ``n``, so every "n days ago" question fails.
SHIFT_BUGGY = '''from dateutil.relativedelta import relativedelta


def shift(day, n):
    """The date n days after day."""
    return day + relativedelta(days=abs(n))'''
SHIFT_FIXED = SHIFT_BUGGY.replace("abs(n)", "n")
SHIFT_WORSE = SHIFT_BUGGY.replace("abs(n)", "n + 1")


def _test(passed: bool, calls: int = 1, task: str = "t", program: str = "f()") -> TestCase:
    return TestCase(task, f"query {task}", program, None, calls, [passed])


def _helper(name: str, tests: list[TestCase], added_round: int = 0, source: str = "") -> Helper:
    return Helper(
        name, source or f"def {name}():\n    return 1", tests=tests, added_round=added_round
    )


def test_score_is_plus_one_per_pass_and_minus_one_over_k_per_failure() -> None:
    helper = _helper("f", [_test(True), _test(True), _test(False, 2), _test(False, 4)])
    assert helper.uses == 4 and helper.passes == 2
    assert helper.score == pytest.approx((1 + 1 - 1 / 2 - 1 / 4) / 4)
    # only the latest run of a test case counts
    helper.tests[0].history = [True, False]
    assert helper.score == pytest.approx((-1 + 1 - 1 / 2 - 1 / 4) / 4)
    assert _helper("unused", []).score == 0.0


def test_prune_keeps_positive_score_with_enough_uses() -> None:
    bank = CodeBank(
        "date",
        [
            _helper("good", [_test(True)] * 3 + [_test(False, 1)]),  # (3 - 1) / 4 > 0, 4 uses
            _helper("bad", [_test(True)] + [_test(False, 1)] * 3),  # (1 - 3) / 4 < 0
            _helper("rare", [_test(True)] * 2),  # score 1 but only 2 uses
            _helper("tied", [_test(True), _test(False, 1)] * 2),  # score exactly 0
        ],
        round=10,
    )
    assert bank.prune(min_usage=4) == ["bad", "rare", "tied"]
    assert bank.names == ["good"]


def test_grace_rounds_spare_young_helpers_but_not_failing_ones() -> None:
    helpers = [
        _helper("young", [_test(True)], added_round=8),
        _helper("old", [_test(True)], added_round=1),
        _helper("young_failing", [_test(False)], added_round=9),
    ]
    bank = CodeBank("date", helpers, round=10)
    assert bank.prune(min_usage=4, grace_rounds=5) == ["old", "young_failing"]
    assert bank.names == ["young"]


def test_pruning_cascades_to_callers_and_drops_their_dead_test_cases() -> None:
    base = _helper("base", [_test(False)])
    user = _helper("user", [_test(True)] * 4, source="def user():\n    return base() + 1")
    other = _helper(
        "other",
        [_test(True, program="other()"), _test(True, 2, "u", program="other()\nbase()")] * 2,
    )
    bank = CodeBank("date", [base, user, other], round=3)
    assert bank.prune(min_usage=1) == ["base", "user"]
    assert [t.program for t in bank["other"].tests] == ["other()", "other()"]


def test_calls_and_closure_follow_helpers_calling_helpers() -> None:
    sources = {"a": "def a():\n    return b()", "b": "def b():\n    return 1", "c": "def c(): ..."}
    assert called_names("x = a() + c", sources) == ["a", "c"]
    assert called_names("def a():\n    return 2\nx = a()", sources) == []  # its own a()
    assert called_names("this is not python", sources) == []
    assert closure(["a"], sources) == ["a", "b"]
    bank = CodeBank("date", [Helper(n, s) for n, s in sources.items()])
    assert bank.needed_by("print(a())") == (sources["a"], sources["b"])


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("def f(:\n    pass", "does not compile"),
        ("def f():\n    return 1\ndef g():\n    return 2", "exactly one function"),
        ("x = 1\ndef f():\n    return x", "exactly one function"),
        ("import math", "exactly one function"),
        ("@staticmethod\ndef f():\n    return 1", "no decorators"),
        ("def f():\n    return ().__class__.__bases__[0].__subclasses__()", "forbidden names"),
        ("def f():\n    return __import__('os')", "forbidden names"),
        ("def print(x):\n    return x", "rebind 'print'"),
        ("def _drawing():\n    return []", "rebind '_drawing'"),
        ("def forward(d):\n    return d", "rebind 'forward'"),
        ("from math import *\ndef f():\n    return pi", "import \\*"),
        ("from math import pi as forward\ndef f():\n    return 1", "rebind 'forward'"),
        ("def f():\n    return 1" + "\n" * 9000, "at most"),
        ("   ", "non-empty"),
    ],
)
def test_parse_helper_rejects(source: str, reason: str) -> None:
    with pytest.raises(InvalidHelper, match=reason):
        parse_helper(source, reserved={"forward"})


def test_parse_helper_accepts_a_function_after_imports() -> None:
    assert parse_helper(SHIFT_BUGGY) == ("shift", "The date n days after day.")
    assert parse_helper(FORMAT_DATE, name="mmddyyyy")[0] == "mmddyyyy"
    with pytest.raises(InvalidHelper, match="must define 'other'"):
        parse_helper(FORMAT_DATE, name="other")


@pytest.fixture(scope="module")
def date_judge():
    from societygym.baselines.regal.domains import get_domain

    return get_domain("date", timeout_s=1.0)


@needs_sandbox
@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("import os\n\n\ndef f():\n    return os.getcwd()", "forbidden"),
        ("import ctypes\n\n\ndef f():\n    return 1", "forbidden"),
        ("def f(x=[i for i in iter(int, 1)]):\n    return x", "timeout"),  # runs at def time
        ("def f(x=1 // 0):\n    return x", "ZeroDivisionError"),
    ],
)
def test_add_rejects_helpers_that_fail_in_the_sandbox(date_judge, source: str, reason: str) -> None:
    bank = CodeBank("date")
    with pytest.raises(InvalidHelper, match=reason):
        bank.add(source, date_judge)
    assert len(bank) == 0
    assert bank.add(FORMAT_DATE, date_judge).name == "mmddyyyy"
    with pytest.raises(InvalidHelper, match="already has"):
        bank.add(FORMAT_DATE, date_judge)


def _shift_bank() -> CodeBank:
    """``shift`` with two passing uses (days later) and two failing ones (days ago)."""
    bank = CodeBank("date", round=1)
    bank.add(SHIFT_BUGGY)
    for task, (year, days, gold, passed) in enumerate(
        [(2001, 3, "01/04/2001", True), (2002, 10, "01/11/2002", True),
         (2003, -2, "12/30/2002", False), (2004, -7, "12/25/2003", False)]
    ):  # fmt: skip
        program = (
            f"from datetime import date\nanswer = shift(date({year}, 1, 1), {days})"
            '.strftime("%m/%d/%Y")'
        )
        bank.record("shift", TestCase(f"t{task}", f"q{task}", program, gold, 1, [passed]))
    return bank


@needs_sandbox
def test_run_tests_reproduces_the_recorded_results(date_judge) -> None:
    bank = _shift_bank()
    assert [c.passed for c in bank.run_tests("shift", date_judge)] == [True, True, False, False]
    fixed = bank.run_tests("shift", date_judge, SHIFT_FIXED)
    assert [c.passed for c in fixed] == [True] * 4


@needs_sandbox
def test_an_edit_is_kept_only_if_more_test_cases_pass(date_judge) -> None:
    bank = _shift_bank()
    accepted, why = bank.try_edit("shift", SHIFT_WORSE, date_judge)
    assert not accepted and "0/4" in why
    assert bank["shift"].version == 1 and "abs(n)" in bank["shift"].source
    assert bank["shift"].tests[2].message.startswith("answered")  # fresh results recorded
    accepted, _ = bank.try_edit("shift", SHIFT_BUGGY.replace("def shift", "def other"), date_judge)
    assert not accepted
    accepted, why = bank.try_edit("shift", SHIFT_FIXED, date_judge)
    assert accepted and "4/4" in why
    helper = bank["shift"]
    assert helper.version == 2 and helper.source == SHIFT_FIXED and helper.score == 1.0
    assert helper.tests[2].history == [False, False, True]


@needs_sandbox
@pytest.mark.parametrize("given", ["sources", "bank", "path"])
def test_bank_helpers_plug_into_the_env(tmp_path, given: str) -> None:
    bank = CodeBank("date")
    bank.add(FORMAT_DATE)
    helpers = {
        "sources": bank.helpers(),
        "bank": bank,
        "path": str(bank.save(tmp_path / "codebank.json")),
    }[given]
    env = gym.make("ReGAL-Date-v0", helpers=helpers)
    observation, _ = env.reset(seed=0)
    assert FORMAT_DATE in observation
    program = "from datetime import date\nanswer = mmddyyyy(date(2020, 2, 29))"
    assert env.step(program)[-1]["answer"] == "02/29/2020"
    with pytest.raises(TypeError, match="not one str"):
        gym.make("ReGAL-Date-v0", helpers=FORMAT_DATE)


def test_save_load_round_trip_and_module_export(tmp_path) -> None:
    bank = _shift_bank()
    bank.add(FORMAT_DATE, round=2)
    bank["shift"].version = 3
    path = bank.save(tmp_path / "out" / "codebank.json")
    loaded = CodeBank.load(path)
    assert loaded.to_json() == bank.to_json()
    assert loaded.round == 1 and loaded["mmddyyyy"].added_round == 2
    assert loaded["shift"].tests[3].history == [False] and loaded["shift"].score == 0.0
    module = bank.module_source()
    ast.parse(module)
    assert "# passed 2/4 test programs; version 3" in module and FORMAT_DATE in module
    assert bank.export(tmp_path / "codebank.py").read_text() == module


def test_load_rejects_tampered_files(tmp_path) -> None:
    data = _shift_bank().to_json()
    data["helpers"][0]["source"] = "def shift():\n    return ().__class__.__base__"
    (tmp_path / "bad.json").write_text(json.dumps(data))
    with pytest.raises(InvalidHelper, match="forbidden"):
        CodeBank.load(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="format"):
        CodeBank.from_json({"helpers": []})


def test_demos_are_one_passing_program_per_task() -> None:
    bank = CodeBank(
        "date",
        [
            _helper("f", [_test(True, task="a"), _test(False, task="b")]),
            _helper("g", [_test(True, task="a"), _test(True, task="c")]),
        ],
    )
    assert [t.task_id for t in bank.demos()] == ["a", "c"]
