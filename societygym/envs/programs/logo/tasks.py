"""LOGO tasks: LAPS-style templated queries, each with a reference program in the DSL.

The templates and sizes are those of the LAPS "synthetic" language that ReGAL's Python programs
use (DreamCoder ``makeLogoUnlimitedTasks``): polygon sides 2 (small) or 4 (medium); arcs of
``EPS_DIST * 1`` or ``* 2`` per step; a pen-up gap of 8 for "next to" and 20 for "a big space";
connecting lines of 8 (medium) and 20 (big); rows spaced by 2; snowflake arm lines and spaces of
4 (short) and 8 (medium), dashes of 2. Reference programs are plain DSL source, written with
``with saved_state():`` where ReGAL used ``embed("...", locals())``, so that they can serve as
demonstrations.

Queries are unique, and so are pictures: when two queries draw the same picture only the first
is kept (:data:`SAME_PICTURE` lists the others; a test renders every task to check that the list
is exact, so loading needs no rendering). Splits are assigned per family by a stable hash of the
query (train 60%, dev 20%, test 20%) and pinned by :data:`FINGERPRINT`.
"""

from __future__ import annotations

import hashlib
import re
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from societygym.envs.programs.jsonl import numbered_rows

SPLITS = ("train", "dev", "test")
FINGERPRINT = "73c172688193c5fc"

SIDE = {"small": 2, "medium": 4}
ARC = {"small": 1, "medium": 2}
SHORT_LINE = 2
NEXT_TO_GAP, BIG_SPACE = 8, 20
CONNECTING_LINE = {"medium": 8, "big": 20}
ARM_PREFIX = {"short": 4, "medium": 8}
DASH = 2  # spaces and lines inside dashed and two-shape arms, and the gap between row items
ROW_COUNTS = range(3, 7)
SNOWFLAKE_SIDES = (3, 5, 6, 7, 8)
POLYGON_NAMES = {3: "triangle", 4: "square"}

# Queries whose picture an earlier query already draws, found by rendering every task.
SAME_PICTURE = frozenset(
    # the six overlapping row lines of "6 short line s in a row" form one line of 12
    {"a short line connected by a medium line to a short line"}
    # the medium arc is centred on the snowflake's centre, so the rotated half circles of
    # "... a small semicircle and a medium semicircle" already cover the whole circle
    | {
        f"{n} sided snowflake with a small semicircle and a medium circle as arms"
        for n in SNOWFLAKE_SIDES
    }
)


@dataclass(frozen=True)
class LogoTask:
    """One query with its reference program; ``origin`` says where it came from."""

    id: str
    family: str
    query: str
    program: str
    split: str
    origin: str = "generated"


@dataclass(frozen=True)
class Shape:
    name: str
    source: str
    small: bool  # the small shapes also appear in rows, dashed arms and two-shape arms


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _turn(total: int, n: int) -> str:
    return str(total // n) if total % n == 0 else f"{total} / {n}"


def _block(*lines: str) -> str:
    return "\n".join(lines)


def _indent(source: str, levels: int) -> str:
    return textwrap.indent(source, "    " * levels)


def _polygon(n: int, side: int) -> str:
    return _block(f"for i in range({n}):", f"    forward({side})", f"    left({_turn(360, n)})")


def _arc(steps: str, size: int | str) -> str:
    return _block(
        f"for i in range({steps}):", f"    forward(EPS_DIST * {size})", "    left(EPS_ANGLE)"
    )


def _gap(distance: int) -> str:
    return _block("penup()", f"forward({distance})", "pendown()")


def _polygon_name(n: int) -> str:
    return POLYGON_NAMES.get(n, f"{n} gon")


def _arcs() -> Iterator[Shape]:
    for kind, steps in (("semicircle", "HALF_INF"), ("circle", "INF")):
        for size, step in ARC.items():
            yield Shape(f"{size} {kind}", _arc(steps, step), small=True)


def building_blocks() -> list[Shape]:
    """The shapes that compositions combine: small polygons, medium 3-5 gons, arcs, a line."""
    polygons = [
        Shape(
            f"{size} {_polygon_name(n)}", _polygon(n, SIDE[size]), small=size == "small" and n < 6
        )
        for size, sides in (("small", range(3, 10)), ("medium", range(3, 6)))
        for n in sides
    ]
    return [*polygons, *_arcs(), Shape("short line", f"forward({SHORT_LINE})", small=True)]


def _base() -> Iterator[tuple[str, str, str]]:
    for n in range(3, 10):
        for size, side in SIDE.items():
            yield "ngon", f"a {size} {_polygon_name(n)}", _polygon(n, side)
    for shape in _arcs():
        yield "circle", f"a {shape.name}", shape.source


def _pairs(blocks: list[Shape]) -> Iterator[tuple[str, str, str]]:
    for a in blocks:
        for b in blocks:
            yield (
                "next_to",
                f"a {a.name} next to a {b.name}",
                _block(a.source, _gap(NEXT_TO_GAP), b.source),
            )
            yield (
                "separated",
                f"a {a.name} separated by a big space from a {b.name}",
                _block(a.source, _gap(BIG_SPACE), b.source),
            )
            for word, length in CONNECTING_LINE.items():
                yield (
                    "connected",
                    f"a {a.name} connected by a {word} line to a {b.name}",
                    _block(a.source, f"forward({length})", b.source),
                )


def _rows(blocks: list[Shape]) -> Iterator[tuple[str, str, str]]:
    for shape in (s for s in blocks if s.small):
        for n in ROW_COUNTS:
            yield (
                "in_a_row",
                f"{n} {shape.name} s in a row",
                _block(
                    f"for j in range({n}):",
                    "    with saved_state():",
                    _indent(shape.source, 2),
                    _indent(_gap(DASH), 1),
                ),
            )


def _arms(blocks: list[Shape]) -> Iterator[tuple[str, str]]:
    """(phrase, source) of every snowflake arm."""
    small = [s for s in blocks if s.small]
    for shape in blocks:
        yield f"a {shape.name}", shape.source
    for word, length in ARM_PREFIX.items():
        for shape in blocks:
            yield f"a {word} line and a {shape.name}", _block(f"forward({length})", shape.source)
    for word, length in ARM_PREFIX.items():
        for shape in blocks:
            yield f"a {word} space and a {shape.name}", _block(_gap(length), shape.source)
    dash = _block(_gap(DASH), f"forward({SHORT_LINE})", _gap(DASH))
    for shape in small:
        phrase = f"a short space and a short line and a short space and a {shape.name}"
        yield phrase, _block(dash, shape.source)
    # a first shape that is the short line would read "a short line and a ...", which is the
    # line arm above, and "2 short line s" draws the dashed arm of two lines: both left out
    for first in (s for s in small if s.name != "short line"):
        for second in small:
            phrase = (
                f"2 {first.name} s" if first == second else f"a {first.name} and a {second.name}"
            )
            yield phrase, _block(_gap(DASH), first.source, _gap(DASH), second.source)


def _snowflakes(blocks: list[Shape]) -> Iterator[tuple[str, str, str]]:
    for n in SNOWFLAKE_SIDES:
        for phrase, arm in _arms(blocks):
            yield (
                "snowflake",
                f"{n} sided snowflake with {phrase} as arms",
                _block(
                    f"for j in range({n}):",
                    "    with saved_state():",
                    _indent(arm, 2),
                    f"    left({_turn(360, n)})",
                ),
            )


def _misc() -> Iterator[tuple[str, str, str]]:
    for n in range(3, 9):
        yield (
            "concentric_squares",
            f"{n} concentric square s",
            _block(
                f"for j in range({n + 1}):",
                "    with saved_state():",
                "        for i in range(4):",
                "            forward(2 * j)",
                "            left(90)",
            ),
        )
    for n in range(2, 9):
        yield (
            "concentric_circles",
            f"{n} concentric circle s",
            _block(f"for j in range({n + 1}):", _indent(_arc("INF", "j"), 1)),
        )
    for n in range(3, 9):
        yield (
            "staircase",
            f"a {n} stepped staircase",
            _block(
                f"for i in range({n}):",
                "    forward(2)",
                "    left(90)",
                "    forward(2)",
                "    right(90)",
            ),
        )
    for n in range(3, 6):
        yield (
            "zigzag",
            f"a {n} stepped zigzag",
            _block(
                "left(45)",
                f"for i in range({n}):",
                "    forward(2)",
                "    left(90)",
                "    forward(2)",
                "    right(90)",
            ),
        )
    for n in range(5, 9):
        yield (
            "spiral",
            f"a greek spiral with {n} turns",
            _block(f"for i in range({n + 1}):", "    forward(i)", "    left(90)"),
        )
    # DreamCoder turns by 180 - 180/n; ReGAL's conversion wrote 180 - 360/n, which never closes
    for n in (5, 7, 9):
        yield (
            "star",
            f"a {n} pointed star",
            _block(f"for i in range({n}):", "    forward(16)", f"    left(180 - {_turn(180, n)})"),
        )


FAMILIES = (
    "ngon",
    "circle",
    "in_a_row",
    "next_to",
    "separated",
    "connected",
    "snowflake",
    "concentric_squares",
    "concentric_circles",
    "staircase",
    "zigzag",
    "spiral",
    "star",
)


def templated() -> Iterator[tuple[str, str, str]]:
    """``(family, query, program)`` for every template instance, before deduplication."""
    blocks = building_blocks()
    yield from _base()
    yield from _rows(blocks)
    yield from _pairs(blocks)
    yield from _snowflakes(blocks)
    yield from _misc()


def generate() -> list[LogoTask]:
    """Every templated task, deduplicated by query and picture, with its split (deterministic)."""
    unique: dict[str, tuple[str, str]] = {}
    for family, query, program in templated():
        if query not in SAME_PICTURE:
            unique.setdefault(query, (family, program))
    tasks = []
    for family in FAMILIES:
        queries = sorted((q for q, (f, _) in unique.items() if f == family), key=_split_key)
        for rank, query in enumerate(queries):
            split = _split_of(rank, len(queries))
            tasks.append(LogoTask(_task_id(family, query), family, query, unique[query][1], split))
    return tasks


def _split_key(query: str) -> str:
    return _digest("logo-split", query)


def _split_of(rank: int, size: int) -> str:
    """60/20/20 by hash rank inside a family; a family of three still reaches every split."""
    test = max(1, round(0.2 * size))
    dev = max(1, round(0.2 * size))
    if rank < size - test - dev:
        return "train"
    return "dev" if rank < size - test else "test"


def _task_id(family: str, query: str) -> str:
    return f"logo-{family}-{_digest('logo-id', query)[:10]}"


@lru_cache(maxsize=1)
def _all_tasks() -> tuple[LogoTask, ...]:
    return tuple(generate())


def load_logo_tasks(split: str = "test") -> list[LogoTask]:
    """The generated tasks of one split (``"train"``, ``"dev"``, ``"test"``) or ``"all"``."""
    if split != "all" and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: use one of {', '.join(SPLITS)} or 'all'")
    return [t for t in _all_tasks() if split in ("all", t.split)]


def fingerprint(tasks: list[LogoTask]) -> str:
    """A short hash of ids, splits, queries and programs: any change to the data changes it."""
    rows = sorted(_digest(t.id, t.split, t.query, t.program) for t in tasks)
    return _digest(*rows)[:16]


FAMILY_MARKERS = (
    ("snowflake", "snowflake"),
    ("in a row", "in_a_row"),
    ("next to", "next_to"),
    ("separated by", "separated"),
    ("connected by", "connected"),
    ("concentric square", "concentric_squares"),
    ("concentric circle", "concentric_circles"),
    ("staircase", "staircase"),
    ("zigzag", "zigzag"),
    ("spiral", "spiral"),
    ("star", "star"),
    ("circle", "circle"),
    ("gon", "ngon"),
    ("triangle", "ngon"),
    ("square", "ngon"),
)


def family_of(query: str) -> str:
    """The template family of a LAPS query (``"other"`` for free text)."""
    return next((family for marker, family in FAMILY_MARKERS if marker in query), "other")


# families that draw one shape (a polygon, a circle, a star, a spiral, a staircase, a zigzag)
SINGLE_SHAPE = frozenset({"ngon", "circle", "star", "spiral", "staircase", "zigzag"})
_COUNT = re.compile(r"^(\d+) ")
_ARM = re.compile(r" with (.+) as arms$")


def parts_of(query: str) -> int | None:
    """How many parts a templated query draws: 1 for a single shape, 2 for two shapes side
    by side, 3 for two shapes and the line joining them, n for n in a row or n concentric
    shapes, n times the drawn pieces of one arm (spaces are not drawn) for an n-sided
    snowflake; None for free text."""
    family = family_of(query)
    if family in SINGLE_SHAPE:
        return 1
    if family in ("next_to", "separated"):
        return 2
    if family == "connected":
        return 3
    count = _COUNT.match(query)
    if count is None:
        return None
    if family != "snowflake":
        return int(count.group(1))
    arm = _ARM.search(query)
    if arm is None:
        return None
    pieces = (piece.split() for piece in arm.group(1).split(" and "))
    drawn = sum(int(w[0]) if w[0].isdigit() else 1 for w in pieces if w[-1] != "space")
    return int(count.group(1)) * drawn


# (description, fewest parts, most parts), easiest first
PART_LEVELS: tuple[tuple[str, int, int], ...] = (
    ("one shape: a polygon, circle, star, spiral, staircase or zigzag", 1, 1),
    ("2-3 parts: two shapes apart or joined by a line, 2-3 in a row or concentric", 2, 3),
    ("4-6 parts: rows, concentric shapes and snowflakes of up to 6 pieces", 4, 6),
    ("7 or more parts: bigger snowflakes, rows and concentric shapes", 7, 10**6),
)
DIFFICULTY_LEVELS = tuple(text for text, _, _ in PART_LEVELS)


def select(
    tasks: Iterable[LogoTask], families: tuple[str, ...] | None, level: int | None
) -> list[LogoTask]:
    """The tasks of ``families`` (None: all) whose part count is in level ``level``'s band
    (None: any)."""
    low, high = PART_LEVELS[level - 1][1:] if level is not None else (0, 0)
    kept = []
    for task in tasks:
        if families is not None and task.family not in families:
            continue
        parts = parts_of(task.query) if level is not None else None
        if level is None or (parts is not None and low <= parts <= high):
            kept.append(task)
    return kept


def load_regal_jsonl(
    path: str | Path, split: str = "test", keep_repeats: bool = False
) -> list[LogoTask]:
    """Tasks from ReGAL's ``logo_data/python/*.jsonl`` (``{"program": ..., "language": [...]}``).

    ReGAL's files repeat queries (train_200 has 153 unique in 200 rows); the first row of each
    query is kept (every row with ``keep_repeats``, its id then suffixed with the line) and
    ``origin`` records its file and 0-based line.
    """
    path = Path(path)
    tasks: dict[tuple[str, int], LogoTask] = {}
    seen: set[str] = set()
    for number, row in numbered_rows(path):
        if not isinstance(row.get("program"), str) or not row.get("language"):
            raise ValueError(f"{path}:{number}: expected 'program' and 'language' keys")
        query = str(row["language"][0])
        if query in seen and not keep_repeats:
            continue
        task_id = f"regal-{_digest('regal-id', query)[:10]}"
        if keep_repeats:
            task_id += f"-{number - 1}"
        origin = f"{path.name}:{number - 1}"
        seen.add(query)
        tasks[query, number] = LogoTask(
            task_id, family_of(query), query, row["program"], split, origin
        )
    return list(tasks.values())
