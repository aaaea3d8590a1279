"""How fast the ReGAL code bank verifies helpers, per domain. One JSON line.

- ``definitions_per_s``: a new helper checked statically and defined in the sandbox
  (``Domain.defines``), which is what admitting a helper costs before its programs run;
- ``test_programs_per_s``: a helper's test cases re-run (``CodeBank.run_tests``): each program
  runs after the helper through the domain's env and is compared with the original's result,
  which is what verifying a refactoring and judging an edit cost.

The helpers and programs are built from the reference programs, so every check passes.
"""

from __future__ import annotations

import json
import time

from societygym.baselines.regal.domains import Domain, get_domain
from societygym.envs.programs.codebank import CodeBank, TestCase, parse_helper

HELPERS = {
    "date": '''def mmddyyyy(day):
    """The date as MM/DD/YYYY."""
    return day.strftime("%m/%d/%Y")''',
    "logo": '''def polygon(sides, length):
    """A regular polygon, turning left."""
    for i in range(sides):
        forward(length)
        left(360 / sides)''',
    "textcraft": '''def run_plan(gets, crafts):
    """Gather the raw items, then craft in order."""
    for item in gets:
        get_object(item)
    for target, ingredients in crafts:
        craft_object(target, ingredients)''',
}


def _rewritten(domain: Domain, count: int) -> list[TestCase]:
    """``count`` training programs rewritten to call the domain's helper."""
    examples = domain.examples("train")
    tests = []
    if domain.name == "date":
        for e in examples[:count]:
            program = e.program.replace(
                'answer = target.strftime("%m/%d/%Y")', "answer = mmddyyyy(target)"
            )
            tests.append(TestCase(e.id, e.query, program, e.expected, 1))
    elif domain.name == "logo":
        sizes = [(n, side) for side in (2, 4) for n in range(3, 10)]
        for i in range(count):
            n, side = sizes[i % len(sizes)]
            original = f"for i in range({n}):\n    forward({side})\n    left(360 / {n})"
            tests.append(TestCase(f"p{i}", "", f"polygon({n}, {side})", original, 1))
    else:
        for e in examples[:count]:
            lines = e.program.splitlines()
            gets = [line[len("get_object(") : -1] for line in lines if line.startswith("get_")]
            crafts = [
                f"({line[len('craft_object(') : -1]})"
                for line in lines
                if line.startswith("craft_")
            ]
            program = f"run_plan([{', '.join(gets)}], [{', '.join(crafts)}])"
            tests.append(TestCase(e.id, e.query, program, e.expected, 1))
    return tests


def bench(name: str, count: int, repeats: int) -> dict[str, float]:
    domain = get_domain(name)
    helper = HELPERS[name]
    bank = CodeBank(name)
    bank.add(helper, domain)  # also starts the sandbox pool
    for test in _rewritten(domain, count):
        bank.record(bank.names[0], test)
    start = time.perf_counter()
    for _ in range(repeats):
        parse_helper(helper, reserved=domain.primitives)
        assert domain.defines([helper]) is None
    definitions = repeats / (time.perf_counter() - start)
    start = time.perf_counter()
    checks = bank.run_tests(bank.names[0], domain)
    elapsed = time.perf_counter() - start
    assert all(c.passed for c in checks), [c.message for c in checks if not c.passed][:3]
    return {
        "definitions_per_s": round(definitions, 1),
        "test_programs_per_s": round(len(checks) / elapsed, 1),
    }


def main(count: int = 40, repeats: int = 40) -> None:
    result = {"benchmark": "regal_codebank", "test_programs": count}
    for name in ("date", "logo", "textcraft"):
        result[name] = bench(name, count, repeats)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
