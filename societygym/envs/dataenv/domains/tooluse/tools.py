"""The deterministic tools a tool-use plan may call.

Every tool is a pure function of its arguments with typed, bounded inputs, returning one
named output (M&Ms style: ``{"text": ...}``, ``{"result": ...}``), so executing a plan is
safe in-process: a plan is data naming our functions, never code. The calculator parses
arithmetic with ``ast`` and evaluates it itself (no ``eval``), with bounded exponents.
Fact lookups read tables shipped by PyPI packages (countryinfo through the trivia
module's curated table, periodictable, us); image tools render a procedural scene
(``vqa/scenes.py``) named by its seed and measure its pixels.
"""

from __future__ import annotations

import ast
import datetime as dt
import functools
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_TEXT = 1000
MAX_NUMBER = 1e15
MAX_DAYS = 200_000


class ToolError(ValueError):
    """A tool refused its arguments (the message says why)."""


@dataclass(frozen=True)
class Tool:
    name: str
    args: tuple[tuple[str, type], ...]  # (name, type); float accepts int too
    output: str
    fn: Callable[..., Any]
    doc: str = ""

    def signature(self) -> str:
        return f"{self.name}({', '.join(a for a, _ in self.args)}) -> {self.output}"

    def call(self, args: dict[str, Any]) -> dict[str, Any]:
        names = [a for a, _ in self.args]
        if set(args) != set(names):
            raise ToolError(f"{self.name} takes {names}, got {sorted(args)}")
        clean = {a: _coerce(self.name, a, t, args[a]) for a, t in self.args}
        return {self.output: self.fn(**clean)}


def _coerce(tool: str, name: str, kind: type, value: Any) -> Any:
    if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        if abs(value) > MAX_NUMBER:
            raise ToolError(f"{tool}.{name} is out of range")
        return value
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > MAX_NUMBER:
            raise ToolError(f"{tool}.{name} is out of range")
        return value
    if kind is str and isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise ToolError(f"{tool}.{name} is longer than {MAX_TEXT} characters")
        return value
    raise ToolError(f"{tool}.{name} must be {kind.__name__}, got {type(value).__name__}")


def tidy(x: float) -> float | int:
    """Numbers as tools return them: ints stay ints, floats rounded to 6 decimals."""
    if isinstance(x, int):
        return x
    if x != x or abs(x) > MAX_NUMBER:
        raise ToolError("the result is not a finite number in range")
    rounded = round(x, 6)
    return int(rounded) if rounded.is_integer() else rounded


# --- arithmetic --------------------------------------------------------------------------

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _evaluate(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and (abs(right) > 64 or abs(left) > 1e6):
            raise ToolError("exponent or base too large")
        try:
            value = _BINARY[type(node.op)](left, right)
        except ZeroDivisionError:
            raise ToolError("division by zero") from None
        if isinstance(value, complex) or abs(value) > MAX_NUMBER:
            raise ToolError("the result is out of range")
        return value
    raise ToolError("the expression may only hold numbers, + - * / // % ** and parentheses")


def calculator(expression: str) -> float | int:
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ToolError(f"cannot parse the expression {expression[:80]!r}") from None
    return tidy(_evaluate(tree))


def add(a: float, b: float) -> float | int:
    return tidy(a + b)


def multiply(a: float, b: float) -> float | int:
    return tidy(a * b)


# --- units -------------------------------------------------------------------------------

# factor to the dimension's base unit (metre, gram, second)
UNITS: dict[str, tuple[str, float]] = {
    "mm": ("length", 0.001),
    "cm": ("length", 0.01),
    "m": ("length", 1.0),
    "km": ("length", 1000.0),
    "in": ("length", 0.0254),
    "ft": ("length", 0.3048),
    "mi": ("length", 1609.344),
    "g": ("mass", 1.0),
    "kg": ("mass", 1000.0),
    "oz": ("mass", 28.349523125),
    "lb": ("mass", 453.59237),
    "s": ("time", 1.0),
    "min": ("time", 60.0),
    "h": ("time", 3600.0),
    "day": ("time", 86400.0),
    "week": ("time", 604800.0),
}
TEMPERATURES = ("C", "F", "K")


def _to_celsius(value: float, unit: str) -> float:
    return {"C": value, "F": (value - 32) * 5 / 9, "K": value - 273.15}[unit]


def convert_units(value: float, from_unit: str, to_unit: str) -> float | int:
    if from_unit in TEMPERATURES and to_unit in TEMPERATURES:
        c = _to_celsius(value, from_unit)
        return tidy({"C": c, "F": c * 9 / 5 + 32, "K": c + 273.15}[to_unit])
    if from_unit not in UNITS or to_unit not in UNITS:
        known = ", ".join([*UNITS, *TEMPERATURES])
        raise ToolError(f"unknown unit {from_unit!r} or {to_unit!r}; known: {known}")
    (dim_a, fa), (dim_b, fb) = UNITS[from_unit], UNITS[to_unit]
    if dim_a != dim_b:
        raise ToolError(f"cannot convert {dim_a} ({from_unit}) to {dim_b} ({to_unit})")
    return tidy(value * fa / fb)


# --- dates -------------------------------------------------------------------------------


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ToolError(f"dates are written YYYY-MM-DD, got {text[:40]!r}") from None


def date_add(date: str, days: int) -> str:
    if abs(days) > MAX_DAYS:
        raise ToolError(f"at most {MAX_DAYS} days")
    try:
        return (_date(date) + dt.timedelta(days=days)).isoformat()
    except OverflowError:
        raise ToolError("the date is out of range") from None


def days_between(start: str, end: str) -> int:
    return (_date(end) - _date(start)).days


def weekday(date: str) -> str:
    return _date(date).strftime("%A")


# --- text --------------------------------------------------------------------------------


def text_upper(text: str) -> str:
    return text.upper()


def text_reverse(text: str) -> str:
    return text[::-1]


def count_words(text: str) -> int:
    return len(text.split())


# --- facts -------------------------------------------------------------------------------


def _key(name: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", name.lower()).split())


@functools.cache
def _country_table() -> dict[str, Any]:
    from societygym.envs.trivia.data import _countries  # the curated countryinfo table

    table: dict[str, Any] = {}
    for country in _countries():
        for name in country.names:
            table.setdefault(_key(name), country)
    return table


def _country(name: str) -> Any:
    found = _country_table().get(_key(name))
    if found is None:
        raise ToolError(f"unknown country {name!r}")
    return found


def country_capital(country: str) -> str:
    found = _country(country)
    if not found.capitals:
        raise ToolError(f"no capital on record for {country!r}")
    return found.capitals[0]


def country_continent(country: str) -> str:
    found = _country(country)
    if not found.continent:
        raise ToolError(f"no continent on record for {country!r}")
    return found.continent


def _element(name: str) -> Any:
    import periodictable

    key = name.strip()
    for e in periodictable.elements:
        if e.number > 0 and key.lower() in (e.name, e.symbol.lower()):
            return e
    spelled = {"aluminium": "aluminum", "caesium": "cesium", "sulphur": "sulfur"}
    if key.lower() in spelled:
        return _element(spelled[key.lower()])
    raise ToolError(f"unknown chemical element {name!r}")


def element_atomic_number(element: str) -> int:
    return int(_element(element).number)


def element_symbol(element: str) -> str:
    return str(_element(element).symbol)


def _state(name: str) -> Any:
    import us

    found = next((s for s in us.states.STATES if _key(s.name) == _key(name)), None)
    if found is None:
        raise ToolError(f"unknown U.S. state {name!r}")
    return found


def state_capital(state: str) -> str:
    return str(_state(state).capital)


def state_abbreviation(state: str) -> str:
    return str(_state(state).abbr)


# --- images ------------------------------------------------------------------------------

IMAGE_NAME = re.compile(r"^scene-(\d{1,9})\.png$")
IMAGE_SIZE = 64


def scene_of(image: str) -> Any:
    """The procedural scene an image name stands for (``scene-<seed>.png``)."""
    import numpy as np

    from societygym.envs.dataenv.domains.vqa import scenes

    match = IMAGE_NAME.match(image.strip())
    if not match:
        raise ToolError(f"images are named scene-<number>.png, got {image[:40]!r}")
    return scenes.random_scene(np.random.default_rng(int(match.group(1))), 1, 6, 0.0)


@functools.cache
def _pixels(image: str) -> Any:
    from societygym.envs.dataenv.domains.vqa import scenes

    return scenes.render_array(scene_of(image), IMAGE_SIZE)


def _components(mask: Any) -> int:
    """4-connected regions of a boolean mask (flood fill; images are 64x64)."""
    seen = mask.copy()
    height, width = mask.shape
    count = 0
    for y, x in zip(*mask.nonzero(), strict=True):
        if not seen[y, x]:
            continue
        count += 1
        stack = [(y, x)]
        seen[y, x] = False
        while stack:
            cy, cx = stack.pop()
            for ny, nx in ((cy + 1, cx), (cy - 1, cx), (cy, cx + 1), (cy, cx - 1)):
                if 0 <= ny < height and 0 <= nx < width and seen[ny, nx]:
                    seen[ny, nx] = False
                    stack.append((ny, nx))
    return count


def _color_mask(image: str, color: str) -> Any:
    from societygym.envs.dataenv.domains.vqa import scenes

    if color not in scenes.COLORS:
        raise ToolError(f"unknown colour {color!r}; known: {', '.join(scenes.COLORS)}")
    return (_pixels(image) == scenes.COLORS[color]).all(axis=2)


def count_objects(image: str, color: str) -> int:
    """Objects of a colour: connected regions of exactly that colour's pixels."""
    return _components(_color_mask(image, color))


def list_colors(image: str) -> str:
    """The colours of the objects in an image, alphabetically, comma-separated."""
    from societygym.envs.dataenv.domains.vqa import scenes

    present = [c for c in scenes.COLORS if _color_mask(image, c).any()]
    return ", ".join(sorted(present))


S, F, I = str, float, int  # noqa: E741 - short type names keep the table readable
_UNITS_DOC = f"units: {' '.join([*UNITS, *TEMPERATURES])}"
TOOLS: dict[str, Tool] = {
    t.name: t
    for t in (
        Tool("calculator", (("expression", S),), "result", calculator, "+ - * / // % **"),
        Tool("add", (("a", F), ("b", F)), "result", add),
        Tool("multiply", (("a", F), ("b", F)), "result", multiply),
        Tool(
            "convert_units",
            (("value", F), ("from_unit", S), ("to_unit", S)),
            "result",
            convert_units,
            _UNITS_DOC,
        ),
        Tool("date_add", (("date", S), ("days", I)), "date", date_add, "dates are YYYY-MM-DD"),
        Tool("days_between", (("start", S), ("end", S)), "days", days_between),
        Tool("weekday", (("date", S),), "text", weekday),
        Tool("text_upper", (("text", S),), "text", text_upper),
        Tool("text_reverse", (("text", S),), "text", text_reverse),
        Tool("count_words", (("text", S),), "count", count_words),
        Tool("country_capital", (("country", S),), "text", country_capital),
        Tool("country_continent", (("country", S),), "text", country_continent),
        Tool("element_atomic_number", (("element", S),), "number", element_atomic_number),
        Tool("element_symbol", (("element", S),), "text", element_symbol),
        Tool("state_capital", (("state", S),), "text", state_capital, "U.S. states"),
        Tool("state_abbreviation", (("state", S),), "text", state_abbreviation),
        Tool(
            "count_objects",
            (("image", S), ("color", S)),
            "count",
            count_objects,
            "images are scene-<n>.png",
        ),
        Tool("list_colors", (("image", S),), "text", list_colors),
    )
}


def catalog() -> str:
    """The tool list a student is shown (signatures; a note where one is needed)."""
    return "\n".join(f"- {t.signature()}" + (f": {t.doc}" if t.doc else "") for t in TOOLS.values())
