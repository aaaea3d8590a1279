"""The generated pool: short function-writing problems with exact tests and skill labels.

Each ``Family`` is a problem template with parameters (a threshold, a separator, a key),
so one family yields many distinct problems, and a small student that learns a family
from training problems can solve held-out problems of it with other parameters. A
problem's identity is its task sentence (``Family.describe``): held-out splits and
training data never share one. Expected outputs come from running the reference solution
in the sandbox, so a test can only disagree with a reference when the template is wrong -
which the tests of this module check on hand-computed cases.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SKILLS = ("string", "list", "arithmetic", "parsing", "dict")
DESCRIPTIONS = {
    "string": "transforming and inspecting strings",
    "list": "filtering, mapping and counting over lists of integers",
    "arithmetic": "integer arithmetic, divisibility and ranges",
    "parsing": "reading numbers, fields and times out of formatted text",
    "dict": "building and querying dictionaries",
}
TESTS_HEADER = "It must pass these tests:"
SHOWN_TESTS = 2
TOTAL_TESTS = 6

WORDS = (  # noqa: SIM905 - a word list
    "apple pear plum fig kiwi lime cat dog owl bee ant fox sun moon star sky rain snow "
    "red blue green gold tree leaf root seed book page ink pen road map ship sail"
).split()
KEYS = ("apple", "pear", "plum", "fig", "kiwi", "lime", "mango", "peach")


@dataclass(frozen=True)
class Family:
    """A problem template. ``task`` and ``body`` are ``str.format`` templates over the
    parameters ``draw`` returns; ``example`` draws one argument tuple for given params."""

    skill: str
    name: str
    params: str  # the signature's parameter list
    returns: str
    task: str
    body: str
    draw: Callable[[random.Random], dict[str, Any]]
    example: Callable[[random.Random, dict[str, Any]], tuple]

    def signature(self) -> str:
        return f"{self.name}({self.params}) -> {self.returns}"

    def describe(self, params: dict[str, Any]) -> str:
        return f"Write a Python function `{self.signature()}` that {self.task.format(**params)}."

    def solution(self, params: dict[str, Any]) -> str:
        return f"def {self.signature()}:\n{self.body.format(**params)}\n"


# --- argument generators ------------------------------------------------------------------


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))


def _ints(rng: random.Random, low: int = -5, high: int = 30) -> list[int]:
    return [rng.randint(low, high) for _ in range(rng.choice((0, 2, 3, 4, 5, 6)))]


def _int(rng: random.Random) -> int:
    return rng.randint(-40, 200)


def _mapping(rng: random.Random) -> dict[str, int]:
    keys = rng.sample(KEYS, rng.randint(0, 4))
    return {k: rng.randint(0, 25) for k in keys}


def _one(make: Callable[[random.Random], Any]) -> Callable[[random.Random, dict], tuple]:
    return lambda rng, params: (make(rng),)


def _pick(rng: random.Random, choices: str, k: int) -> str:
    return "".join(rng.sample(choices, k))


def _joined(rng: random.Random, params: dict[str, Any]) -> tuple:
    return (params["sep"].join(str(rng.randint(-20, 60)) for _ in range(rng.randint(1, 5))),)


def _key_values(rng: random.Random, params: dict[str, Any]) -> tuple:
    keys = rng.sample(string.ascii_lowercase[:6] + params["key"], rng.randint(1, 4))
    return (";".join(f"{k}={rng.randint(0, 99)}" for k in dict.fromkeys(keys)),)


def _unique_values(rng: random.Random, params: dict[str, Any]) -> tuple:
    keys = rng.sample(KEYS, rng.randint(0, 4))
    return (dict(zip(keys, rng.sample(range(30), len(keys)), strict=True)),)


def _clock(rng: random.Random, params: dict[str, Any]) -> tuple:
    return (f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",)


def _date(rng: random.Random, params: dict[str, Any]) -> tuple:
    return (f"{rng.randint(1950, 2030)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",)


FAMILIES: tuple[Family, ...] = (
    # --- string
    Family(
        "string",
        "repeat_text",
        "s: str",
        "str",
        "returns s repeated {k} times with {sep!r} between the copies",
        "    return {sep!r}.join([s] * {k})",
        lambda r: {"k": r.randint(2, 6), "sep": r.choice(["-", " ", ",", "", "+", "/"])},
        _one(_text),
    ),
    Family(
        "string",
        "replace_letter",
        "s: str",
        "str",
        "returns s with every {a!r} replaced by {b!r}",
        "    return s.replace({a!r}, {b!r})",
        lambda r: dict(zip("ab", r.sample("aeiounrstlp", 2), strict=True)),
        lambda r, params: (_text(r) + r.choice(["", " " + params["a"] + _text(r)]),),
    ),
    Family(
        "string",
        "count_chars",
        "s: str",
        "int",
        "returns how many characters of s are one of the letters in {chars!r}",
        "    return sum(1 for c in s if c in {chars!r})",
        lambda r: {"chars": _pick(r, "abcdefghiklmnoprstuw", r.randint(2, 3))},
        _one(_text),
    ),
    Family(
        "string",
        "edge_chars",
        "s: str",
        "str",
        "returns the first {k} characters of s followed by its last {m} characters{case}",
        "    return (s[:{k}] + s[-{m}:]){call}",
        lambda r: {
            "k": r.randint(1, 5),
            "m": r.randint(1, 5),
            **r.choice([{"case": "", "call": ""}, {"case": ", in upper case", "call": ".upper()"}]),
        },
        _one(_text),
    ),
    Family(
        "string",
        "wrap_text",
        "s: str",
        "str",
        "returns s with {left!r} added at the start and {right!r} at the end",
        "    return {left!r} + s + {right!r}",
        lambda r: dict(zip(("left", "right"), r.sample("<>[]()*#_=~^", 2), strict=True)),
        _one(_text),
    ),
    # --- list
    Family(
        "list",
        "sum_above",
        "xs: list[int]",
        "int",
        "returns the sum of the elements of xs that are greater than {k}",
        "    return sum(x for x in xs if x > {k})",
        lambda r: {"k": r.randint(-10, 30)},
        _one(_ints),
    ),
    Family(
        "list",
        "scale_list",
        "xs: list[int]",
        "list[int]",
        "returns a new list with every element of xs multiplied by {k} and then increased by {b}",
        "    return [x * {k} + {b} for x in xs]",
        lambda r: {"k": r.randint(2, 9), "b": r.randint(0, 9)},
        _one(_ints),
    ),
    Family(
        "list",
        "count_multiples",
        "xs: list[int]",
        "int",
        "returns how many elements of xs are divisible by {k} and greater than {m}",
        "    return sum(1 for x in xs if x % {k} == 0 and x > {m})",
        lambda r: {"k": r.randint(2, 12), "m": r.randint(-1, 9)},
        _one(_ints),
    ),
    Family(
        "list",
        "keep_between",
        "xs: list[int]",
        "list[int]",
        "returns the elements of xs from {lo} to {hi} inclusive, in their original order",
        "    return [x for x in xs if {lo} <= x <= {hi}]",
        lambda r: (lambda lo: {"lo": lo, "hi": lo + r.randint(3, 25)})(r.randint(-5, 15)),
        _one(_ints),
    ),
    Family(
        "list",
        "every_nth",
        "xs: list[int]",
        "list[int]",
        "returns the elements of xs at the indices {start}, {start} + {k}, {start} + 2 * {k} "
        "and so on",
        "    return xs[{start}::{k}]",
        lambda r: (lambda k: {"k": k, "start": r.randint(0, k - 1)})(r.randint(2, 5)),
        _one(lambda r: _ints(r) + _ints(r)),
    ),
    # --- arithmetic
    Family(
        "arithmetic",
        "affine",
        "n: int",
        "int",
        "returns n times {a} plus {b}",
        "    return n * {a} + {b}",
        lambda r: {"a": r.randint(2, 15), "b": r.randint(-20, 20)},
        _one(_int),
    ),
    Family(
        "arithmetic",
        "digit_sum",
        "n: int",
        "int",
        "returns the sum of the decimal digits of n (n is not negative) times {k}",
        "    return sum(int(d) for d in str(n)) * {k}",
        lambda r: {"k": r.randint(1, 12)},
        _one(lambda r: r.randint(0, 99999)),
    ),
    Family(
        "arithmetic",
        "remainder_is",
        "n: int",
        "bool",
        "returns True if n divided by {k} leaves the remainder {rem}, else False",
        "    return n % {k} == {rem}",
        lambda r: (lambda k: {"k": k, "rem": r.randint(0, k - 1)})(r.randint(2, 12)),
        _one(_int),
    ),
    Family(
        "arithmetic",
        "clamp",
        "n: int",
        "int",
        "returns n limited to the range from {lo} to {hi} (the nearest end when outside it)",
        "    return max({lo}, min({hi}, n))",
        lambda r: (lambda lo: {"lo": lo, "hi": lo + r.randint(1, 40)})(r.randint(-20, 20)),
        _one(lambda r: r.randint(-60, 80)),
    ),
    Family(
        "arithmetic",
        "sum_multiples",
        "n: int",
        "int",
        "returns the sum of the multiples of {k} from 1 to n inclusive",
        "    return sum(range({k}, n + 1, {k}))",
        lambda r: {"k": r.randint(2, 12)},
        _one(lambda r: r.randint(0, 120)),
    ),
    # --- parsing
    Family(
        "parsing",
        "combine_numbers",
        "s: str",
        "int",
        "reads the integers in s, which are separated by {sep!r}, and returns their {what}",
        "    return {fn}(int(x) for x in s.split({sep!r}))",
        lambda r: {
            "sep": r.choice([",", ";", "|", " ", "/"]),
            **r.choice(
                [
                    {"what": "sum", "fn": "sum"},
                    {"what": "maximum", "fn": "max"},
                    {"what": "minimum", "fn": "min"},
                ]
            ),
        },
        _joined,
    ),
    Family(
        "parsing",
        "read_key",
        "s: str",
        "int",
        "reads s, which looks like 'a=1;b=2', and returns the integer value of the key "
        "{key!r}, or {default} if that key is missing",
        "    for part in s.split(';'):\n"
        "        name, _, value = part.partition('=')\n"
        "        if name == {key!r}:\n"
        "            return int(value)\n"
        "    return {default}",
        lambda r: {"key": r.choice(string.ascii_lowercase), "default": r.choice([-1, 0, 99])},
        _key_values,
    ),
    Family(
        "parsing",
        "clock_minutes",
        "s: str",
        "int",
        "reads a time s written as 'HH:MM' and returns the minutes since midnight plus {k}",
        "    hours, minutes = s.split(':')\n    return int(hours) * 60 + int(minutes) + {k}",
        lambda r: {"k": r.randint(0, 60)},
        _clock,
    ),
    Family(
        "parsing",
        "date_field",
        "s: str",
        "int",
        "reads a date s written as 'YYYY-MM-DD' and returns its {part} as a number times {k}",
        "    return int(s.split('-')[{index}]) * {k}",
        lambda r: {
            **r.choice(
                [
                    {"part": "year", "index": 0},
                    {"part": "month", "index": 1},
                    {"part": "day", "index": 2},
                ]
            ),
            "k": r.randint(1, 10),
        },
        _date,
    ),
    Family(
        "parsing",
        "count_initial",
        "s: str",
        "int",
        "returns how many of the space-separated words of s start with the letter {a!r}",
        "    return sum(1 for w in s.split() if w.startswith({a!r}))",
        lambda r: {"a": r.choice("abcdfglmprst")},
        _one(_text),
    ),
    # --- dict
    Family(
        "dict",
        "count_words",
        "s: str",
        "dict[str, int]",
        "returns a dict mapping each space-separated word of s longer than {k} characters "
        "to the number of times it occurs",
        "    counts = {{}}\n    for w in s.split():\n        if len(w) > {k}:\n"
        "            counts[w] = counts.get(w, 0) + 1\n    return counts",
        lambda r: {"k": r.randint(0, 4)},
        _one(lambda r: _text(r) + " " + _text(r)),
    ),
    Family(
        "dict",
        "get_scaled",
        "d: dict[str, int]",
        "int",
        "returns the value of the key {key!r} in d times {k}, or {default} if d has no such key",
        "    return d[{key!r}] * {k} if {key!r} in d else {default}",
        lambda r: {"key": r.choice(KEYS), "k": r.randint(1, 5), "default": r.choice([0, -1])},
        _one(_mapping),
    ),
    Family(
        "dict",
        "keys_above",
        "d: dict[str, int]",
        "list[str]",
        "returns the sorted list of the keys of d whose values are greater than {k}",
        "    return sorted(key for key, value in d.items() if value > {k})",
        lambda r: {"k": r.randint(0, 20)},
        _one(_mapping),
    ),
    Family(
        "dict",
        "invert",
        "d: dict[str, int]",
        "dict[int, str]",
        "returns a dict mapping each value of d plus {k} to its key (values are distinct)",
        "    return {{value + {k}: key for key, value in d.items()}}",
        lambda r: {"k": r.randint(0, 10)},
        _unique_values,
    ),
    Family(
        "dict",
        "merge_counts",
        "a: dict[str, int], b: dict[str, int]",
        "dict[str, int]",
        "returns a dict with every key of a or b mapped to {k} times the sum of its values "
        "in a and in b (a missing key counts as 0)",
        "    keys = sorted(set(a) | set(b))\n"
        "    return {{key: (a.get(key, 0) + b.get(key, 0)) * {k} for key in keys}}",
        lambda r: {"k": r.randint(1, 6)},
        lambda r, params: (_mapping(r), _mapping(r)),
    ),
)


def families(skill: str) -> tuple[Family, ...]:
    found = tuple(f for f in FAMILIES if f.skill == skill)
    if not found:
        raise ValueError(f"unknown code skill {skill!r}; expected one of {SKILLS}")
    return found


@dataclass(frozen=True)
class Draft:
    """A drawn problem before its expected outputs are known."""

    family: Family
    params: dict[str, Any]
    inputs: tuple[tuple, ...]

    @property
    def description(self) -> str:
        return self.family.describe(self.params)

    @property
    def solution(self) -> str:
        return self.family.solution(self.params)


def draw(skill: str, rng: random.Random) -> Draft:
    """One problem of ``skill``: a family, its parameters and distinct test inputs."""
    family = rng.choice(families(skill))
    params = family.draw(rng)
    inputs: dict[str, tuple] = {}
    for _ in range(20 * TOTAL_TESTS):
        args = family.example(rng, params)
        inputs.setdefault(repr(args), args)
        if len(inputs) == TOTAL_TESTS:
            break
    return Draft(family, params, tuple(inputs.values()))


def assert_lines(name: str, inputs: tuple[tuple, ...], outputs: list[Any]) -> list[str]:
    return [
        f"assert {name}({', '.join(map(repr, args))}) == {out!r}"
        for args, out in zip(inputs, outputs, strict=True)
    ]


def render_prompt(description: str, shown: list[str]) -> str:
    return "\n".join([description, TESTS_HEADER, *shown])
