"""Per-iteration checkpoints of a teaching episode, written atomically.

``<run_dir>/iter-0003/`` holds ``state.json`` (everything but the weights: accepted data,
history, RNG state, the last observation) and the student's trainable weights. A folder only
appears once complete (written under a temporary name, then renamed), so a run killed at any
moment resumes from its last completed iteration. Older folders keep their ``state.json`` as
a record; only the newest keeps weights.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

_ITER = re.compile(r"^iter-(\d{4})$")
STATE_FILE = "state.json"
PROGRESS_FILE = "progress.jsonl"


def iteration_dirs(run_dir: Path) -> list[Path]:
    if not run_dir.is_dir():
        return []
    return sorted(p for p in run_dir.iterdir() if _ITER.match(p.name) and p.is_dir())


def latest(run_dir: Path) -> Path | None:
    dirs = iteration_dirs(run_dir)
    return dirs[-1] if dirs else None


def clear(run_dir: Path) -> None:
    """Forget a previous episode in ``run_dir`` (only the files this module writes)."""
    for path in iteration_dirs(run_dir):
        shutil.rmtree(path)
    (run_dir / PROGRESS_FILE).unlink(missing_ok=True)


def save(
    run_dir: Path, iteration: int, state: dict[str, Any], save_weights: Callable[[Path], None]
) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    final = run_dir / f"iter-{iteration:04d}"
    tmp = Path(tempfile.mkdtemp(prefix=".iter-", dir=run_dir))
    (tmp / STATE_FILE).write_text(json.dumps(state, ensure_ascii=False))
    save_weights(tmp)
    if final.exists():  # re-running an iteration after a resume replaces it
        shutil.rmtree(final)
    tmp.rename(final)
    for older in iteration_dirs(run_dir)[:-1]:
        for path in older.iterdir():
            if path.name != STATE_FILE:
                path.unlink()
    with (run_dir / PROGRESS_FILE).open("a") as f:
        f.write(json.dumps(state["history"][-1], ensure_ascii=False) + "\n")
    return final


def load_state(folder: Path) -> dict[str, Any]:
    return json.loads((folder / STATE_FILE).read_text())
