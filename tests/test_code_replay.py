"""Replayed code tests (HumanEval's ``check``, loops, computed expectations): the candidate's
process only computes return values, the tests run elsewhere, and the verdict is the
parent's. A candidate that owns its whole process (in-process layers off) still cannot pass
tests it fails."""

from __future__ import annotations

import dataclasses

import pytest

from societygym.envs.dataenv.domains.code.execution import (
    Judge,
    Problem,
    inline_check,
    jobs_for,
    replayed,
)
from societygym.envs.dataenv.domains.code.replay import functions_under_test, prepare_tests
from societygym.sandbox import Policy, get_sandbox
from societygym.sandbox.isolation import describe_missing, missing

CHECK = """
import random


def check(candidate):
    assert candidate(3) == sum([3, 3])
    for _ in range(5):
        n = random.randint(-50, 50)  # unseeded: the same in every replay
        assert abs(candidate(n) - 2 * n) < 1e-9
    first = candidate(1)
    assert candidate(first) == 4  # an argument that depends on a result


check(double)
"""
HEADER = "def double(x):\n    '''Return 2 * x.'''\n"
PROBLEM = Problem("t/double", "arithmetic", "double", "Double it.", "", tests=CHECK, header=HEADER)
RIGHT = HEADER + "    return 2 * x\n"
WRONG = HEADER + "    return x + 2\n"  # right on 2 only


@pytest.fixture(scope="module")
def judge() -> Judge:
    return Judge(timeout=2.0)


def verdicts(judge: Judge, *codes: str, problem: Problem = PROBLEM) -> list:
    return judge.run_programs(list(codes), [problem] * len(codes))


def test_check_functions_are_replayed_and_judged(judge: Judge) -> None:
    assert replayed(PROBLEM)
    right, wrong = verdicts(judge, RIGHT, WRONG)
    assert right.passed and not wrong.passed
    assert "candidate(3) == sum([3, 3])" in wrong.reason


def test_the_candidate_never_sees_the_tests() -> None:
    tests = prepare_tests(CHECK)
    assert tests is not None and len(tests.asserts) == 3
    assert functions_under_test(RIGHT, CHECK, HEADER, "double") == ("double",)
    # a helper of the trusted header is the header's, not the candidate's
    header = HEADER + "def poly(x):\n    return x\n"
    uses = CHECK.replace("check(double)", "assert poly(2) == 2\ncheck(double)")
    assert functions_under_test(RIGHT + "def poly(x):\n    return 2\n", uses, header, "double") == (
        "double",
    )


def test_exceptions_classes_and_stopping_early_fail_with_reasons(judge: Judge) -> None:
    raises = HEADER + "    raise ValueError('no')\n"
    a_class = "class double:\n    def __init__(self, x):\n        self.x = x\n"
    stops = RIGHT + "exit(0)\n"
    equal_to_all = (
        "class Any:\n    def __eq__(self, other):\n        return True\n"
        "    def __sub__(self, other):\n        return 0\n"
        "def double(x):\n    return Any()\n"
    )
    found = verdicts(judge, raises, a_class, stops, equal_to_all)
    assert not any(v.passed for v in found)
    assert "ValueError" in found[0].reason
    assert "plain data" in found[1].reason and "plain data" in found[3].reason
    assert "sg_calls_" in found[2].reason  # the calls never ran


def test_computed_teacher_asserts_are_replayed_and_literal_ones_split(judge: Judge) -> None:
    computed = dataclasses.replace(
        PROBLEM, entry_point="f", tests="assert f(2) == sum([2, 2])", header=""
    )
    literal = dataclasses.replace(computed, tests="assert f(2) == 4\nassert g(1) is None")
    assert replayed(computed) and not replayed(literal)
    code = "def f(x):\n    return 2 * x\ndef g(x):\n    return None\n"
    assert [v.passed for v in verdicts(judge, code, problem=computed)] == [True]
    assert [v.passed for v in verdicts(judge, code, problem=literal)] == [True]
    wrong = "def f(x):\n    return x\ndef g(x):\n    return 0\n"
    assert [v.passed for v in verdicts(judge, wrong, wrong, problem=computed)] == [False, False]
    assert not verdicts(judge, wrong, problem=literal)[0].passed


# With the in-process layers off, the candidate owns its process: it can rewrite the
# sandbox's own code there. Each one's function is wrong.
OWNS_ITS_PROCESS = {
    "outcomes_all_true": (
        "import sys\nplain = sys.modules['societygym.sandbox.plain']\n"
        "plain.to_plain = lambda value, _depth=0: [(True, True)] * len(value)\n"
    ),
    "value_forced_true": (
        "import sys\nsys.modules['societygym.sandbox.plain'].to_plain = lambda v, _d=0: True\n"
    ),
    "assertions_disarmed": (
        "import builtins\nbuiltins.AssertionError = type('Quiet', (Exception,), {})\n"
        "builtins.bool = lambda value=False: True\n"
    ),
    "ends_before_the_tests": "import os\nos._exit(0)\n",
    # every failure of this run becomes a pass and every value True
    "verdict_rewritten": (
        "import sys\nworker = sys.modules['societygym.sandbox.worker']\n"
        "worker._failure = lambda *args: worker._result(True)\n"
        "worker.plain.to_plain = lambda value, _depth=0: True\n"
    ),
}


@pytest.fixture(scope="module")
def kernel_only() -> Policy:
    sandbox = get_sandbox()
    if missing(sandbox.isolation()):
        pytest.skip(describe_missing(sandbox.isolation()))
    return Policy.stdlib(wall_seconds=2, cpu_seconds=2, python_layers=False)


@pytest.mark.parametrize("name", sorted(OWNS_ITS_PROCESS))
def test_a_candidate_owning_its_process_cannot_pass(name: str, kernel_only: Policy) -> None:
    judge = Judge(timeout=2.0)
    judge.policy = judge.replayer.policy = kernel_only
    forger = WRONG + OWNS_ITS_PROCESS[name]
    right, forged = verdicts(judge, RIGHT, forger)
    assert right.passed and not forged.passed, forged


def test_that_forger_passes_where_tests_share_its_process(kernel_only: Policy) -> None:
    """Why the tests must run elsewhere: judged in its own process, it reports a pass."""
    program = f"{WRONG}{OWNS_ITS_PROCESS['verdict_rewritten']}\n{CHECK}\ndone = True\n"
    result = get_sandbox().run(program, result_name="done", policy=kernel_only)
    assert result.ok and result.value is True


def test_only_calls_with_literal_arguments_are_split_and_check_is_inlined() -> None:
    def problem(tests: str) -> Problem:
        return dataclasses.replace(PROBLEM, entry_point="f", tests=tests, header="")

    # a constant outside the calls' literal arguments may be the expected value
    assert replayed(problem("assert abs(f(1) - 0.5) < 1e-6"))
    assert replayed(problem("assert f(g(1) - 7) == 0"))
    assert not replayed(problem("assert f(3) == 9\nassert Stack().pop() is None"))
    humaneval = "METADATA = {}\n\ndef check(candidate):\n    '''Tests.'''\n"
    humaneval += "    import math\n    assert candidate([1, 2], k=3) == [3]\n\ncheck(f)\n"
    assert inline_check(humaneval) == "import math\nassert f([1, 2], k=3) == [3]"
    with_helper = humaneval.replace("METADATA = {}", "def helper():\n    return 1")
    assert inline_check(with_helper) is None and replayed(problem(with_helper))
    # the split job carries the calls, never the expected values
    (job,) = jobs_for(problem(humaneval), "def f(x, k):\n    return [k]\n")
    assert "f([1, 2], k=3)" in job["program"] and "[3]" not in job["program"]
