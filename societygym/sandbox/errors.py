"""Exceptions that sandboxed programs may see, and that the worker maps to error types."""

from __future__ import annotations


class SandboxViolation(PermissionError):
    """A forbidden operation (file, process, network, introspection) was attempted.

    It subclasses PermissionError so that library code which tolerates a refused
    ``open`` keeps working; the worker still reports the run as "forbidden".
    """


class ForbiddenCode(SandboxViolation):
    """The program text uses names or attributes that the sandbox rejects up front."""

    def __init__(self, offences: list[tuple[str, int]]) -> None:
        self.offences = offences
        listed = ", ".join(f"{name!r} (line {line})" for name, line in offences)
        super().__init__(
            f"forbidden names in program: {listed}. Dunder attributes (except a few safe "
            "ones such as __init__ and __name__), frame/code attributes and names such as "
            "__import__ or __builtins__ are not allowed in the sandbox"
        )


class ForbiddenImport(ImportError):
    """An import outside the policy's allow-list (an ImportError so ``try/except`` works)."""


class TimeLimitExceeded(BaseException):
    """Raised inside the program when its CPU or wall-clock budget runs out.

    A BaseException so that ``except Exception`` in the program does not swallow it.
    """


class OutputLimitExceeded(BaseException):
    """Raised inside the program when it writes more than its output budget."""
