"""Running code against tests in the sandbox: student replies, teacher data, references.

A problem is judged by one or more sandbox jobs built from the candidate code: an
``assert`` program (the generated pool, HumanEval's ``check`` function, teacher-written
tests), a program fed test input on stdin whose output is compared (LiveCodeBench stdin
problems), or a ``Solution`` method called on JSON arguments (LiveCodeBench functional
problems). Everything a candidate runs goes through ``societygym.sandbox``; nothing here
executes it in-process. Jobs of many problems go to the pool at once (``run_many``).

Verdicts are decided here, in the parent, on plain data, and no test code runs in the
candidate's process. Tests that are a flat list of ``assert`` lines comparing calls with
literal arguments against literals (the generated pool, most teacher-written tests, HumanEval
``check`` functions made only of such asserts) are split: the sandbox evaluates only each
assert's left-hand expression (``f(3)``), and the comparison with the expected value (a
literal, which never enters the sandbox) happens here. Other assert programs (loops, asserts
against computed values, constants outside the calls) are replayed (`replay.py`): the
candidate's process only computes its functions' return values on arguments sent to it, and
the tests run in another process on those values. Stdin and functional problems run one
process per test case and compare its output or value here. So a program that overrides
``__eq__``, patches the harness or escapes Python cannot make a wrong answer pass: it would
have to produce the expected values without seeing them.
"""

from __future__ import annotations

import ast
import json
import operator
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from societygym.envs.dataenv.domains.code.replay import (
    Case,
    Replayer,
    functions_under_test,
    prepare_tests,
)
from societygym.sandbox import Policy, RunResult, Sandbox, get_sandbox

KINDS = ("assert", "stdin", "functional")
FENCE = re.compile(r"```[ \t]*(?:python|py|Python)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)
IMPORT_LINE = re.compile(r"^(?:from\s+\S+\s+import\s+.+|import\s+.+)$", re.MULTILINE)
RESULT = "sg_result"  # the variable a functional test leaves its value in


@dataclass(frozen=True)
class Problem:
    """One function-writing task and how it is judged.

    ``prompt`` is what the student sees; ``solution`` a reference that passes (may be empty
    for benchmarks without one); ``tests`` an assert program for ``kind="assert"``, else
    ``cases`` of (input, expected output) strings; ``header`` code the candidate may rely on
    (HumanEval's imports and signature, which a completion-style reply continues).
    """

    id: str
    skill: str
    entry_point: str
    prompt: str
    solution: str
    kind: str = "assert"
    tests: str = ""
    cases: tuple[tuple[str, str], ...] = ()
    header: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown test kind {self.kind!r}; expected one of {KINDS}")


def extract_code(reply: str) -> str:
    """The code in a reply: its first fenced block, else the whole reply."""
    match = FENCE.search(reply)
    return (match.group(1) if match else reply).strip("\n")


def defines(code: str, name: str) -> bool:
    """Whether ``code`` parses and defines ``name`` at top level (function or class).

    Parsing never executes anything, so this is safe on untrusted text.
    """
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return any(
        isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and node.name == name
        for node in tree.body
    )


def candidate_program(problem: Problem, reply: str) -> str:
    """The candidate's code, completed with the problem's header where the reply is a
    function body (HumanEval's completion format) and with the header's imports otherwise."""
    code = extract_code(reply)
    if not problem.header:
        return code
    if defines(code, problem.entry_point):
        imports = "\n".join(IMPORT_LINE.findall(problem.header))
        return f"{imports}\n{code}" if imports else code
    return problem.header + code


_COMPARISONS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda value, expected: value in expected,
    ast.NotIn: lambda value, expected: value not in expected,
    ast.Is: operator.is_,  # only against None, True or False (``_comparison``)
    ast.IsNot: operator.is_not,
}
_NO_LITERAL = object()


@dataclass(frozen=True)
class Check:
    """One assert, split: ``expression`` runs in the sandbox; ``compare(value, expected)``
    runs in the parent."""

    source: str
    expression: str
    compare: Callable[[Any, Any], Any]
    expected: Any


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NO_LITERAL


def _comparison(test: ast.expr) -> tuple[Callable[[Any, Any], Any], Any] | None:
    """(compare, expected) of ``left <op> literal``; None for any other test."""
    if not isinstance(test, ast.Compare) or len(test.ops) != 1:
        return None
    compare = _COMPARISONS.get(type(test.ops[0]))
    expected = _literal(test.comparators[0])
    if compare is None or expected is _NO_LITERAL:
        return None
    identity = isinstance(test.ops[0], (ast.Is, ast.IsNot))
    if identity and not any(expected is singleton for singleton in (None, True, False)):
        return None
    return compare, expected


def _reveals_nothing(left: ast.expr) -> bool:
    """Whether the expression the sandbox evaluates holds no constant except the arguments of
    calls made only with literals (``f(3)``, ``Stack().pop()``): one outside them may be the
    expected value (``abs(f(1) - 0.5) < 1e-6``), which the candidate's process must not see."""
    allowed: set[int] = set()
    for node in ast.walk(left):
        if isinstance(node, ast.Call):
            arguments = [*node.args, *(keyword.value for keyword in node.keywords)]
            if all(_literal(argument) is not _NO_LITERAL for argument in arguments):
                allowed.update(id(inner) for a in arguments for inner in ast.walk(a))
    return all(id(n) in allowed for n in ast.walk(left) if isinstance(n, ast.Constant))


def split_asserts(tests: str) -> tuple[list[str], list[Check]] | None:
    """The import lines and checks of a flat program of asserts comparing calls with
    literals; None for any other shape (those are replayed)."""
    try:
        tree = ast.parse(tests)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    setup: list[str] = []
    checks: list[Check] = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            setup.append(ast.unparse(node))
            continue
        split = _comparison(node.test) if isinstance(node, ast.Assert) else None
        left = node.test.left if split is not None else None  # type: ignore[attr-defined]
        if split is None or not _reveals_nothing(left):
            return None
        checks.append(Check(ast.unparse(node.test), ast.unparse(left), *split))
    return (setup, checks) if checks else None


class _Rename(ast.NodeTransformer):
    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new

    def visit_Name(self, node: ast.Name) -> ast.Name:
        return ast.Name(self.new, node.ctx) if node.id == self.old else node


def inline_check(tests: str) -> str | None:
    """HumanEval's shape, ``def check(candidate): <asserts>`` then ``check(entry)``, as flat
    asserts on ``entry`` (None for any other shape), so that it can be split too."""
    try:
        tree = ast.parse(tests)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    *definitions, last = tree.body or [ast.Pass()]
    call = last.value if isinstance(last, ast.Expr) else None
    if not (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and len(call.args) == 1
        and isinstance(call.args[0], ast.Name)
    ):
        return None
    check = [d for d in definitions if isinstance(d, ast.FunctionDef) and d.name == call.func.id]
    if len(check) != 1 or len(check[0].args.args) != 1:
        return None
    imports = (ast.Import, ast.ImportFrom)
    if any(not isinstance(d, (*imports, ast.Assign)) for d in definitions if d is not check[0]):
        return None  # e.g. a helper the asserts call
    body = [  # a docstring or bare string is no test
        node
        for node in check[0].body
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
    ]
    if not all(isinstance(node, (ast.Assert, *imports)) for node in body):
        return None
    rename = _Rename(check[0].args.args[0].arg, call.args[0].id)
    flat = [d for d in definitions if isinstance(d, imports)] + [rename.visit(n) for n in body]
    return ast.unparse(ast.Module(flat, type_ignores=[]))


@lru_cache(maxsize=4096)
def _flat(tests: str) -> tuple[list[str], list[Check]] | None:
    split = split_asserts(tests)
    if split is None:
        inlined = inline_check(tests)
        split = split_asserts(inlined) if inlined is not None else None
    return split


def flat_asserts(problem: Problem) -> tuple[list[str], list[Check]] | None:
    """The import lines and split checks of an assert problem whose tests are flat literal
    asserts (directly or inside HumanEval's ``check``); None when they are replayed."""
    return _flat(problem.tests) if problem.kind == "assert" else None


def failed_check(checks: list[Check], values: Any) -> str | None:
    """The first failing assert, judged here on plain data (no program code runs), or None."""
    if type(values) is not list or len(values) != len(checks):
        return "the program replaced the values of its tests"
    for check, value in zip(checks, values, strict=True):
        try:
            held = bool(check.compare(value, check.expected))
        except Exception:  # e.g. comparing a str with an int, or an array's ambiguous truth
            held = False
        if not held:
            return f"AssertionError: assert {check.source} (got {value!r:.100})"
    return None


def replayed(problem: Problem) -> bool:
    """Whether the problem's tests are judged by replay (not a flat literal assert list)."""
    return problem.kind == "assert" and flat_asserts(problem) is None


def jobs_for(problem: Problem, code: str, token: str = "done") -> list[dict[str, Any]]:
    """Sandbox jobs (``Sandbox.run`` keyword arguments) that all pass iff ``code`` does, for
    problems that are not ``replayed``.

    Flat assert tests become one job computing every assert's left-hand side (see the
    module docstring), left in a variable named after ``token`` (a fresh random one per
    batch), so code that ends the program early (``exit(0)`` before the asserts) fails: the
    variable is then missing, and code cannot guess the name to set it itself.
    """
    split = flat_asserts(problem)
    if split is not None:
        setup, checks = split
        values = ", ".join(f"({check.expression})" for check in checks)
        name = f"sg_values_{token}"
        program = "\n".join([code, "", *setup, f"{name} = [{values}]", ""])
        return [{"program": program, "result_name": name}]
    if problem.kind == "assert":
        raise ValueError(f"{problem.id}: its tests are replayed, not run as jobs")
    if problem.kind == "stdin":
        return [{"program": code, "stdin": given} for given, _ in problem.cases]
    calls = []
    for given, _ in problem.cases:
        args = [json.loads(line) for line in given.splitlines() if line.strip()]
        call = f"\n{RESULT} = Solution().{problem.entry_point}(*{args!r})\n"
        calls.append({"program": code + call, "result_name": RESULT})
    return calls


def _same_output(got: str, expected: str) -> bool:
    """LiveCodeBench's comparison: line by line, surrounding whitespace ignored."""
    lines = [line.strip() for line in got.strip().splitlines()]
    return lines == [line.strip() for line in expected.strip().splitlines()]


def job_passed(problem: Problem, index: int, result: RunResult) -> bool:
    if not result.ok:
        return False
    if problem.kind == "assert":
        split = flat_asserts(problem)
        return split is not None and not failed_check(split[1], result.value)
    expected = problem.cases[index][1]
    if problem.kind == "stdin":
        return _same_output(result.stdout, expected)
    try:
        return result.value == json.loads(expected)
    except json.JSONDecodeError:
        return False


@dataclass(frozen=True)
class Verdict:
    """Whether a candidate passed, and the first failure's reason when it did not."""

    passed: bool
    reason: str = ""


def _reason(problem: Problem, result: RunResult) -> str:
    split = flat_asserts(problem)
    if result.ok and split is not None:
        return f"exception: {failed_check(split[1], result.value)}"[:200]
    if result.ok:
        return "wrong output"
    last = (result.error.strip().splitlines()[-1:] or [""])[0]
    if "sg_values_" in last:  # the variable ``jobs_for`` reads is unset
        return "the program stopped before its tests ran"
    return f"{result.error_type}: {last[:200]}"


class Judge:
    """Runs candidates against problems in a sandbox pool (the shared one by default)."""

    def __init__(
        self,
        sandbox: Sandbox | None = None,
        timeout: float = 3.0,
        memory_mb: int = 512,
        isolation: str = "auto",
    ) -> None:
        self._sandbox = sandbox
        self.policy = Policy.stdlib(
            wall_seconds=timeout, cpu_seconds=timeout, memory_mb=memory_mb, isolation=isolation
        )
        self.replayer = Replayer(lambda: self.sandbox, self.policy)

    @property
    def sandbox(self) -> Sandbox:
        return self._sandbox if self._sandbox is not None else get_sandbox()

    def run_programs(self, codes: Sequence[str], problems: Sequence[Problem]) -> list[Verdict]:
        """One verdict per (code, problem) pair; all jobs run in parallel over the pool."""
        token = secrets.token_hex(8)
        pairs = list(zip(codes, problems, strict=True))
        direct = [i for i, (_, problem) in enumerate(pairs) if not replayed(problem)]
        spans, futures = {}, []
        for i in direct:
            built = jobs_for(pairs[i][1], pairs[i][0], token)
            spans[i] = (len(futures), len(built))
            futures += [self.sandbox.submit(**job, policy=self.policy) for job in built]
        rest = [(i, code, problem) for i, (code, problem) in enumerate(pairs) if i not in spans]
        verdicts = self._replay(rest, token)  # meanwhile the pool runs the direct jobs
        results = [future.result() for future in futures]
        for i in direct:
            start, count = spans[i]
            verdicts[i] = self._direct_verdict(pairs[i][1], results[start : start + count])
        return [verdicts[i] for i in range(len(pairs))]

    def _replay(self, items: list[tuple[int, str, Problem]], token: str) -> dict[int, Verdict]:
        cases, verdicts = {}, {}
        for i, code, problem in items:
            tests = prepare_tests(problem.tests)
            if tests is None:
                verdicts[i] = Verdict(False, "the tests do not parse")
                continue
            names = functions_under_test(code, problem.tests, problem.header, problem.entry_point)
            cases[i] = Case(code, names, problem.header, tests)
        outcomes = self.replayer.judge(list(cases.values()), token)
        for i, (passed, reason) in zip(cases, outcomes, strict=True):
            verdicts[i] = Verdict(passed, "" if passed else reason[:300])
        return verdicts

    @staticmethod
    def _direct_verdict(problem: Problem, mine: list[RunResult]) -> Verdict:
        failed = [(i, r) for i, r in enumerate(mine) if not job_passed(problem, i, r)]
        if not mine:
            return Verdict(False, "no tests")
        if failed:
            return Verdict(False, _reason(problem, failed[0][1]))
        return Verdict(True)

    def judge(self, replies: Sequence[str], problems: Sequence[Problem]) -> list[bool]:
        """pass@1 of each reply (a student's answer) on its problem."""
        codes = [candidate_program(p, r) for r, p in zip(replies, problems, strict=True)]
        return [v.passed for v in self.run_programs(codes, problems)]

    def outputs_many(self, jobs: Sequence[tuple[str, str, Sequence[tuple]]]) -> list[RunResult]:
        """``entry(*args)`` for every args tuple of ``inputs``, one run per
        (code, entry, inputs) triple: how reference solutions compute expected outputs."""
        built = [
            {
                "program": f"{code}\n\n{RESULT} = [{entry}(*args) for args in {list(inputs)!r}]\n",
                "result_name": RESULT,
                "policy": self.policy,
            }
            for code, entry, inputs in jobs
        ]
        return self.sandbox.run_many(built)
