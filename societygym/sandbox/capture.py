"""Bounded stdout/stderr for a run."""

from __future__ import annotations

from societygym.sandbox.errors import OutputLimitExceeded


class OutputBudget:
    """Bytes (UTF-8) that stdout and stderr may still take, shared between them."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.remaining = limit
        self.exceeded = False


class CappedStream:
    """A text sink that keeps output up to the budget, then raises OutputLimitExceeded.

    Raising (rather than silently dropping) stops a program printing gigabytes at
    once instead of letting it burn its whole time budget.
    """

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, budget: OutputBudget) -> None:
        self._budget = budget
        self._parts: list[str] = []

    def write(self, text: str) -> int:
        if type(text) is not str:
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        budget = self._budget
        if budget.exceeded:
            raise OutputLimitExceeded(f"output exceeded {budget.limit} bytes")
        size = len(text.encode("utf-8", "replace"))
        if size > budget.remaining:
            kept = text.encode("utf-8", "replace")[: budget.remaining]
            self._parts.append(kept.decode("utf-8", "ignore"))
            budget.remaining = 0
            budget.exceeded = True
            raise OutputLimitExceeded(f"output exceeded {budget.limit} bytes")
        budget.remaining -= size
        self._parts.append(text)
        return len(text)

    def writelines(self, lines: list[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def getvalue(self) -> str:
        return "".join(self._parts)
