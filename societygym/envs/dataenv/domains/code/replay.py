"""Judging tests that are not flat lists of literal asserts (HumanEval's ``check`` functions,
loops, asserts against computed values) without trusting the candidate's process.

The tests and the candidate never share a process:

- a **calls** job runs the candidate's code, then calls its functions on argument lists the
  parent sends as plain data, and returns each call's outcome: the value (plain data) or the
  name of the exception it raised. Neither the tests nor the expected values enter it;
- a **replay** job runs the tests (after the problem's trusted header, e.g. HumanEval's
  ``poly`` helper) with every candidate function replaced by a stand-in that answers from
  the outcomes recorded so far. Its asserts note failures instead of raising, and a call
  with no recorded outcome is listed and answered with a permissive placeholder, so one run
  lists every call the tests make. ``random`` is seeded the same in every replay.

The parent alternates: replay, then a calls job for the calls it listed, then replay again,
until a replay lists no new call (its verdict counts: no failed assert, no error) or
``ROUNDS`` replays are spent. A failure seen before any placeholder was handed out is final
at once. The first replay depends only on the tests, so it is cached. What the candidate
controls is therefore only its own return values: a program that escapes its process can
lie about them, but it sees neither the assertions nor the expected values, so it passes
only by returning what a correct function returns.

Limits: only functions returning plain data can be judged this way (a class, or a value
the tests read from the candidate's module, fails with the reason); the tests see return
values only, so arguments the candidate mutates in place are not mutated for the tests; an
exception keeps only its type's name (the stand-in raises ``RuntimeError`` naming it).
"""

from __future__ import annotations

import ast
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from societygym.sandbox import Policy, RunResult, Sandbox

ROUNDS = 4  # replays per candidate; more than two only when call arguments depend on results
CACHE_SIZE = 4096  # first replays kept (one per distinct test program)
PENDING = "<sg-pending-result>"

# The replay job's program (trusted and the same for every problem; the header, tests and
# recorded outcomes arrive as the entry function's arguments, never as program text).
REPLAY_PROGRAM = f'''
import copy as sg_copy
import random as sg_random


class SgPending:
    """The answer to a call not made yet: it compares, converts and iterates quietly so
    the tests run on and list their other calls."""

    def __repr__(self):
        return {PENDING!r}

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __lt__ = __le__ = __gt__ = __ge__ = __contains__ = __eq__

    def __hash__(self):
        return 0

    def __bool__(self):
        return True

    def __len__(self):
        return 0

    def __iter__(self):
        return iter(())

    def __float__(self):
        return 0.0

    def __int__(self):
        return 0

    __index__ = __int__

    def __call__(self, *args, **kwargs):
        return self

    def __getitem__(self, key):
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __getitem__
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __getitem__
    __mod__ = __rmod__ = __pow__ = __rpow__ = __getitem__

    def __neg__(self):
        return self

    __abs__ = __pos__ = __neg__


def sg_replay(known, names, header, tests):
    report = {{"missing": [], "failed": [], "error": "", "definite_error": False}}
    listed = set()
    handed_out = [0]

    def stand_in(name):
        def call(*args, **kwargs):
            key = repr((name, args, sorted(kwargs.items())))
            if key in known:
                ok, value = known[key]
                if ok:
                    return sg_copy.deepcopy(value)
                raise RuntimeError(f"{{name}}() raised {{value}}")
            if {PENDING!r} not in key and key not in listed:  # else: asked again later
                listed.add(key)
                report["missing"].append(
                    (key, name, sg_copy.deepcopy(args), sg_copy.deepcopy(kwargs))
                )
            handed_out[0] += 1
            return SgPending()

        return call

    def fail(index, why):
        text = "" if why is False else f"{{type(why).__name__}}: {{why}}"
        report["failed"].append((index, text[:200], handed_out[0] == 0))

    scope = {{"sg_fail": fail}}
    sg_random.seed(0)
    try:
        exec(header, scope)
        for name in names:
            scope[name] = stand_in(name)
        exec(tests, scope)
    except Exception as error:
        report["error"] = f"{{type(error).__name__}}: {{error}}"[:200]
        report["definite_error"] = handed_out[0] == 0
    return report
'''

CALLS_TEMPLATE = """

def sg_calls_{token}(sg_calls):
    sg_functions = {{{functions}}}
    sg_outcomes = []
    for sg_name, sg_args, sg_kwargs in sg_calls:
        try:
            sg_outcomes.append((True, sg_functions[sg_name](*sg_args, **sg_kwargs)))
        except Exception as sg_error:
            sg_outcomes.append((False, type(sg_error).__name__))
    return sg_outcomes
"""


class _NoteFailures(ast.NodeTransformer):
    """``assert test`` becomes: evaluate ``test`` and, unless it is true, call
    ``sg_fail(index, why)`` and go on. ``sources`` keeps each assert's text by index."""

    def __init__(self) -> None:
        self.sources: list[str] = []

    def visit_Assert(self, node: ast.Assert) -> list[ast.stmt]:
        index = len(self.sources)
        self.sources.append(ast.unparse(node.test))
        noted = ast.parse(
            "try:\n    sg_held = bool(TEST)\n"
            "except Exception as sg_error:\n    sg_held = sg_error\n"
            f"if sg_held is not True:\n    sg_fail({index}, sg_held)\n"
        ).body
        noted[0].body[0].value.args[0] = node.test  # type: ignore[attr-defined]
        return [ast.copy_location(statement, node) for statement in noted]


@dataclass(frozen=True)
class Tests:
    """A test program made ready for replay: the source that notes failures, and each
    assert's text (for the reasons)."""

    source: str
    asserts: tuple[str, ...]


def prepare_tests(tests: str) -> Tests | None:
    """The replayable form of ``tests`` (None when they do not parse)."""
    try:
        tree = ast.parse(tests)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    noting = _NoteFailures()
    tree = ast.fix_missing_locations(noting.visit(tree))
    return Tests(ast.unparse(tree), tuple(noting.sources))


def _top_level_definitions(code: str) -> set[str]:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {node.name for node in tree.body if isinstance(node, kinds)}


def functions_under_test(code: str, tests: str, header: str, entry: str) -> tuple[str, ...]:
    """The candidate's names the tests call: the entry point, plus what the candidate
    defines and the tests name, minus the trusted header's own helpers."""
    try:
        named = {n.id for n in ast.walk(ast.parse(tests)) if isinstance(n, ast.Name)}
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        named = set()
    trusted = _top_level_definitions(header) - {entry}
    chosen = ({entry} if entry else set()) | (named & _top_level_definitions(code))
    return tuple(sorted(chosen - trusted))


def calls_program(code: str, names: Sequence[str], token: str) -> tuple[str, str]:
    """The candidate's code plus the function that makes the calls, and that function's name."""
    functions = ", ".join(f"{name!r}: {name}" for name in names)
    return code + CALLS_TEMPLATE.format(token=token, functions=functions), f"sg_calls_{token}"


def valid_outcomes(value: Any, count: int) -> bool:
    """Whether a calls job returned one ``(True, value)`` or ``(False, exception name)`` per
    call: anything else means the program replaced them."""
    if type(value) is not list or len(value) != count:
        return False
    return all(
        type(o) is tuple and len(o) == 2 and type(o[0]) is bool and (o[0] or type(o[1]) is str)
        for o in value
    )


@dataclass
class Case:
    """One candidate under replay: what is known of its calls and its verdict so far."""

    code: str
    names: tuple[str, ...]
    header: str
    tests: Tests
    known: dict[str, tuple[bool, Any]] = field(default_factory=dict)
    ran_code: bool = False
    verdict: tuple[bool, str] | None = None


class Replayer:
    """Runs replay rounds for a batch of cases over a sandbox pool (see the module docstring);
    keeps the first replay of each test program."""

    def __init__(self, sandbox: Callable[[], Sandbox], policy: Policy) -> None:
        self._sandbox = sandbox
        self.policy = policy
        self._first: OrderedDict[tuple, dict[str, Any]] = OrderedDict()

    def judge(self, cases: Sequence[Case], token: str) -> list[tuple[bool, str]]:
        """(passed, reason) per case."""
        needing = self._replay_round([c for c in cases if c.verdict is None])
        for _ in range(ROUNDS - 1):
            if not needing:
                break
            self._calls_round(needing, token)
            needing = self._replay_round([c for c, _ in needing if c.verdict is None])
        for case in cases:
            if case.verdict is None:
                case.verdict = (False, "the tests kept calling with new arguments")
        return [case.verdict for case in cases]  # type: ignore[misc]

    def _replay_round(self, cases: Sequence[Case]) -> list[tuple[Case, list]]:
        """Replays every case; sets the verdicts it can. Returns the cases that need calls."""
        keys = [(c.names, c.header, c.tests.source) for c in cases]
        todo = [i for i, c in enumerate(cases) if c.known or keys[i] not in self._first]
        jobs = [
            {
                "program": REPLAY_PROGRAM,
                "entry": "sg_replay",
                "args": (cases[i].known, cases[i].names, cases[i].header, cases[i].tests.source),
                "policy": self.policy,
            }
            for i in todo
        ]
        results = dict(zip(todo, self._sandbox().run_many(jobs), strict=True))
        needing = []
        for i, case in enumerate(cases):
            result = results.get(i)
            if result is not None and not result.ok:
                case.verdict = (False, f"the tests failed: {_last_line(result)}")
                continue
            report = self._first[keys[i]] if result is None else result.value
            if not _valid_report(report):
                case.verdict = (False, "the tests' replay returned no report")
                continue
            if result is not None and not case.known:
                self._remember(keys[i], report)
            self._conclude(case, report)
            if case.verdict is None:
                needing.append((case, report["missing"]))
        return needing

    def _remember(self, key: tuple, report: dict[str, Any]) -> None:
        self._first[key] = report
        while len(self._first) > CACHE_SIZE:
            self._first.popitem(last=False)

    @staticmethod
    def _conclude(case: Case, report: dict[str, Any]) -> None:
        definite = [f for f in report["failed"] if f[2]]
        if definite or report.get("definite_error") is True:
            case.verdict = (False, _failure_reason(case, definite, report["error"]))
        elif not report["missing"] and case.ran_code:
            passed = not report["failed"] and not report["error"]
            why = "" if passed else _failure_reason(case, report["failed"], report["error"])
            case.verdict = (passed, why)

    def _calls_round(self, needing: Sequence[tuple[Case, list]], token: str) -> None:
        jobs = []
        for case, missing in needing:
            program, entry = calls_program(case.code, case.names, token)
            calls = [(name, args, kwargs) for _, name, args, kwargs in missing]
            jobs.append(
                {"program": program, "entry": entry, "args": (calls,), "policy": self.policy}
            )
        results = self._sandbox().run_many(jobs)
        for (case, missing), result in zip(needing, results, strict=True):
            case.ran_code = True
            if not result.ok:
                case.verdict = (False, f"{result.error_type}: {_last_line(result)}")
            elif not valid_outcomes(result.value, len(missing)):
                case.verdict = (False, "the program replaced the outcomes of its calls")
            else:
                case.known.update(
                    (key, outcome) for (key, *_), outcome in zip(missing, result.value, strict=True)
                )


def _valid_report(report: Any) -> bool:
    """The replay's report has its shape (it ran test code, which may be a teacher's)."""
    if type(report) is not dict or type(report.get("missing")) is not list:
        return False
    if type(report.get("failed")) is not list or type(report.get("error")) is not str:
        return False
    if not all(type(f) is tuple and len(f) == 3 and type(f[0]) is int for f in report["failed"]):
        return False
    return all(type(m) is tuple and len(m) == 4 and type(m[0]) is str for m in report["missing"])


def _last_line(result: RunResult) -> str:
    return (result.error.strip().splitlines()[-1:] or [""])[0][:200]


def _failure_reason(case: Case, failed: Sequence[tuple], error: str) -> str:
    if failed:
        index, why, _ = failed[0]
        source = case.tests.asserts[index] if index < len(case.tests.asserts) else "?"
        return f"AssertionError: assert {source}"[:200] + (f" ({why})" if why else "")
    return f"exception: {error}"
