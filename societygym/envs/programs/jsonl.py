"""Reading the original projects' JSON-lines data files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def numbered_rows(path: str | Path) -> Iterator[tuple[int, Any]]:
    """``(line number from 1, parsed row)`` for each non-blank line, so that a loader can say
    which line of the file was malformed."""
    with Path(path).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                yield number, json.loads(line)
