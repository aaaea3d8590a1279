"""Building blocks of date word problems: a *context* fixes today, a *query* asks for a date.

Each block carries three renderings of the same fact — English for the question, Python for
the reference program, and the value itself — so a question, its exact answer and a program
that computes it are assembled together and cannot drift apart.

Calendar convention (dateutil's ``relativedelta``, as in ReGAL's programs): adding months or
years keeps the day of the month and clips it to the last day of the target month, so
Jan 31 + 1 month = Feb 28 (Feb 29 in a leap year), Mar 31 - 1 month = Feb 28/29 and
Feb 29 +/- 1 year = Feb 28. A birthday of someone born on Feb 29 falls on Feb 28 in common years.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from dateutil.relativedelta import MO, TH, relativedelta

ANSWER_FORMAT = "%m/%d/%Y"
DATE_STYLES = ("numeric", "long", "iso", "day_first")


def render(day: date, style: str) -> str:
    """A date in one of ``DATE_STYLES``: 05/06/1992, May 6, 1992, 1992-05-06, 6 May 1992."""
    if style == "numeric":
        return day.strftime(ANSWER_FORMAT)
    if style == "long":
        return f"{day:%B} {day.day}, {day.year}"
    if style == "iso":
        return day.strftime("%Y-%m-%d")
    if style == "day_first":
        return f"{day.day} {day:%B} {day.year}"
    raise ValueError(f"unknown date style {style!r}; choose one of {DATE_STYLES}")


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def date_code(day: date) -> str:
    return f"date({day.year}, {day.month}, {day.day})"


@dataclass(frozen=True)
class Context:
    """A sentence that fixes today; ``code`` assigns it to ``today`` in the program."""

    sentence: str
    code: str
    today: date | datetime
    names: tuple[str, ...] = ()  # extra names the code imports from dateutil.relativedelta
    # the date the sentence names when today is computed from it (a birth date); else today
    origin: date | None = None


@dataclass(frozen=True)
class Query:
    """What is asked: ``today`` moved by ``amount`` ``unit`` (a ``relativedelta`` keyword)."""

    phrase: str  # completes "What is the date …"
    unit: str = "days"
    amount: int = 0

    @property
    def delta(self) -> relativedelta:
        return relativedelta(**{self.unit: self.amount})

    @property
    def code(self) -> str:
        # spelled as asked ("hours=24", not relativedelta's normalised "days=1")
        if not self.amount:
            return "today"
        sign = "-" if self.amount < 0 else "+"
        return f"today {sign} relativedelta({self.unit}={abs(self.amount)})"


# --- contexts ---------------------------------------------------------------------------


def on(day: date, style: str = "numeric") -> Context:
    return Context(f"Today is {render(day, style)}.", f"today = {date_code(day)}", day)


def at_time(moment: datetime, style: str = "numeric") -> Context:
    clock = f"{(moment.hour - 1) % 12 + 1}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"
    fields = (moment.year, moment.month, moment.day, moment.hour, moment.minute)
    code = f"today = datetime({', '.join(map(str, fields))})"
    return Context(f"It is {clock} on {render(moment.date(), style)}.", code, moment)


FIXED_HOLIDAYS = {
    "New Year's Day": (1, 1),
    "Valentine's Day": (2, 14),
    "St. Patrick's Day": (3, 17),
    "the US Independence Day": (7, 4),
    "Halloween": (10, 31),
    "Christmas Eve": (12, 24),
    "Christmas Day": (12, 25),
    "New Year's Eve": (12, 31),
}


def holiday(name: str, year: int) -> Context:
    """A fixed-date holiday, e.g. "Today is Christmas Eve of 1937."."""
    month, day = FIXED_HOLIDAYS[name]
    today = date(year, month, day)
    return Context(f"Today is {name} of {year}.", f"today = {date_code(today)}  # {name}", today)


def first_monday(year: int) -> Context:
    today = date(year, 1, 1) + relativedelta(weekday=MO(1))
    code = f"today = date({year}, 1, 1) + relativedelta(weekday=MO(1))"
    return Context(f"Today is the first Monday of {year}.", code, today, ("MO",))


def thanksgiving(year: int) -> Context:
    """US Thanksgiving: the fourth Thursday of November."""
    today = date(year, 11, 1) + relativedelta(weekday=TH(4))
    code = f"today = date({year}, 11, 1) + relativedelta(weekday=TH(4))"
    sentence = f"Today is Thanksgiving of {year} in the US (the fourth Thursday of November)."
    return Context(sentence, code, today, ("TH",))


def last_day_of_february(year: int) -> Context:
    # relativedelta(day=31) clips to the month's last day: the leap-year rule, done by dateutil
    today = date(year, 2, 1) + relativedelta(day=31)
    code = f"today = date({year}, 2, 1) + relativedelta(day=31)"
    return Context(f"Today is the last day of February in {year}.", code, today)


def anchored(day: date, days_ago: int, style: str = "numeric") -> Context:
    """Today defined from another day: "Yesterday was …", "Tomorrow is …", "… was 3 days ago"."""
    text = render(day, style)
    if days_ago == 1:
        sentence = f"Yesterday was {text}."
    elif days_ago == -1:
        sentence = f"Tomorrow is {text}."
    elif days_ago > 0:
        sentence = f"The concert planned for {text} was put off by {days_ago} days to today."
    else:
        sentence = f"The deadline is {text}, which is {-days_ago} days from today."
    sign = "+" if days_ago > 0 else "-"
    code = f"today = {date_code(day)} {sign} relativedelta(days={abs(days_ago)})"
    return Context(sentence, code, day + relativedelta(days=days_ago), origin=day)


def birthday(name: str, born: date, age: int, style: str = "numeric") -> Context:
    sentence = f"{name} was born on {render(born, style)}. Today is their {ordinal(age)} birthday."
    code = f"today = {date_code(born)} + relativedelta(years={age})  # birth date + age"
    return Context(sentence, code, born + relativedelta(years=age), origin=born)


def anniversary(couple: str, married: date, years: int, style: str = "numeric") -> Context:
    sentence = (
        f"{couple} married on {render(married, style)}. "
        f"Today is their {years}-year wedding anniversary."
    )
    code = f"today = {date_code(married)} + relativedelta(years={years})  # wedding + years"
    return Context(sentence, code, married + relativedelta(years=years), origin=married)


# --- queries ----------------------------------------------------------------------------

TODAY = Query("today")
YESTERDAY = Query("yesterday", "days", -1)
TOMORROW = Query("tomorrow", "days", 1)


def _count_phrase(n: int, unit: str) -> str:
    amount = f"one {unit}" if abs(n) == 1 else f"{abs(n)} {unit}s"
    return f"{amount} ago" if n < 0 else f"{amount} from today"


def days(n: int) -> Query:
    if abs(n) < 2:
        raise ValueError("use YESTERDAY / TOMORROW / TODAY for offsets of at most one day")
    return Query(_count_phrase(n, "day"), "days", n)


def weeks(n: int) -> Query:
    # BIG-Bench's wording for the most common case
    phrase = "one week ago from today" if n == -1 else _count_phrase(n, "week")
    return Query(phrase, "weeks", n)


def months(n: int) -> Query:
    phrase = "a month ago" if n == -1 else _count_phrase(n, "month")
    return Query(phrase, "months", n)


def years(n: int) -> Query:
    phrase = "one year ago from today" if n == -1 else _count_phrase(n, "year")
    return Query(phrase, "years", n)


def hours(n: int) -> Query:
    phrase = f"{n} hours later" if n > 0 else f"{-n} hours ago"
    return Query(phrase, "hours", n)


# --- assembling -------------------------------------------------------------------------


def question_text(context: Context, query: Query) -> str:
    return f"{context.sentence} What is the date {query.phrase} in MM/DD/YYYY?"


def answer_of(context: Context, query: Query) -> str:
    return (context.today + query.delta).strftime(ANSWER_FORMAT)


def span_days(context: Context, query: Query) -> int:
    """How far the question's arithmetic reaches: days from the date it names (or today)
    to the answer."""
    start = context.origin or context.today
    start = start.date() if isinstance(start, datetime) else start
    target = context.today + query.delta
    target = target.date() if isinstance(target, datetime) else target
    return abs((target - start).days)


def reference_program(context: Context, query: Query) -> str:
    """A program in ReGAL's style: imports, today, the target, ``answer`` as MM/DD/YYYY."""
    kind = "datetime" if isinstance(context.today, datetime) else "date"
    names = ", ".join((*sorted(context.names), "relativedelta"))
    return "\n".join(
        (
            f"from datetime import {kind}",
            "",
            f"from dateutil.relativedelta import {names}",
            "",
            f"# {context.sentence}",
            context.code,
            f"# What is the date {query.phrase}?",
            f"target = {query.code}",
            f'answer = target.strftime("{ANSWER_FORMAT}")',
            "",
        )
    )
