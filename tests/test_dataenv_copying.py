"""A teaching reward copying cannot earn: the shown and the measured halves of validation, the
near-duplicate check, and a copying teacher against a fresh-item teacher in every domain."""

from __future__ import annotations

import importlib.util
import json
import random
from pathlib import Path

import numpy as np
import pytest

from societygym.envs.dataenv.domains import make_domain
from societygym.envs.dataenv.domains.math_skills import sample
from societygym.envs.dataenv.domains.tooluse import tasks
from societygym.envs.dataenv.near_duplicates import LONG, NearDuplicateIndex, tokens
from societygym.envs.dataenv.open_ended_env import OpenEndedEnv
from societygym.envs.dataenv.records import Example, question_key
from societygym.envs.dataenv.skill_list_env import SkillListEnv
from societygym.envs.dataenv.students.memorizer import MemorizingStudent

BENCH = Path(__file__).parents[1] / "benchmarks" / "bench_copying_teacher.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_copying_teacher", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def math():
    return make_domain("math")


def test_tokens_erase_only_what_trivial_rewrites_change() -> None:
    assert tokens("What is 1,000 + 5.0?") == tokens("what is 1000+5") == [
        "what", "is", "1000", "+", "5",
    ]  # fmt: skip
    assert tokens("0 + 7") != tokens("0 - 7")  # operators are the question


@pytest.mark.parametrize(
    "rewrite",
    [
        "Question: {q}",
        "{q} Please.",
        "{q}!!!",
        "  {Q}  ",
        "Here is one: {q} Answer carefully, then explain.",
    ],
)
def test_trivial_rewrites_are_caught_and_named(math, rewrite: str) -> None:
    item = next(i for i in math.load_split("test") if i.skill == "addition")
    text = rewrite.format(q=item.question, Q=item.question.upper())
    match = math.near_duplicate(Example(text, item.answer))
    assert match is not None and match.item_id == item.id
    assert item.id in match.reason()


def test_number_formatting_rewrites_are_caught() -> None:
    index = NearDuplicateIndex([("x/1", "How many grams are in 1000 kilograms?", "")])
    assert index.match("How many grams are in 1,000 kilograms? Thanks")
    assert index.match("how many GRAMS are in 1000.0 kilograms")
    assert index.match("How many grams are in 1001 kilograms?") is None


def test_template_siblings_are_new_questions(math) -> None:
    stem = "State the final answer to the following arithmetic problem:"
    index = NearDuplicateIndex(
        [("a", f"{stem} 0 + 7 =", ""), ("b", "How many words are in 'blue open'?", "")]
    )
    assert index.match(f"Please. {stem} 0 + 7 =")
    assert index.match(f"{stem} 0 + 7 + 1 =") is None
    assert index.match(f"{stem} 0 - 7 =") is None
    assert index.match("How many words are in 'blue boat river song'?") is None
    # questions sampled from every math skill at another seed than the splits': none but
    # exact repeats of held-out ones (small spaces repeat) is mistaken for a held-out one
    for skill in math.skills:
        for question, answer in sample(skill, 40, 99):
            exact = question_key(question) in math.held_out_keys
            assert exact == (math.near_duplicate(Example(question, answer)) is not None)


def test_long_items_with_a_few_words_edited_are_caught() -> None:
    humaneval = make_domain("humaneval")
    item = humaneval.load_split("test")[3]
    assert len(tokens(item.question)) >= LONG
    edited = item.question.replace("Return", "Give back", 1) + "\nassert True"
    match = humaneval.near_duplicate(Example(edited, item.answer))
    assert match is not None and match.item_id == item.id


def test_generators_write_no_near_duplicates() -> None:
    rng = np.random.default_rng(0)
    for name in ("math", "tooluse", "vqa"):
        domain = make_domain(name)
        for skill in domain.skills:
            assert not any(domain.near_duplicate(e) for e in domain.generate(skill, 30, rng))
    # the raw tool-use sampler does write requests holding a held-out one; generate skips them
    tooluse = make_domain("tooluse")
    local = random.Random(0)
    raw = [tasks.sample("geography", local).request for _ in range(300)]
    assert any(tooluse.near_duplicate(Example(r, "[]")) for r in raw)


def test_the_teacher_never_sees_what_the_reward_measures(math) -> None:
    env = SkillListEnv(student=MemorizingStudent(), val_per_skill=5, max_errors_shown=200)
    obs, info = env.reset(seed=0)
    reward_questions = {i.question for i in env.validation}
    shown = [e["question"] for e in json.loads(obs["errors"])]
    shown += [e["question"] for es in json.loads(obs["skill_errors"]).values() for e in es]
    assert shown and not set(shown) & reward_questions
    assert not any(q in obs["text"] for q in reward_questions)
    assert {i.id for i in env.feedback}.isdisjoint(i.id for i in env.validation)
    assert len(env.feedback) == len(env.validation) == 5 * len(env.skills)
    assert info["validation"]["count"] == info["feedback"]["count"] == len(env.validation)


def test_copies_of_shown_errors_are_rejected_naming_the_item(math) -> None:
    env = OpenEndedEnv(student=MemorizingStudent(), val_per_skill=3, max_errors_shown=10)
    obs, _ = env.reset(seed=0)
    errors = json.loads(obs["errors"])
    by_question = {i.question: i.id for i in env.feedback}
    action = load_bench().copying_action(errors)
    _, reward, _, _, info = env.step(action)
    assert info["accepted"] == 0 and reward == 0.0
    for rejected, error in zip(info["rejected"], errors, strict=True):
        assert rejected["reason"].startswith("near-duplicate of held-out item ")
        assert by_question[error["question"]] in rejected["reason"]


@pytest.mark.slow
@pytest.mark.parametrize("domain", ["math", "vqa", "code", "tooluse"])
def test_copying_teacher_gains_no_more_than_a_fresh_teacher(domain: str) -> None:
    """Mean reward over three seeds of one step of 20 examples. Before the split, copying
    earned far more than fresh items (README "Teaching": e.g. math +0.227 vs +0.064)."""
    bench = load_bench()
    rows = [bench.measure(domain, seed, 20, 3, "memorizer") for seed in (0, 1, 2)]
    copying = np.mean([r["copying"]["reward"] for r in rows])
    fresh = np.mean([r["fresh"]["reward"] for r in rows])
    assert all(r["copying"]["accepted"] == 0 for r in rows)
    assert all(r["fresh"]["accepted"] >= 18 for r in rows)  # fresh items stay welcome
    assert copying <= fresh
