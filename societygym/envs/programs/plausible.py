"""Plausible random actions for the program envs (the ``random-valid`` agent): a random valid
TextCraft command, a random crafting program, a random date program, a random turtle drawing.

They are built from what the observation shows (the crafting commands, the dates in the
question) and the DSLs' own calls, so they run without error; they are right only by luck.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

RECIPE = re.compile(r"^craft (\d+) (.+?) using (.+)$")
DATE = re.compile(r"\b(\d{2})/(\d{2})/(\d{4})\b")


def _pick(rng: np.random.Generator, options: Sequence[Any]) -> Any:
    return options[int(rng.integers(len(options)))]


def _text(observation: Any) -> str:
    return observation["text"] if isinstance(observation, Mapping) else str(observation)


# --- TextCraft ------------------------------------------------------------------------------


def _recipes(observation: Any) -> list[tuple[str, list[str]]]:
    """``(output "N item", ["N ingredient", ...])`` of each crafting command shown."""
    recipes = []
    for line in _text(observation).splitlines():
        match = RECIPE.match(line.strip())
        if match:
            count, item, ingredients = match.groups()
            recipes.append((f"{count} {item}", [i.strip() for i in ingredients.split(",")]))
    return recipes


def _raw_ingredients(recipes: list[tuple[str, list[str]]]) -> list[str]:
    """Ingredients no shown recipe makes (``"N item"``), the ones ``get`` can fetch."""
    made = {output.split(" ", 1)[1] for output, _ in recipes}
    raw = {i for _, ingredients in recipes for i in ingredients}
    return sorted(i for i in raw if i.split(" ", 1)[1] not in made)


def sample_textcraft_command(
    observations: Sequence[Any], info: Mapping[str, Any], rng: np.random.Generator
) -> str:
    """``get`` a raw ingredient, a shown ``craft`` command, or ``inventory``."""
    recipes = _recipes(observations[0]) if observations else []
    gets = [f"get {i}" for i in _raw_ingredients(recipes)]
    crafts = [f"craft {out} using {', '.join(ins)}" for out, ins in recipes]
    kinds = [k for k in (gets, crafts) if k]
    if not kinds or rng.random() < 0.1:
        return "inventory"
    return _pick(rng, _pick(rng, kinds))


def sample_textcraft_program(
    observations: Sequence[Any], info: Mapping[str, Any], rng: np.random.Generator
) -> str:
    """One to eight random ``get_object`` / ``craft_object`` calls over the shown recipes,
    then ``check_inventory()``."""
    recipes = _recipes(observations[0]) if observations else []
    calls = [f"get_object({i!r})" for i in _raw_ingredients(recipes)]
    calls += [f"craft_object({out!r}, {ins!r})" for out, ins in recipes]
    lines = [_pick(rng, calls) for _ in range(int(rng.integers(1, 9)))] if calls else []
    return "\n".join([*lines, "check_inventory()"])


# --- Date -----------------------------------------------------------------------------------

UNITS = ("days", "weeks", "months", "years")


def sample_date_program(
    observations: Sequence[Any], info: Mapping[str, Any], rng: np.random.Generator
) -> str:
    """A date from the question (else a random one) moved by a random number of days, weeks,
    months or years, stored in ``answer`` as MM/DD/YYYY."""
    dates = DATE.findall(_text(observations[-1])) if observations else []
    if dates:
        month, day, year = (int(x) for x in _pick(rng, dates))
    else:
        year, month, day = int(rng.integers(1900, 2100)), int(rng.integers(1, 13)), 1
    amount = int(rng.integers(-30, 31))
    return (
        "from datetime import date\n"
        "from dateutil.relativedelta import relativedelta\n"
        f"start = date({year}, {month}, {day})\n"
        f"answer = (start + relativedelta({_pick(rng, UNITS)}={amount})).strftime('%m/%d/%Y')\n"
    )


# --- LOGO -----------------------------------------------------------------------------------


def _logo_part(rng: np.random.Generator) -> str:
    size = int(rng.integers(2, 11))
    kind = int(rng.integers(5))
    if kind == 0:  # a line
        return f"forward({size})"
    if kind == 1:  # a turn
        return f"{_pick(rng, ('left', 'right'))}({int(rng.integers(1, 12)) * 30})"
    if kind == 2:  # a polygon
        sides = int(rng.integers(3, 10))
        return f"for i in range({sides}):\n    forward({size})\n    left({360 / sides:g})"
    if kind == 3:  # a semicircle or circle
        loop = _pick(rng, ("HALF_INF", "INF"))
        return f"for i in range({loop}):\n    forward(EPS_DIST * {size})\n    left(EPS_ANGLE)"
    return f"penup()\nforward({size})\npendown()"  # a gap


def sample_logo_program(
    observations: Sequence[Any], info: Mapping[str, Any], rng: np.random.Generator
) -> str:
    """One to five random parts: lines, turns, polygons, (semi)circles and gaps."""
    return "\n".join(_logo_part(rng) for _ in range(int(rng.integers(1, 6))))
