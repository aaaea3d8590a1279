"""The LOGO turtle DSL of ReGAL/LAPS as Python functions bound to one fresh turtle per run.

ReGAL's programs run unchanged in this process: ``forward``, ``left``, ``right``, ``penup``,
``pendown``, ``teleport``, ``heading``, ``position``, ``isdown``, ``embed(program, locals())``,
the constants ``HALF_INF``, ``INF``, ``EPS_DIST``, ``EPS_ANGLE`` and the header's ``turtle``
object (``PyTurtle``: attributes ``x``, ``y``, ``heading`` in radians, ``is_down``; methods
``forward`` … ``pendown``, ``teleport``, ``embed``). Two fixes:

- ReGAL's ``embed`` only took a string and ``exec``-ed it with the caller's locals, so inside a
  helper function the DSL names were missing (``NameError: left``). Ours also takes a callable,
  ``with saved_state():`` does the same for a block, and strings run with the DSL's names plus
  the given ones (checked like sandboxed code, with a few harmless builtins).
- Every DSL call counts against a budget, so ``while True: forward(1)`` stops with a clear
  :class:`BudgetExceeded` even where no wall-clock limit is enforced.

Units are ReGAL's (``pyturtle.PyTurtle``): the heading is kept in radians; ``left``/``right``
take degrees, while ``teleport(x, y, theta)`` sets the heading in radians as given and
``heading()`` returns it in radians, unwrapped. ``embed("...", locals())`` works in the sandbox
too: its ``locals()`` is a read-only snapshot of the caller's own names
(:func:`societygym.sandbox.namespace.restricted_locals`).

Names written by an embedded string land where ReGAL's ``exec(program, globals(), local_vars)``
put them: in ``local_vars``. So at module level, where ``locals()`` is the program's globals,
the string's assignments (its loop counters too) and ``embed``'s own variables, merged in before
the ``exec`` (``self`` = ``turtle``, ``program``, ``x``, ``y``, ``theta``, ``pen_was_down``,
``fxn``), become the program's globals; a dict literal receives them itself; inside a function
``locals()`` is a copy and nothing changes. The sandbox's read-only snapshot is written through
for this: ``embed`` writes those names into the calling module's globals. Only ReGAL's
``local_vars`` (which is the live globals dict) is not handed to the program.
"""

from __future__ import annotations

import builtins
import math
import numbers
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from societygym.sandbox.checks import check_source
from societygym.sandbox.namespace import restricted_locals

HALF_INF = 63
INF = 126
EPS_DIST = 1 / 20
EPS_ANGLE = 2.86  # HALF_INF * EPS_ANGLE ~ 180 degrees: one loop is a semicircle
CANVAS_HALF = 50.0  # the visible canvas is [-50, 50] x [-50, 50]
MAX_COMMANDS = 50_000  # the largest reference drawing issues 4,096
DRAWING_NAME = "_drawing"  # namespace entry returning the segments once the program ran

# what code text run by embed() may use besides the DSL (ReGAL's strings need only range)
EMBED_BUILTINS = {
    f.__name__: f
    for f in (abs, bool, enumerate, float, int, len, list, max, min, print, range, round, sum, zip)
}
# ReGAL nests embeds (an embedded string calling embed("...", locals()))
EMBED_BUILTINS["locals"] = restricted_locals(EMBED_BUILTINS)

DSL_REFERENCE = """\
forward(dist)          move dist units along the heading, drawing a line if the pen is down
left(angle)            turn counter-clockwise by angle degrees
right(angle)           turn clockwise by angle degrees
penup()                lift the pen: moves no longer draw
pendown()              lower the pen: moves draw again
teleport(x, y, theta)  jump to (x, y) with heading theta in RADIANS, without drawing
heading()              the current heading in RADIANS (0 = east, counter-clockwise, not wrapped)
position()             the current (x, y)
isdown()               True if the pen is down
embed(f)               run f (a zero-argument function), then restore position, heading, pen
with saved_state():    run the indented block, then restore position, heading and pen
embed("code", locals()) ReGAL's form: run code text with the DSL and the caller's names
                       (or a dict such as {"n": n}) visible, then restore position, heading, pen
HALF_INF = 63, INF = 126, EPS_DIST = 1/20, EPS_ANGLE = 2.86
    a semicircle: for i in range(HALF_INF): forward(EPS_DIST * size); left(EPS_ANGLE)
    a circle: the same loop over range(INF)
The turtle starts at (0, 0) heading east (0 degrees) with the pen down; the canvas is
[-50, 50] x [-50, 50] and lines outside it are clipped."""


class BudgetExceeded(RuntimeError):
    """The program issued more DSL calls than its budget (most likely an endless loop)."""


def _number(value: Any, name: str) -> float:
    # exact int/float skip the ABC check, which costs more than the rest of a turtle move;
    # bool is an int subclass, and forward(True) is almost certainly a bug, so it is refused
    exact = type(value) is float or type(value) is int
    if not exact and (not isinstance(value, numbers.Real) or isinstance(value, bool)):
        raise TypeError(f"{name}() takes a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name}() takes a finite number, got {number}")
    return number


State = tuple[float, float, float, bool]


class Turtle:
    """Position, heading (radians, as ReGAL keeps it) and pen, and the segments drawn so far."""

    def __init__(self, max_commands: int = MAX_COMMANDS) -> None:
        self.x = 0.0
        self.y = 0.0
        self.theta = 0.0
        self.pen_down = True
        self.segments: list[tuple[float, float, float, float]] = []
        self.commands = 0
        self.max_commands = max_commands

    def _count(self) -> None:
        self.commands += 1
        if self.commands > self.max_commands:
            self._exceeded()

    def _exceeded(self) -> None:
        raise BudgetExceeded(
            f"segment budget exceeded: more than {self.max_commands:,} turtle commands "
            "(an endless loop?)"
        )

    def forward(self, dist: float) -> None:
        self._count()
        dist = _number(dist, "forward")
        x, y = self.x + dist * math.cos(self.theta), self.y + dist * math.sin(self.theta)
        if self.pen_down and dist != 0.0:
            self.segments.append((self.x, self.y, x, y))
        self.x, self.y = x, y

    def left(self, angle: float) -> None:
        self._count()
        self.theta += _number(angle, "left") * math.pi / 180  # ReGAL's conversion, bit for bit

    def right(self, angle: float) -> None:
        self._count()
        self.theta -= _number(angle, "right") * math.pi / 180

    def penup(self) -> None:
        self._count()
        self.pen_down = False

    def pendown(self) -> None:
        self._count()
        self.pen_down = True

    def teleport(self, x: float, y: float, theta: float) -> None:
        self._count()
        self.x, self.y = _number(x, "teleport"), _number(y, "teleport")
        self.theta = _number(theta, "teleport")

    def heading(self) -> float:
        self._count()
        return self.theta

    def position(self) -> tuple[float, float]:
        self._count()
        return (self.x, self.y)

    def isdown(self) -> bool:
        self._count()
        return self.pen_down

    def state(self) -> State:
        return (self.x, self.y, self.theta, self.pen_down)

    def restore(self, state: State) -> None:
        self.x, self.y, self.theta, self.pen_down = state

    def saved_state(self) -> SavedState:
        self._count()
        return SavedState(self)

    def segment_array(self) -> np.ndarray:
        """The drawn segments as a float64 array of rows ``(x0, y0, x1, y1)``."""
        if self.commands > self.max_commands:  # a program that caught BudgetExceeded failed
            self._exceeded()
        return np.array(self.segments, dtype=np.float64).reshape(-1, 4)


def regal_turtle(turtle: Turtle, embed: Callable[..., None]) -> Any:
    """ReGAL's header object ``turtle = PyTurtle()`` over our turtle: its attributes and
    methods, with no reference to our turtle reachable except through closures."""

    def attribute(name: str, check: Callable[[Any], Any]) -> property:
        def get(self: Any) -> Any:
            return getattr(turtle, name)

        def put(self: Any, value: Any) -> None:
            setattr(turtle, name, check(value))

        return property(get, put)

    class PyTurtle:
        __slots__ = ()
        x = attribute("x", lambda v: _number(v, "x"))
        y = attribute("y", lambda v: _number(v, "y"))
        heading = attribute("theta", lambda v: _number(v, "heading"))  # radians, as ReGAL's
        is_down = attribute("pen_down", bool)

        def __repr__(self) -> str:
            return "<PyTurtle>"

    for name in ("forward", "left", "right", "penup", "pendown", "teleport"):
        setattr(PyTurtle, name, staticmethod(getattr(turtle, name)))
    PyTurtle.embed = staticmethod(embed)  # type: ignore[attr-defined]
    return PyTurtle()


# the names ReGAL's PyTurtle.embed rewrites to ``self.<name>(`` at the start of the text
_REGAL_REWRITTEN = (
    "forward", "left", "right", "penup", "pendown", "position", "heading", "isdown", "teleport"
)  # fmt: skip
_MISSING = object()


def _regal_write_target(local_vars: Any, caller: types.FrameType) -> dict[str, Any] | None:
    """The dict ReGAL's exec would have written the embedded names into: a real dict given
    as ``local_vars`` itself; for the sandbox's read-only snapshot taken at module level,
    the calling module's globals (not a library's, whose builtins are the real ones)."""
    if type(local_vars) is dict:
        return local_vars
    module_level = caller.f_locals is caller.f_globals
    caller_builtins = caller.f_globals.get("__builtins__")
    real = caller_builtins is builtins or caller_builtins is vars(builtins)
    if type(local_vars) is types.MappingProxyType and module_level and not real:
        return caller.f_globals
    return None


def _write_back(
    target: dict[str, Any], scope: dict[str, Any], before: dict[str, Any], own: dict[str, Any]
) -> None:
    """What the exec wrote (and ``embed``'s own variables) into ``target``, as ReGAL's did."""
    for name, value in scope.items():
        if not name.startswith("__") and (name in own or before.get(name, _MISSING) is not value):
            target[name] = value
    for name in before.keys() - scope.keys():  # ``del`` in the embedded text
        if not name.startswith("__"):
            target.pop(name, None)


class SavedState:
    """``with saved_state():`` restores position, heading and pen when the block ends."""

    def __init__(self, turtle: Turtle) -> None:
        self.turtle = turtle
        self.state = turtle.state()

    def __enter__(self) -> None:
        self.state = self.turtle.state()

    def __exit__(self, *exc_info: object) -> None:
        self.turtle.restore(self.state)


def dsl_namespace(max_commands: int = MAX_COMMANDS) -> dict[str, Any]:
    """A fresh namespace of the DSL names bound to a fresh turtle, for one program run.

    ``namespace[DRAWING_NAME]()`` returns the segments drawn by the program run in it.
    """
    turtle = Turtle(max_commands)
    namespace: dict[str, Any] = {}

    def embed(program: Callable[[], Any] | str, local_vars: Mapping[str, Any] | None = None):
        """Run ``program`` (a callable, or code text), then restore position, heading, pen."""
        if isinstance(program, str):
            # checked like a sandboxed program and run with a few harmless builtins: this
            # exec must not hand untrusted text the real builtins (imports, open)
            code = compile(check_source(program, filename="<embed>"), "<embed>", "exec")
            target = _regal_write_target(local_vars, sys._getframe(1))
            rewritten = next((n for n in _REGAL_REWRITTEN if program.startswith(n + "(")), None)
            x, y, theta, pen_was_down = turtle.state()
            own = {  # ReGAL's embed merged its own locals into local_vars before the exec
                "self": namespace["turtle"],
                "program": f"self.{program}" if rewritten else program,
                "fxn": _REGAL_REWRITTEN[-1],
                "x": x,
                "y": y,
                "theta": theta,
                "pen_was_down": pen_was_down,
            }
            scope = {**namespace, **(local_vars or {}), **own, "__builtins__": EMBED_BUILTINS}
            before = dict(scope)
            try:
                with turtle.saved_state():
                    exec(code, scope)
            finally:
                if target is not None:
                    _write_back(target, scope, before, own)
        elif callable(program):
            with turtle.saved_state():
                program()
        else:
            raise TypeError(f"embed() takes a function or code text, got {type(program).__name__}")

    namespace.update(
        forward=turtle.forward,
        left=turtle.left,
        right=turtle.right,
        penup=turtle.penup,
        pendown=turtle.pendown,
        teleport=turtle.teleport,
        heading=turtle.heading,
        position=turtle.position,
        isdown=turtle.isdown,
        embed=embed,
        saved_state=turtle.saved_state,
        HALF_INF=HALF_INF,
        INF=INF,
        EPS_DIST=EPS_DIST,
        EPS_ANGLE=EPS_ANGLE,
    )
    namespace["turtle"] = regal_turtle(turtle, embed)
    namespace[DRAWING_NAME] = turtle.segment_array
    return namespace


def run_program(source: str, max_commands: int = MAX_COMMANDS) -> np.ndarray:
    """Run trusted DSL code in this process and return its segments (reference programs only:
    agents' programs go through the sandbox)."""
    namespace = dsl_namespace(max_commands)
    exec(compile(source, "<logo>", "exec"), namespace)
    return namespace[DRAWING_NAME]()
