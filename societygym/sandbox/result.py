"""The outcome of one sandboxed run."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

ErrorType = Literal[
    "timeout",  # CPU or wall-clock budget exhausted
    "memory",  # memory limit hit (MemoryError or killed)
    "forbidden",  # rejected program text, refused import or refused operation
    "syntax",  # the program does not parse or compile
    "exception",  # the program raised
    "crash",  # the worker died (e.g. a C stack overflow)
    "output_limit",  # stdout + stderr exceeded the budget
    "bad_value",  # the result is not plain data (see societygym.sandbox.plain)
]


@dataclasses.dataclass
class RunResult:
    """``value`` is plain data (JSON-like containers, numbers, str/bytes, numpy arrays)."""

    ok: bool
    value: Any = None
    stdout: str = ""
    stderr: str = ""
    error_type: ErrorType | None = None
    error: str = ""
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0

    @classmethod
    def failure(cls, error_type: ErrorType, error: str, **fields: Any) -> RunResult:
        return cls(ok=False, error_type=error_type, error=error, **fields)
