"""Procedural math skills with exact answers: our own generators plus reasoning-gym's.

Skills were chosen so that a 135M-parameter student starts below ceiling on most of them and
can learn some from a few hundred examples (answer formats, place value, parity, unit
factors), while others (weekday of a date, gcd) stay hard: a teacher has to find out which.
Each generator is addressed by ``(skill, seed)``; reasoning-gym items are ``(seed, index)``
addressable, so ``sample(skill, n, seed)`` is a deterministic, prefix-stable sequence.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

Generator = Callable[[random.Random], tuple[str, str]]

UNIT_FACTORS = (
    ("centimeters", "meters", 100),
    ("grams", "kilograms", 1000),
    ("minutes", "hours", 60),
    ("seconds", "minutes", 60),
    ("millimeters", "centimeters", 10),
    ("days", "weeks", 7),
)


def _parity(rng: random.Random) -> tuple[str, str]:
    n = rng.randint(10, 9999)
    return f"Is {n} even or odd? Answer with one word.", "odd" if n % 2 else "even"


def _comparison(rng: random.Random) -> tuple[str, str]:
    a, b = rng.sample(range(10, 1000), 2)
    return f"Which number is larger, {a} or {b}? Answer with the number.", str(max(a, b))


def _addition(rng: random.Random) -> tuple[str, str]:
    a, b = rng.randint(10, 99), rng.randint(10, 99)
    return f"What is {a} + {b}? Answer with a number.", str(a + b)


def _multiplication(rng: random.Random) -> tuple[str, str]:
    a, b = rng.randint(11, 99), rng.randint(2, 9)
    return f"What is {a} * {b}? Answer with a number.", str(a * b)


def _unit_conversion(rng: random.Random) -> tuple[str, str]:
    small, big, factor = rng.choice(UNIT_FACTORS)
    n = rng.randint(2, 99)
    return f"How many {small} are in {n} {big}? Answer with a number.", str(n * factor)


def _rounding(rng: random.Random) -> tuple[str, str]:
    n = rng.randint(100, 9999)
    return f"Round {n} to the nearest ten. Answer with a number.", str((n + 5) // 10 * 10)


def _digit_sum(rng: random.Random) -> tuple[str, str]:
    n = rng.randint(100, 99999)
    return (
        f"What is the sum of the digits of {n}? Answer with a number.",
        str(sum(map(int, str(n)))),
    )


OWN: dict[str, Generator] = {
    "parity": _parity,
    "comparison": _comparison,
    "addition": _addition,
    "multiplication": _multiplication,
    "unit_conversion": _unit_conversion,
    "rounding": _rounding,
    "digit_sum": _digit_sum,
}

# skill -> (reasoning-gym dataset, config)
REASONING_GYM: dict[str, tuple[str, dict[str, Any]]] = {
    "weekday": ("calendar_arithmetic", {"tasks": ["weekday_of_date"]}),
    "chain_sum": ("chain_sum", {"min_terms": 2, "max_terms": 3, "max_digits": 2}),
    "gcd": ("gcd", {"max_value": 100}),
    "fraction_simplification": (
        "fraction_simplification",
        {"max_value": 30, "max_factor": 9, "styles": ("plain",)},
    ),
}

SKILLS: tuple[str, ...] = (*OWN, *REASONING_GYM)

# What counts as each skill's answer (``math_answers.FORMS``). Where producing the form is
# the skill (reducing a fraction, naming a weekday), an equal value in another form is wrong;
# the other skills ask for a whole number, so "10/2" is no answer, nor "5.0" except in
# chain_sum, whose source scorer (reasoning-gym) takes trailing decimals ("5.0" = "5").
ANSWER_FORMS: dict[str, str] = {
    "parity": "word",
    "comparison": "integer",
    "addition": "integer",
    "multiplication": "integer",
    "unit_conversion": "integer",
    "rounding": "integer",
    "digit_sum": "integer",
    "weekday": "weekday",
    "chain_sum": "decimal",
    "gcd": "integer",
    "fraction_simplification": "fraction",
}

DESCRIPTIONS = {
    "parity": "say whether a whole number is even or odd",
    "comparison": "pick the larger of two whole numbers",
    "addition": "add two two-digit numbers",
    "multiplication": "multiply a two-digit number by a one-digit number",
    "unit_conversion": "convert a quantity to a smaller unit (m->cm, kg->g, h->min, ...)",
    "rounding": "round a whole number to the nearest ten",
    "digit_sum": "add up the digits of a number",
    "weekday": "name the weekday of a date in 2022",
    "chain_sum": "add and subtract two or three small numbers",
    "gcd": "greatest common divisor of two numbers up to 100",
    "fraction_simplification": "reduce a fraction to lowest terms, written a/b",
}


def sample(skill: str, count: int, seed: int) -> list[tuple[str, str]]:
    """``count`` (question, answer) pairs of ``skill``, determined by ``seed``."""
    if skill in OWN:
        rng = random.Random(seed)
        return [OWN[skill](rng) for _ in range(count)]
    if skill in REASONING_GYM:
        import reasoning_gym  # slow import (~2 s): only when a generator actually runs

        name, config = REASONING_GYM[skill]
        dataset = reasoning_gym.create_dataset(name, seed=seed, size=count, **config)
        return [(entry["question"], str(entry["answer"])) for entry in dataset]
    raise ValueError(f"unknown math skill {skill!r}; known: {', '.join(SKILLS)}")
