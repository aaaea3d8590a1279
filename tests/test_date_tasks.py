"""Date tasks: hand-computed answers, reference programs, splits, fingerprints, BIG-Bench loader."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest
from program_support import outputs_under_hash_seeds

from societygym.envs.programs.date import questions as q
from societygym.envs.programs.date.tasks import (
    FAMILIES,
    SPLITS,
    fingerprint,
    generate_tasks,
    load_bigbench,
    load_tasks,
    make_task,
    normalize_date,
    split_of,
)

FIXTURE = Path(__file__).parent / "fixtures" / "bigbench_date_understanding.json"
PINNED = {"train": "7d214e8a79704058", "dev": "9c413403b9133fbd", "test": "1d80509f2fe8d64b"}
PINNED_SIZES = {"train": 454, "dev": 243, "test": 489}

# (context, query, answer worked out by hand with a calendar)
HAND_COMPUTED = [
    (q.holiday("Christmas Eve", 1937), q.days(-10), "12/14/1937"),
    (q.holiday("Christmas Eve", 1937), q.weeks(1), "12/31/1937"),
    (q.holiday("New Year's Eve", 1999), q.TOMORROW, "01/01/2000"),
    (q.on(date(2021, 1, 31)), q.months(1), "02/28/2021"),  # clipped to the month's end
    (q.on(date(2024, 1, 31)), q.months(1), "02/29/2024"),  # leap year
    (q.on(date(2024, 3, 31)), q.months(-1), "02/29/2024"),
    (q.on(date(2024, 2, 29)), q.years(1), "02/28/2025"),
    (q.on(date(2024, 2, 29)), q.years(-1), "02/28/2023"),
    (q.on(date(1900, 2, 28)), q.TOMORROW, "03/01/1900"),  # 1900 is not a leap year
    (q.on(date(2000, 2, 28)), q.TOMORROW, "02/29/2000"),  # 2000 is
    (q.on(date(2100, 3, 1)), q.YESTERDAY, "02/28/2100"),
    (q.on(date(2015, 3, 1), "long"), q.YESTERDAY, "02/28/2015"),
    (q.at_time(datetime(1992, 5, 6, 23, 0)), q.hours(24), "05/07/1992"),
    (q.at_time(datetime(1992, 5, 6, 21, 30)), q.hours(5), "05/07/1992"),  # past midnight
    (q.at_time(datetime(1992, 5, 6, 21, 30)), q.hours(-22), "05/05/1992"),
    (q.birthday("Jane", date(2001, 2, 28), 16), q.YESTERDAY, "02/27/2017"),
    (q.birthday("Jane", date(2000, 2, 29), 1), q.TODAY, "02/28/2001"),
    (q.anniversary("Jane and John", date(1958, 1, 2), 5), q.TODAY, "01/02/1963"),
    (q.first_monday(2019), q.TODAY, "01/07/2019"),  # Jan 1, 2019 was a Tuesday
    (q.thanksgiving(2001), q.TODAY, "11/22/2001"),  # Nov 1, 2001 was a Thursday
    (q.last_day_of_february(1900), q.TODAY, "02/28/1900"),
    (q.last_day_of_february(2000), q.TODAY, "02/29/2000"),
    (q.anchored(date(2021, 4, 30), 1), q.TOMORROW, "05/02/2021"),  # yesterday was Apr 30
    (q.anchored(date(2019, 11, 12), -1), q.years(-1), "11/11/2018"),  # tomorrow is Nov 12
    (q.anchored(date(1943, 6, 1), 3), q.TODAY, "06/04/1943"),
    (q.anchored(date(1961, 4, 29), -4), q.days(-3), "04/22/1961"),
    (q.on(date(1992, 5, 6), "day_first"), q.months(-1), "04/06/1992"),
]


def run_in_process(program: str) -> object:
    # our own reference programs: trusted, so a plain exec is fine here
    namespace: dict = {}
    exec(program, namespace)
    return namespace["answer"]


@pytest.mark.parametrize(("context", "query", "answer"), HAND_COMPUTED)
def test_hand_computed_answers(context: q.Context, query: q.Query, answer: str) -> None:
    task = make_task("hand", context, query)
    assert task.answer == answer
    assert run_in_process(task.program) == answer


def test_question_wording() -> None:
    task = make_task("holiday", q.holiday("Christmas Eve", 1937), q.days(-10))
    assert task.question == (
        "Today is Christmas Eve of 1937. What is the date 10 days ago in MM/DD/YYYY?"
    )
    assert make_task("x", q.on(date(1992, 5, 6)), q.weeks(-1)).question.endswith(
        "What is the date one week ago from today in MM/DD/YYYY?"
    )
    assert "a month ago" in make_task("x", q.on(date(1992, 5, 6)), q.months(-1)).question
    assert "24 hours later" in make_task("x", q.at_time(datetime(1992, 5, 6)), q.hours(24)).question


def test_date_styles() -> None:
    day = date(1992, 5, 6)
    rendered = {style: q.render(day, style) for style in q.DATE_STYLES}
    assert rendered == {
        "numeric": "05/06/1992",
        "long": "May 6, 1992",
        "iso": "1992-05-06",
        "day_first": "6 May 1992",
    }
    with pytest.raises(ValueError, match="unknown date style"):
        q.render(day, "roman")
    with pytest.raises(ValueError, match="YESTERDAY"):
        q.days(1)


def test_reference_program_spells_the_question() -> None:
    program = make_task("x", q.at_time(datetime(1992, 5, 6, 23, 0)), q.hours(24)).program
    assert "relativedelta(hours=24)" in program  # as asked, not normalised to days=1
    assert "from datetime import datetime" in program
    assert program.rstrip().endswith('answer = target.strftime("%m/%d/%Y")')


def test_every_generated_program_reproduces_its_answer() -> None:
    tasks = generate_tasks()
    assert len(tasks) > 1000
    for task in tasks:
        assert re.fullmatch(r"\d{2}/\d{2}/\d{4}", task.answer), task
        assert run_in_process(task.program) == task.answer, task.question


def test_families_and_deduplication() -> None:
    tasks = generate_tasks()
    counts = Counter(task.family for task in tasks)
    assert set(counts) == set(FAMILIES)
    assert all(count >= 80 for count in counts.values()), counts
    assert len({t.question for t in tasks}) == len(tasks)
    assert len({t.id for t in tasks}) == len(tasks)


def test_splits_are_disjoint_complete_and_pinned() -> None:
    splits = {split: load_tasks(split=split) for split in SPLITS}
    questions = [{t.question for t in tasks} for tasks in splits.values()]
    for i, first in enumerate(questions):
        for second in questions[i + 1 :]:
            assert not first & second
    assert sum(map(len, questions)) == len(load_tasks(split="all"))
    assert {split: len(tasks) for split, tasks in splits.items()} == PINNED_SIZES
    assert {split: fingerprint(tasks) for split, tasks in splits.items()} == PINNED
    assert all(t.split == split for split, tasks in splits.items() for t in tasks)


def test_generation_is_deterministic_across_hash_seeds() -> None:
    probe = (
        "from societygym.envs.programs.date.tasks import SPLITS, fingerprint, load_tasks;"
        "print([fingerprint(load_tasks(split=s)) for s in SPLITS])"
    )
    assert outputs_under_hash_seeds(probe) == {f"{[PINNED[s] for s in SPLITS]}\n"}


def test_a_larger_pool_keeps_the_smaller_one() -> None:
    small = {t.question for t in generate_tasks.__wrapped__(20)}
    assert small <= {t.question for t in generate_tasks()}


def test_split_of_is_stable() -> None:
    assert split_of("Today is Christmas Eve of 1937. What is the date 10 days ago in MM/DD/YYYY?")
    assert {split_of(f"question {i}") for i in range(200)} == set(SPLITS)


def test_bigbench_fixture_loads() -> None:
    tasks = load_bigbench(FIXTURE)
    raw = json.loads(FIXTURE.read_text())["examples"]
    assert len(raw) == 6 and len(tasks) == 5  # one duplicated question is dropped
    first = tasks[0]
    assert first.question.startswith("Today is the Lunar New Year's Eve of 2030")
    assert first.answer == "02/02/2030"
    assert tasks[1].answer == "03/05/1973"  # "3/5/1973" zero-padded
    assert all(t.family == "bigbench" and t.program is None for t in tasks)
    everything = load_tasks(FIXTURE, split="all")
    assert [t.id for t in everything] == [t.id for t in tasks]
    by_split = [t.id for split in SPLITS for t in load_tasks(FIXTURE, split=split)]
    assert sorted(by_split) == sorted(t.id for t in tasks)


def test_bigbench_loader_errors(tmp_path: Path) -> None:
    two_right = {"examples": [{"input": "Q?", "target_scores": {"01/01/2000": 1, "01/02/2000": 1}}]}
    path = tmp_path / "task.json"
    path.write_text(json.dumps(two_right))
    with pytest.raises(ValueError, match="2 options scored 1"):
        load_bigbench(path)
    path.write_text(json.dumps({"name": "no examples"}))
    with pytest.raises(ValueError, match="no 'examples' list"):
        load_bigbench(path)
    with pytest.raises(ValueError):
        normalize_date("May 6, 1992")
    with pytest.raises(ValueError, match="unknown split"):
        load_tasks(split="validation")
    with pytest.raises(ValueError, match="unknown source"):
        load_tasks("somewhere.csv")
