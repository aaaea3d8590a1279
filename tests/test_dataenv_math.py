"""The embedded math domain: frozen disjoint splits, generators, answer checking, MATH loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from societygym.envs.dataenv.domains import make_domain
from societygym.envs.dataenv.domains.math import FINGERPRINTS, PER_SKILL, build_splits
from societygym.envs.dataenv.domains.math_answers import answers_match
from societygym.envs.dataenv.domains.math_check import verify_math
from societygym.envs.dataenv.records import fingerprint, question_key

FIXTURE = Path(__file__).parent / "fixtures" / "hendrycks_math_sample.jsonl"


@pytest.fixture(scope="module")
def domain():
    return make_domain("math")


def test_splits_are_pinned_disjoint_and_balanced(domain) -> None:
    assert len(domain.skills) >= 8
    keys = {}
    for split in ("validation", "test"):
        items = domain.load_split(split)
        assert fingerprint(items) == FINGERPRINTS[split]
        for skill in domain.skills:
            assert sum(i.skill == skill for i in items) == PER_SKILL
        keys[split] = {question_key(i.question) for i in items}
        assert len(keys[split]) == len(items)  # no duplicate questions within a split
    assert not keys["validation"] & keys["test"]


def test_shipped_splits_regenerate_from_the_generators() -> None:
    rebuilt = build_splits()
    assert {s: fingerprint(items) for s, items in rebuilt.items()} == FINGERPRINTS


def test_prefix_of_a_split_takes_per_skill_items(domain) -> None:
    items = domain.split("validation", per_skill=3)
    assert len(items) == 3 * len(domain.skills)
    shown = domain.split("feedback", per_skill=3)
    assert len(shown) == 3 * len(domain.skills) and not {i.id for i in shown} & {
        i.id for i in items
    }
    # the halves partition the stored validation split
    halves = domain.split("validation") + domain.split("feedback")
    assert sorted(i.id for i in halves) == sorted(i.id for i in domain.load_split("validation"))
    with pytest.raises(ValueError, match="unknown split"):
        domain.split("train")


def test_generated_data_avoids_held_out_questions_and_is_correct(domain) -> None:
    rng = np.random.default_rng(0)
    for skill in ("parity", "addition", "multiplication", "comparison", "chain_sum"):
        examples = domain.generate(skill, 30, rng)
        assert len(examples) == 30 and all(e.skill == skill for e in examples)
        assert not {question_key(e.instruction) for e in examples} & domain.held_out_keys
        assert all(verify_math(e.instruction, e.response) for e in examples)
    with pytest.raises(ValueError, match="unknown math skill"):
        domain.generate("calculus", 1, rng)


@pytest.mark.parametrize(
    ("reply", "gold", "expected"),
    [
        ("42", "42", True),
        ("The answer is 42.", "42", True),
        ('The answer is "odd."', "odd", True),
        ("\\boxed{\\frac{3}{4}}", "3/4", True),
        ("0.75", "3/4", True),  # value form (the default, e.g. MATH answers)
        ("1,000", "1000", True),
        ("Friday", "friday", True),
        ("2x+1", "1+2*x", True),
        ("43", "42", False),
        ("", "42", False),
        ("odd", "even", False),
        ("garbage words here", "17/22", False),
    ],
)
def test_answers_match(reply: str, gold: str, expected: bool) -> None:
    assert answers_match(reply, gold) is expected


def test_verify_math_checks_what_it_can() -> None:
    assert verify_math("What is 17 * 4?", "68") is True
    assert verify_math("What is 17 * 4?", "67") is False
    assert verify_math("Is 13 even or odd?", "odd") is True
    assert verify_math("Which number is larger, 5 or 9?", "5") is False
    assert verify_math("Name a prime.", "7") is None


def test_hendrycks_math_loader_on_fixture() -> None:
    domain = make_domain("hendrycks_math", source=FIXTURE)
    validation, test = domain.load_split("validation"), domain.load_split("test")
    assert domain.skills == ("Algebra", "Counting & Probability", "Number Theory", "Prealgebra")
    assert len(validation) + len(test) == 10  # the row without a boxed answer is skipped
    assert not {i.id for i in validation} & {i.id for i in test}
    by_question = {i.question: i for i in validation + test}
    half = by_question["Simplify $\\frac{6}{8}$."]
    assert half.answer == "\\frac{3}{4}" and domain.is_correct("0.75", half)
    assert domain.is_correct("x^2 + 2x + 1", by_question["Expand $(x+1)^2$."])


@pytest.mark.parametrize(
    ("reply", "gold", "form", "expected"),
    [
        ("5/11", "5/11", "fraction", True),
        ("\\boxed{\\frac{5}{11}}", "5/11", "fraction", True),
        ("10/22", "5/11", "fraction", False),  # unreduced: the skill is reducing
        ("0.75", "3/4", "fraction", False),
        ("3", "3/1", "fraction", False),
        ("1", "1", "integer", True),
        ("The answer is 1,000.", "1000", "integer", True),
        ("1.0", "1", "integer", False),
        ("2/2", "1", "integer", False),
        ("10/2", "5", "integer", False),
        ("sunday.", "Sunday", "weekday", True),
        ("Sun", "Sunday", "weekday", False),
        ("Monday", "Sunday", "weekday", False),
        ("Odd", "odd", "word", True),
    ],
)
def test_answer_forms(reply: str, gold: str, form: str, expected: bool) -> None:
    assert answers_match(reply, gold, form) is expected


def test_every_skill_declares_its_answer_form(domain) -> None:
    from societygym.envs.dataenv.domains.math_skills import ANSWER_FORMS

    assert set(ANSWER_FORMS) == set(domain.skills)
    item = next(i for i in domain.load_split("validation") if i.skill == "gcd")
    assert domain.is_correct(item.answer, item) and not domain.is_correct(f"{item.answer}.0", item)
    with pytest.raises(ValueError, match="answer form"):
        answers_match("1", "1", "roman")
