"""Date-reasoning tasks: generated families with exact answers, splits, BIG-Bench/ReGAL loaders.

Generated tasks follow the question families of BIG-Bench ``date_understanding`` (as used by
Faithful-CoT and ReGAL) and add the edge cases those questions rarely probe: date formats,
month ends, leap years, hours that cross midnight. Every generated task carries a reference
program, so tasks double as demonstrations.

Splits are assigned by a hash of the question text, after removing duplicate questions, so a
question can never sit in two splits (ReGAL's shipped Date data had 6 test questions in train
and 21 in dev). ``fingerprint`` pins the content of a split.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache, partial
from pathlib import Path

from dateutil.relativedelta import relativedelta

from societygym.envs.programs.date import questions as q
from societygym.envs.programs.jsonl import numbered_rows

SPLIT_PERCENT = {"train": 40, "dev": 20, "test": 40}
SPLITS = tuple(SPLIT_PERCENT)
DEFAULT_PER_FAMILY = 100
NAMES = ("Jane", "John", "Priya", "Mateo", "Aiko", "Kwame", "Olga", "Sam")
COUPLES = ("Jane and John", "Priya and Sam", "Aiko and Mateo", "Olga and Kwame")


@dataclass(frozen=True)
class DateTask:
    id: str
    family: str
    question: str
    answer: str  # MM/DD/YYYY
    program: str | None  # reference program; None for loaded data
    source: str = "generated"
    span_days: int | None = None  # how far the arithmetic reaches (``questions.span_days``)

    @property
    def split(self) -> str:
        return split_of(self.question)


def _digest(question: str) -> str:
    return hashlib.sha256(question.encode("utf-8")).hexdigest()


def split_of(question: str) -> str:
    """The split of a question: a stable hash of its text, bucketed by ``SPLIT_PERCENT``."""
    bucket = int(_digest(question)[:8], 16) % 100
    for split, share in SPLIT_PERCENT.items():
        if bucket < share:
            return split
        bucket -= share
    raise AssertionError("SPLIT_PERCENT must add up to 100")


def make_task(family: str, context: q.Context, query: q.Query) -> DateTask:
    question = q.question_text(context, query)
    return DateTask(
        id=f"date-{_digest(question)[:12]}",
        family=family,
        question=question,
        answer=q.answer_of(context, query),
        program=q.reference_program(context, query),
        span_days=q.span_days(context, query),
    )


# --- families: each draws (context, query) from its own random.Random ----------------------


def _day(rng: random.Random, first_year: int = 1900, last_year: int = 2030) -> date:
    first, last = date(first_year, 1, 1).toordinal(), date(last_year, 12, 31).toordinal()
    return date.fromordinal(rng.randint(first, last))


def _style(rng: random.Random) -> str:
    return rng.choice(q.DATE_STYLES)


def _signed(rng: random.Random, low: int, high: int) -> int:
    return rng.choice((-1, 1)) * rng.randint(low, high)


def _format(rng: random.Random) -> tuple[q.Context, q.Query]:
    # today given in a non-answer format: the task is the conversion itself
    return q.on(_day(rng), rng.choice(q.DATE_STYLES[1:])), q.TODAY


def _yesterday_tomorrow(rng: random.Random) -> tuple[q.Context, q.Query]:
    return q.on(_day(rng), _style(rng)), rng.choice((q.YESTERDAY, q.TOMORROW))


def _relative_days(rng: random.Random) -> tuple[q.Context, q.Query]:
    return q.on(_day(rng), _style(rng)), q.days(_signed(rng, 2, 60))


def _relative_weeks(rng: random.Random) -> tuple[q.Context, q.Query]:
    return q.on(_day(rng), _style(rng)), q.weeks(_signed(rng, 1, 4))


def _relative_months(rng: random.Random) -> tuple[q.Context, q.Query]:
    return q.on(_day(rng), _style(rng)), q.months(_signed(rng, 1, 12))


def _relative_years(rng: random.Random) -> tuple[q.Context, q.Query]:
    return q.on(_day(rng), _style(rng)), q.years(_signed(rng, 1, 10))


def _hours(rng: random.Random) -> tuple[q.Context, q.Query]:
    day = _day(rng)
    moment = datetime(day.year, day.month, day.day, rng.randrange(24), rng.choice((0, 15, 30, 45)))
    n = rng.choice((24, 24, 12, 36, 48, rng.randint(1, 23)))
    return q.at_time(moment, _style(rng)), q.hours(rng.choice((-1, 1)) * n)


def _small_query(rng: random.Random) -> q.Query:
    return rng.choice(
        (
            q.TODAY,
            q.YESTERDAY,
            q.TOMORROW,
            q.weeks(-1),
            q.weeks(1),
            q.months(-1),
            q.years(-1),
            q.days(_signed(rng, 2, 10)),
        )
    )


def _anniversary(rng: random.Random) -> tuple[q.Context, q.Query]:
    start = _day(rng, 1900, 2000)
    if rng.random() < 0.5:
        context = q.birthday(rng.choice(NAMES), start, rng.randint(1, 90), _style(rng))
    else:
        context = q.anniversary(rng.choice(COUPLES), start, rng.randint(1, 60), _style(rng))
    return context, _small_query(rng)


# each makes today's context from a year
HOLIDAYS: tuple[Callable[[int], q.Context], ...] = (
    *(partial(q.holiday, name) for name in sorted(q.FIXED_HOLIDAYS)),
    q.first_monday,
    q.thanksgiving,
    q.last_day_of_february,
)


def _holiday(rng: random.Random) -> tuple[q.Context, q.Query]:
    year = rng.randint(1900, 2030)
    return rng.choice(HOLIDAYS)(year), _small_query(rng)


def _anchored(rng: random.Random) -> tuple[q.Context, q.Query]:
    days_ago = rng.choice((1, -1, _signed(rng, 2, 10)))
    return q.anchored(_day(rng), days_ago, _style(rng)), _small_query(rng)


def _month_end(rng: random.Random) -> tuple[q.Context, q.Query]:
    year, month = rng.randint(1900, 2030), rng.randint(1, 12)
    last = date(year, month, 1) + relativedelta(day=31)
    today = last - relativedelta(days=rng.choice((0, 0, 1, 2)))
    return q.on(today, _style(rng)), q.months(_signed(rng, 1, 3))


LEAP_CENTURIES = (1900, 2000, 2100)


def _leap_year(rng: random.Random) -> tuple[q.Context, q.Query]:
    year = rng.choice((*LEAP_CENTURIES, 4 * rng.randint(476, 507), rng.randint(1900, 2030)))
    feb_end = date(year, 2, 1) + relativedelta(day=31)
    today = rng.choice((feb_end - relativedelta(days=1), feb_end, feb_end + relativedelta(days=1)))
    query = rng.choice(
        (q.YESTERDAY, q.TOMORROW, q.years(-1), q.years(1), q.years(4), q.months(1), q.weeks(1))
    )
    return q.on(today, _style(rng)), query


FAMILIES: dict[str, Callable[[random.Random], tuple[q.Context, q.Query]]] = {
    "format": _format,
    "yesterday_tomorrow": _yesterday_tomorrow,
    "relative_days": _relative_days,
    "relative_weeks": _relative_weeks,
    "relative_months": _relative_months,
    "relative_years": _relative_years,
    "hours": _hours,
    "anniversary": _anniversary,
    "holiday": _holiday,
    "anchored": _anchored,
    "month_end": _month_end,
    "leap_year": _leap_year,
}


# --- difficulty: the distance of the date arithmetic ------------------------------------------

# (description, shortest span, longest span) in days, easiest first
SPAN_LEVELS: tuple[tuple[str, int, int], ...] = (
    ("the answer is at most one day away: formats, today, yesterday, tomorrow, hours", 0, 1),
    ("2 to 31 days away: days, weeks, a month back or forth", 2, 31),
    ("32 days to a year away: months and years", 32, 366),
    ("more than a year away: years, birthdays and anniversaries", 367, 10**6),
)
DIFFICULTY_LEVELS = tuple(text for text, _, _ in SPAN_LEVELS)


def select(
    tasks: Iterable[DateTask], families: tuple[str, ...] | None, level: int | None
) -> list[DateTask]:
    """The tasks of ``families`` (None: all) whose arithmetic spans level ``level``'s
    distance (None: any)."""
    low, high = SPAN_LEVELS[level - 1][1:] if level is not None else (0, None)
    return [
        t
        for t in tasks
        if (families is None or t.family in families)
        and (high is None or (t.span_days is not None and low <= t.span_days <= high))
    ]


def dedupe(tasks: Iterable[DateTask]) -> list[DateTask]:
    """Drop repeated questions, keeping the first (a question asked twice is one task)."""
    seen: set[str] = set()
    unique = []
    for task in tasks:
        if task.question not in seen:
            seen.add(task.question)
            unique.append(task)
    return unique


@lru_cache(maxsize=4)
def generate_tasks(per_family: int = DEFAULT_PER_FAMILY) -> tuple[DateTask, ...]:
    """``per_family`` draws of every family, deduplicated; draw ``i`` of a family is seeded by
    ``(family, i)`` alone, so enlarging the pool keeps the earlier tasks."""
    drawn = (
        make_task(family, *draw(random.Random(f"date/{family}/{i}")))
        for family, draw in FAMILIES.items()
        for i in range(per_family)
    )
    return tuple(dedupe(drawn))


# --- BIG-Bench date_understanding -------------------------------------------------------------


def normalize_date(text: str) -> str:
    """``3/5/1973`` → ``03/05/1973``; raises ValueError for anything that is not M/D/YYYY."""
    return datetime.strptime(text.strip(), q.ANSWER_FORMAT).strftime(q.ANSWER_FORMAT)


def load_bigbench(path: str | Path) -> list[DateTask]:
    """Tasks from a BIG-Bench ``date_understanding`` ``task.json`` (``examples`` with ``input``
    and ``target_scores``); the option scored 1 becomes the MM/DD/YYYY answer."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    examples = data.get("examples") if isinstance(data, dict) else None
    if not isinstance(examples, list):
        raise ValueError(f"{path}: not a BIG-Bench task.json (no 'examples' list)")
    tasks = []
    for n, example in enumerate(examples):
        correct = [option for option, score in example["target_scores"].items() if score == 1]
        if len(correct) != 1:
            raise ValueError(f"{path}: example {n} has {len(correct)} options scored 1, not 1")
        question = example["input"].strip()
        tasks.append(
            DateTask(
                id=f"bigbench-{_digest(question)[:12]}",
                family="bigbench",
                question=question,
                answer=normalize_date(correct[0]),
                program=None,
                source="bigbench",
            )
        )
    return dedupe(tasks)


# --- ReGAL's Date files ------------------------------------------------------------------------

GOLD_PREFIX = "#### "  # Faithful-CoT's answer format, kept in ReGAL's files


def load_regal_jsonl(path: str | Path) -> list[DateTask]:
    """Tasks from ReGAL's Date files (``python_data/date/*/{train_data,dev,test}.jsonl``):
    ``{"id", "question", "answer": "#### MM/DD/YYYY"}`` per line; a ``program`` or
    ``completion`` field, where present, becomes the task's reference program.

    ReGAL's files repeat questions (dev: 113 rows, 103 questions); the first row of each is
    kept, and the task id ``regal-<id>`` keeps ReGAL's. A file is one split: the tasks keep
    their hash-based ``split`` for reference, but ``load_tasks`` returns them all.
    """
    path = Path(path)
    tasks = []
    for number, row in numbered_rows(path):
        question, answer = row.get("question"), row.get("answer")
        if not isinstance(question, str) or not isinstance(answer, str):
            raise ValueError(
                f"{path}:{number}: expected 'question' and 'answer' (ReGAL's train_outputs "
                "rows carry no question: load train_data.jsonl, dev.jsonl or test.jsonl)"
            )
        try:
            gold = normalize_date(answer.strip().removeprefix(GOLD_PREFIX.strip()))
        except ValueError:
            raise ValueError(f"{path}:{number}: answer {answer!r} is not MM/DD/YYYY") from None
        program = row.get("program", row.get("completion"))
        tasks.append(
            DateTask(
                id=f"regal-{row.get('id', number)}",
                family="regal",
                question=question.strip(),
                answer=gold,
                program=program if isinstance(program, str) else None,
                source=f"regal:{path.name}",
            )
        )
    return dedupe(tasks)


def load_tasks(
    source: str | Path = "generated", split: str = "test", per_family: int = DEFAULT_PER_FAMILY
) -> list[DateTask]:
    """``source``: ``"generated"``, the path of a BIG-Bench ``task.json`` or of a ReGAL Date
    ``.jsonl`` (one split already: all its tasks, whatever ``split``); ``split``: one of
    ``SPLITS`` or ``"all"``."""
    if split not in (*SPLITS, "all"):
        raise ValueError(f"unknown split {split!r}; choose one of {(*SPLITS, 'all')}")
    if str(source).endswith(".jsonl"):
        return load_regal_jsonl(source)
    if str(source) == "generated":
        tasks: Iterable[DateTask] = generate_tasks(per_family)
    elif str(source).endswith(".json"):
        tasks = load_bigbench(source)
    else:
        raise ValueError(
            f"unknown source {source!r}: use 'generated', a BIG-Bench task.json or a ReGAL .jsonl"
        )
    return [t for t in tasks if split == "all" or t.split == split]


def fingerprint(tasks: Iterable[DateTask]) -> str:
    """A short hash of tasks' ids, questions and answers, in order."""
    lines = "\n".join(f"{t.id}\t{t.question}\t{t.answer}" for t in tasks)
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()[:16]
