"""A code bank: helper functions learned by refactoring programs (ReGAL), with their test record.

Each helper is the source of one function, checked like sandboxed code (:func:`parse_helper`)
and defined in the sandbox before it is admitted. Every program that calls a helper is kept as
one of its test cases, with what the program's result must match and the pass/fail history of
its runs. A helper's score is ReGAL's: +1 for each passing test case and -1/k for each failing
one (k: how many bank helpers that program calls, so blame is shared), averaged over its test
cases; :meth:`CodeBank.prune` keeps a helper while its score is above a threshold and it has
been used often enough.

Programs see a bank through the envs' ``helpers`` argument (a bank, its ``codebank.json``
path, or the sources)::

    env = gym.make("ReGAL-Date-v0", helpers="out/codebank.json")
    env = gym.make("ReGAL-Date-v0", helpers=CodeBank.load("out/codebank.json").helpers())

Running programs is the job of a :class:`Judge` (one per domain, e.g.
``societygym.baselines.regal.domains``), so this module stays free of env imports.
"""

from __future__ import annotations

import ast
import builtins
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

FORMAT = "societygym-codebank/1"
MAX_HELPER_CHARS = 8000  # a helper is a short function, not a program
BUILTIN_NAMES = frozenset(dir(builtins))


class InvalidHelper(ValueError):
    """The source is not a single acceptable helper function."""


@dataclass(frozen=True)
class Check:
    """One program run and judged: ``ran`` is False when it failed to run (``message`` says
    why); ``passed`` when its result matched; otherwise ``message`` says how it differed."""

    passed: bool
    ran: bool = True
    message: str = ""


class Judge(Protocol):
    """Runs programs for one domain in the sandbox and compares their results."""

    primitives: frozenset[str]  # the domain's own names, which a helper must not rebind

    def check_many(self, jobs: Sequence[tuple[str, Sequence[str], Any]]) -> list[Check]:
        """For each ``(program, helpers, expected)``: run the helpers then the program."""
        ...

    def defines(self, helpers: Sequence[str]) -> str | None:
        """Why running ``helpers`` alone fails in the sandbox, or None if it succeeds."""
        ...


@dataclass
class TestCase:
    """A program that calls the helper; ``expected`` is what the judge compares its result
    with (domain-specific JSON), ``calls`` how many bank helpers the program calls, ``message``
    how its last run went wrong (empty if it passed)."""

    task_id: str
    query: str
    program: str
    expected: Any
    calls: int
    history: list[bool] = field(default_factory=list)
    message: str = ""

    __test__ = False  # not a pytest class, despite the name

    @property
    def passed(self) -> bool:
        return bool(self.history) and self.history[-1]


@dataclass
class Helper:
    name: str
    source: str
    docstring: str = ""
    version: int = 1
    added_round: int = 0
    tests: list[TestCase] = field(default_factory=list)

    @property
    def uses(self) -> int:
        return len(self.tests)

    @property
    def passes(self) -> int:
        return sum(test.passed for test in self.tests)

    @property
    def score(self) -> float:
        """ReGAL's success score: mean of +1 per passing use and -1/k per failing use."""
        if not self.tests:
            return 0.0
        total = sum(1.0 if t.passed else -1.0 / max(t.calls, 1) for t in self.tests)
        return total / len(self.tests)


def _bound_names(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.FunctionDef):
        return [node.name]
    assert isinstance(node, ast.Import | ast.ImportFrom)
    return [(alias.asname or alias.name).partition(".")[0] for alias in node.names]


def parse_helper(
    source: str, name: str | None = None, reserved: Iterable[str] = ()
) -> tuple[str, str]:
    """``(name, docstring)`` of a helper, or :class:`InvalidHelper` saying what is wrong.

    A helper is one top-level function without decorators, optionally after imports. It must
    compile, pass the sandbox's static checks and bind no reserved, builtin or private name,
    since rebinding one would change every program that runs after it.
    """
    from societygym.sandbox.checks import check_source

    if not isinstance(source, str) or not source.strip():
        raise InvalidHelper("a helper is non-empty source text")
    if len(source) > MAX_HELPER_CHARS:
        raise InvalidHelper(f"a helper has at most {MAX_HELPER_CHARS} characters")
    try:
        tree = check_source(source, filename="<helper>")
        compile(tree, "<helper>", "exec")
    except SyntaxError as error:
        raise InvalidHelper(f"does not compile: {error.msg} (line {error.lineno})") from None
    except PermissionError as error:  # the sandbox's ForbiddenCode
        raise InvalidHelper(str(error)) from None
    assert isinstance(tree, ast.Module)
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    others = [
        n for n in tree.body if not isinstance(n, ast.FunctionDef | ast.Import | ast.ImportFrom)
    ]
    if len(functions) != 1 or others:
        raise InvalidHelper("a helper is exactly one function definition (imports may precede it)")
    function = functions[0]
    if function.decorator_list:
        raise InvalidHelper("a helper has no decorators")
    if name is not None and function.name != name:
        raise InvalidHelper(f"the helper must define {name!r}, not {function.name!r}")
    if any(isinstance(n, ast.ImportFrom) and n.names[0].name == "*" for n in tree.body):
        raise InvalidHelper("a helper cannot use `import *`")
    forbidden = set(reserved) | BUILTIN_NAMES
    for node in tree.body:
        for bound in _bound_names(node):
            if bound.startswith("_") or bound in forbidden:
                raise InvalidHelper(f"a helper may not rebind {bound!r}")
    return function.name, ast.get_docstring(function) or ""


def called_names(program: str, names: Iterable[str]) -> list[str]:
    """Which of ``names`` the program refers to, in the order given, leaving out names the
    program defines itself (its own function then shadows the bank's). [] if it does not parse."""
    try:
        tree = ast.parse(program)
    except (SyntaxError, ValueError):
        return []
    loaded = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }
    defined = {
        n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    return [name for name in names if name in loaded and name not in defined]


def closure(names: Iterable[str], sources: Mapping[str, str]) -> list[str]:
    """``names`` plus every helper of ``sources`` they call, directly or not, in the order of
    ``sources``: the helpers a program needs defined before it runs."""
    needed: set[str] = set()
    todo = [name for name in names if name in sources]
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo += called_names(sources[name], sources)
    return [name for name in sources if name in needed]


class CodeBank:
    """An ordered library of :class:`Helper` s for one domain, saved as JSON.

    ``round`` counts the training rounds that shaped the bank (a helper's age for pruning).
    """

    def __init__(self, domain: str = "", helpers: Iterable[Helper] = (), round: int = 0) -> None:
        self.domain = domain
        self.round = round
        self._helpers: dict[str, Helper] = {}
        for helper in helpers:
            if helper.name in self._helpers:
                raise ValueError(f"two helpers are named {helper.name!r}")
            self._helpers[helper.name] = helper

    def __len__(self) -> int:
        return len(self._helpers)

    def __iter__(self) -> Iterator[Helper]:
        return iter(list(self._helpers.values()))

    def __contains__(self, name: object) -> bool:
        return name in self._helpers

    def __getitem__(self, name: str) -> Helper:
        return self._helpers[name]

    @property
    def names(self) -> list[str]:
        return list(self._helpers)

    def helpers(self, names: Iterable[str] | None = None) -> tuple[str, ...]:
        """The helpers' sources in bank order (all, or those named): what the envs take."""
        chosen = self._helpers.keys() if names is None else set(names)
        return tuple(h.source for h in self._helpers.values() if h.name in chosen)

    # --- who calls whom -------------------------------------------------------------------

    def calls(self, program: str) -> list[str]:
        """The bank helpers a program calls directly."""
        return called_names(program, self._helpers)

    def sources(self) -> dict[str, str]:
        return {name: helper.source for name, helper in self._helpers.items()}

    def needed_by(self, program: str) -> tuple[str, ...]:
        """The sources a program needs defined before it runs, in bank order."""
        sources = self.sources()
        return tuple(sources[name] for name in closure(self.calls(program), sources))

    # --- adding, testing, editing -----------------------------------------------------------

    def vet(self, source: str, judge: Judge | None = None) -> str:
        """The name of a would-be helper if :meth:`add` would admit it: valid
        (:func:`parse_helper`), a new name and, with a judge, defined without error in the
        sandbox. Raises :class:`InvalidHelper` otherwise."""
        name, _ = parse_helper(source, reserved=judge.primitives if judge is not None else ())
        if name in self._helpers:
            raise InvalidHelper(f"the bank already has a helper named {name!r}")
        if judge is not None and (error := judge.defines([source])) is not None:
            raise InvalidHelper(f"defining it fails in the sandbox: {error}")
        return name

    def add(self, source: str, judge: Judge | None = None, round: int | None = None) -> Helper:
        """Admit a new helper (see :meth:`vet`), born in ``round`` (default: the bank's)."""
        name = self.vet(source, judge)
        _, docstring = parse_helper(source)
        added = self.round if round is None else round
        helper = Helper(name, source.strip(), docstring, added_round=added)
        self._helpers[name] = helper
        return helper

    def record(self, name: str, test: TestCase) -> None:
        self._helpers[name].tests.append(test)

    def run_tests(self, name: str, judge: Judge, source: str | None = None) -> list[Check]:
        """Run a helper's test cases, with ``source`` standing in for the helper if given."""
        sources = self.sources()
        if source is not None:
            sources[name] = source.strip()
        jobs = []
        for test in self._helpers[name].tests:
            needed = closure(self.calls(test.program), sources)
            jobs.append((test.program, [sources[n] for n in needed], test.expected))
        return judge.check_many(jobs)

    def try_edit(self, name: str, candidate: str, judge: Judge) -> tuple[bool, str]:
        """Replace a helper by ``candidate`` if strictly more of its test cases pass with it
        (both versions are run now, so the comparison is fair); ``(accepted, why)``."""
        helper = self._helpers[name]
        try:
            parse_helper(candidate, name=name, reserved=judge.primitives)
        except InvalidHelper as error:
            return False, str(error)
        if (error := judge.defines([candidate])) is not None:
            return False, f"defining it fails in the sandbox: {error}"
        before = self.run_tests(name, judge)
        after = self.run_tests(name, judge, candidate)
        old, new = sum(c.passed for c in before), sum(c.passed for c in after)
        accepted = new > old
        for test, check in zip(helper.tests, after if accepted else before, strict=True):
            test.history.append(check.passed)
            test.message = check.message
        if accepted:
            _, helper.docstring = parse_helper(candidate, name=name)
            helper.source, helper.version = candidate.strip(), helper.version + 1
        return accepted, f"{new}/{len(before)} test programs pass with it, {old} before"

    # --- pruning ----------------------------------------------------------------------------

    def keeps(self, helper: Helper, min_usage: int, threshold: float, grace_rounds: int) -> bool:
        """Kept if its score beats ``threshold`` and it was used ``min_usage`` times, or it is
        younger than ``grace_rounds`` (ReGAL's ``keep_low_usage``: new helpers get time)."""
        young = self.round - helper.added_round < grace_rounds
        return helper.score > threshold and (helper.uses >= min_usage or young)

    def prune(self, min_usage: int = 4, threshold: float = 0.0, grace_rounds: int = 0) -> list[str]:
        """Remove the helpers :meth:`keeps` rejects, then those that call a removed one, and the
        test cases whose programs call a removed one; the removed names."""
        removed = {h.name for h in self if not self.keeps(h, min_usage, threshold, grace_rounds)}
        while broken := {
            h.name for h in self if h.name not in removed and set(self.calls(h.source)) & removed
        }:
            removed |= broken
        for helper in self:
            helper.tests = [t for t in helper.tests if not set(self.calls(t.program)) & removed]
        for name in removed:
            del self._helpers[name]
        return sorted(removed)

    # --- demonstrations -----------------------------------------------------------------------

    def demos(self) -> list[TestCase]:
        """ReGAL's demo bank: one passing refactored program per task (pruning drops the test
        cases of removed helpers, so every helper a demo calls is in the bank)."""
        by_task: dict[str, TestCase] = {}
        for helper in self._helpers.values():
            for test in helper.tests:
                if test.passed:
                    by_task.setdefault(test.task_id, test)
        return list(by_task.values())

    # --- persistence ----------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "domain": self.domain,
            "round": self.round,
            "helpers": [asdict(h) for h in self._helpers.values()],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CodeBank:
        if data.get("format") != FORMAT:
            raise ValueError(f"not a code bank in format {FORMAT}: {data.get('format')!r}")
        helpers = []
        for item in data["helpers"]:
            tests = [TestCase(**t) for t in item.get("tests", [])]
            helper = Helper(**{**item, "tests": tests})
            parse_helper(helper.source, name=helper.name)  # a file is not trusted
            helpers.append(helper)
        return cls(data.get("domain", ""), helpers, int(data.get("round", 0)))

    def save(self, path: str | Path) -> Path:
        """Write the bank as JSON (atomically: a crash mid-write keeps the old file)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(self.to_json(), indent=1), encoding="utf-8")
        partial.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> CodeBank:
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))

    def module_source(self) -> str:
        """The bank as one Python module (``codebank.py``) with each helper's test record."""
        header = (
            f'"""Code bank for {self.domain or "programs"}: {len(self)} helpers after '
            f"{self.round} rounds of refactoring (societygym ReGAL).\n\n"
            "Helpers may call names that the domain's env provides (the LOGO turtle DSL,\n"
            'TextCraft\'s get_object ...), which this module does not define."""'
        )
        blocks = [
            f"# passed {h.passes}/{h.uses} test programs; version {h.version}\n{h.source}"
            for h in self._helpers.values()
        ]
        return header + "".join(f"\n\n\n{block}" for block in blocks) + "\n"

    def export(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.module_source(), encoding="utf-8")
        return path
