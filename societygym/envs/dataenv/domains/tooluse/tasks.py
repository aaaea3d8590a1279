"""Generated tool-use tasks: a request, its gold plan, and the gold result.

One generator per skill. Each writes the request in words, the plan an expert would run,
and the result computed *without* the tools (straight from datetime, the fact tables, the
scene's object list), so that "the gold plan executes to the gold result" is a real check
of the tools and the plans rather than a tautology.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from societygym.envs.dataenv.domains.tooluse.plans import Step

SKILLS = (
    "arithmetic",
    "units",
    "dates",
    "date_span",
    "text",
    "geography",
    "chemistry",
    "us_states",
    "images",
)
DESCRIPTIONS = {
    "arithmetic": "one calculator call on a stated expression",
    "units": "one unit conversion (length, mass, time, temperature)",
    "dates": "date arithmetic, optionally followed by the weekday",
    "date_span": "days between two dates, converted to weeks or hours",
    "text": "string operations (reverse, capitals, word counts), sometimes chained",
    "geography": "country capital or continent lookups, sometimes post-processed",
    "chemistry": "element lookups (symbol, atomic number), sums of atomic numbers",
    "us_states": "U.S. state capital or abbreviation lookups, sometimes post-processed",
    "images": "counting objects or listing colours in a rendered scene image",
}
WORDS = (  # noqa: SIM905 - a word list
    "blue moon river stone silver cloud quiet forest bright lamp paper boat golden field "
    "winter song red kite open door"
).split()
UNIT_NAMES = {
    "mm": "millimeters",
    "cm": "centimeters",
    "m": "meters",
    "km": "kilometers",
    "in": "inches",
    "ft": "feet",
    "mi": "miles",
    "g": "grams",
    "kg": "kilograms",
    "oz": "ounces",
    "lb": "pounds",
    "s": "seconds",
    "min": "minutes",
    "h": "hours",
    "day": "days",
    "week": "weeks",
}
DIMENSIONS = (
    ("mm", "cm", "m", "km", "in", "ft", "mi"),
    ("g", "kg", "oz", "lb"),
    ("s", "min", "h", "day", "week"),
)
# conversion factors to metre / gram / second, written out independently of tools.UNITS
FACTORS = {
    "mm": 1e-3,
    "cm": 1e-2,
    "m": 1,
    "km": 1e3,
    "in": 0.0254,
    "ft": 0.3048,
    "mi": 1609.344,
    "g": 1,
    "kg": 1e3,
    "oz": 28.349523125,
    "lb": 453.59237,
    "s": 1,
    "min": 60,
    "h": 3600,
    "day": 86400,
    "week": 604800,
}


@dataclass(frozen=True)
class Task:
    request: str
    plan: tuple[Step, ...]
    result: Any
    skill: str


def step(tool: str, **args: Any) -> Step:
    return Step(tool, tuple(sorted(args.items())))


def ref(index: int, output: str) -> str:
    return f"<node-{index}>.{output}"


def _round(x: float) -> float | int:
    value = round(x, 6)
    return int(value) if float(value).is_integer() else value


def _day(rng: random.Random) -> dt.date:
    return dt.date(2000, 1, 1) + dt.timedelta(days=rng.randint(0, 365 * 40))


def _phrase(rng: random.Random) -> str:
    return " ".join(rng.sample(WORDS, rng.randint(2, 4)))


def arithmetic(rng: random.Random) -> Task:
    a, b, c = rng.randint(2, 99), rng.randint(2, 99), rng.randint(2, 12)
    form = rng.randrange(3)
    if form == 0:
        text, expression, value = f"What is ({a} + {b}) * {c}?", f"({a} + {b}) * {c}", (a + b) * c
    elif form == 1:
        text, expression, value = f"Compute {a} * {c} - {b}.", f"{a} * {c} - {b}", a * c - b
    else:
        text, expression, value = (
            f"What is {c} to the power 3 plus {a}?",
            f"{c} ** 3 + {a}",
            c**3 + a,
        )
    return Task(text, (step("calculator", expression=expression),), value, "arithmetic")


def units(rng: random.Random) -> Task:
    if rng.random() < 0.25:
        value = rng.randint(-40, 120)
        a, b = rng.sample(("C", "F", "K"), 2)
        names = {"C": "degrees Celsius", "F": "degrees Fahrenheit", "K": "kelvin"}
        celsius = {"C": value, "F": (value - 32) * 5 / 9, "K": value - 273.15}[a]
        result = {"C": celsius, "F": celsius * 9 / 5 + 32, "K": celsius + 273.15}[b]
        text = f"What is {value} {names[a]} in {names[b]}?"
    else:
        a, b = rng.sample(rng.choice(DIMENSIONS), 2)
        value = rng.randint(1, 500)
        result = value * FACTORS[a] / FACTORS[b]
        text = f"Convert {value} {UNIT_NAMES[a]} to {UNIT_NAMES[b]}."
    plan = (step("convert_units", value=value, from_unit=a, to_unit=b),)
    return Task(text, plan, _round(result), "units")


def dates(rng: random.Random) -> Task:
    start, days = _day(rng), rng.randint(1, 400)
    end = start + dt.timedelta(days=days)
    first = step("date_add", date=start.isoformat(), days=days)
    if rng.random() < 0.5:
        text = f"What date is {days} days after {start.isoformat()}?"
        return Task(text, (first,), end.isoformat(), "dates")
    text = f"What day of the week is it {days} days after {start.isoformat()}?"
    weekday = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    plan = (first, step("weekday", date=ref(0, "date")))
    return Task(text, plan, weekday[end.weekday()], "dates")


def date_span(rng: random.Random) -> Task:
    start = _day(rng)
    end = start + dt.timedelta(days=rng.randint(1, 900))
    unit, name, per_day = rng.choice((("week", "weeks", 1 / 7), ("h", "hours", 24)))
    days = (end - start).days
    text = f"How many {name} are there from {start.isoformat()} to {end.isoformat()}?"
    plan = (
        step("days_between", start=start.isoformat(), end=end.isoformat()),
        step("convert_units", value=ref(0, "days"), from_unit="day", to_unit=unit),
    )
    return Task(text, plan, _round(days * per_day), "date_span")


def text(rng: random.Random) -> Task:
    phrase = _phrase(rng)
    form = rng.randrange(3)
    if form == 0:
        request = f"Write '{phrase}' backwards in capital letters."
        plan = (step("text_reverse", text=phrase), step("text_upper", text=ref(0, "text")))
        return Task(request, plan, phrase[::-1].upper(), "text")
    if form == 1:
        request = f"How many words are in '{phrase}'?"
        return Task(request, (step("count_words", text=phrase),), len(phrase.split()), "text")
    request = f"Write '{phrase}' backwards."
    return Task(request, (step("text_reverse", text=phrase),), phrase[::-1], "text")


def _countries() -> list[Any]:
    from societygym.envs.trivia.data import _countries as table

    return [c for c in table() if c.capitals and c.continent and c.name.isascii()]


def geography(rng: random.Random) -> Task:
    country = rng.choice(_countries())
    form = rng.randrange(3)
    if form == 0:
        request = f"On which continent is {country.name}?"
        return Task(
            request,
            (step("country_continent", country=country.name),),
            country.continent,
            "geography",
        )
    first = step("country_capital", country=country.name)
    if form == 1:
        request = f"What is the capital of {country.name}?"
        return Task(request, (first,), country.capitals[0], "geography")
    request = f"What is the capital of {country.name}, in capital letters?"
    plan = (first, step("text_upper", text=ref(0, "text")))
    return Task(request, plan, country.capitals[0].upper(), "geography")


def _elements() -> list[Any]:
    import periodictable

    return [e for e in periodictable.elements if e.number > 0]


def chemistry(rng: random.Random) -> Task:
    elements = _elements()
    if rng.random() < 0.4:
        e = rng.choice(elements)
        return Task(
            f"What is the chemical symbol of {e.name}?",
            (step("element_symbol", element=e.name),),
            e.symbol,
            "chemistry",
        )
    a, b = rng.sample(elements, 2)
    request = f"What is the sum of the atomic numbers of {a.name} and {b.name}?"
    plan = (
        step("element_atomic_number", element=a.name),
        step("element_atomic_number", element=b.name),
        step("add", a=ref(0, "number"), b=ref(1, "number")),
    )
    return Task(request, plan, a.number + b.number, "chemistry")


def us_states(rng: random.Random) -> Task:
    import us

    state = rng.choice(sorted(us.states.STATES, key=lambda s: s.name))
    form = rng.randrange(3)
    if form == 0:
        return Task(
            f"What is the postal abbreviation of {state.name}?",
            (step("state_abbreviation", state=state.name),),
            state.abbr,
            "us_states",
        )
    first = step("state_capital", state=state.name)
    if form == 1:
        return Task(f"What is the capital of {state.name}?", (first,), state.capital, "us_states")
    request = f"What is the capital of {state.name} spelled backwards?"
    plan = (first, step("text_reverse", text=ref(0, "text")))
    return Task(request, plan, state.capital[::-1], "us_states")


def images(rng: random.Random) -> Task:
    from societygym.envs.dataenv.domains.tooluse.tools import scene_of
    from societygym.envs.dataenv.domains.vqa import scenes

    image = f"scene-{rng.randint(0, 10**9 - 1)}.png"
    objects = scene_of(image).objects
    form = rng.randrange(3)
    if form == 0:
        request = f"Which colours appear in the image {image}?"
        colors = ", ".join(sorted({o.color for o in objects}))
        return Task(request, (step("list_colors", image=image),), colors, "images")
    color = rng.choice([o.color for o in objects] + list(scenes.COLORS)[:4])
    count = sum(o.color == color for o in objects)
    first = step("count_objects", image=image, color=color)
    if form == 1:
        return Task(
            f"How many {color} objects are in the image {image}?", (first,), count, "images"
        )
    k = rng.randint(2, 9)
    request = f"How many {color} objects are in the image {image}, multiplied by {k}?"
    plan = (first, step("multiply", a=ref(0, "count"), b=k))
    return Task(request, plan, count * k, "images")


GENERATORS: dict[str, Callable[[random.Random], Task]] = {
    "arithmetic": arithmetic,
    "units": units,
    "dates": dates,
    "date_span": date_span,
    "text": text,
    "geography": geography,
    "chemistry": chemistry,
    "us_states": us_states,
    "images": images,
}


def sample(skill: str, rng: random.Random) -> Task:
    if skill not in GENERATORS:
        raise ValueError(f"unknown tool-use skill {skill!r}; expected one of {SKILLS}")
    return GENERATORS[skill](rng)
