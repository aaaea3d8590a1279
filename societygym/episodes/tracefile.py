"""Writing an episode's trace: a header line, then one JSON line per step."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def write_trace(
    path: Path, header: Mapping[str, Any], records: Sequence[Mapping[str, Any]]
) -> None:
    """Write atomically: a kill leaves the whole trace or none, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(dict(header)) + "\n")
        handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    os.replace(tmp, path)
