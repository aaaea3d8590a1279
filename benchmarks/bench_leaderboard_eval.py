"""Suite evaluation wall time: the serial backend against the local process pool.

Both evaluate the same suite (ReGAL date, TextCraft and LOGO programs: every episode runs an
untrusted program in the sandbox) with the same scripted agent into fresh run folders; the
pool must give the identical bundle. Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from societygym.leaderboard.commands import submit
from societygym.leaderboard.suites import Suite, Task

PER_TASK = int(os.environ.get("BENCH_PER_TASK", "12"))
PROGRAM = "answer = '01/01/2000'\nget_object('1 oak planks')\nforward(1)"


def main() -> None:
    suite = Suite(
        "bench-programs",
        1,
        "benchmark",
        tuple(
            Task(env_id, env_id, tuple(range(0, 10 * PER_TASK, 10)), metric="info.correct")
            for env_id in ("ReGAL-Date-v0", "ReGAL-TextCraft-v0", "ReGAL-Logo-v0")
        ),
    )
    workers = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "suite.json"
        path.write_text(json.dumps(suite.to_dict()))
        timings, hashes = {}, {}
        for backend in ("serial", "process"):
            start = time.perf_counter()
            bundle = submit(
                str(path),
                "fixed",
                {"action": PROGRAM},
                "bench/fixed",
                run_dir=Path(tmp) / backend,
                backend=backend,
                workers=workers,
                progress=False,
                store=False,
            )
            timings[backend] = time.perf_counter() - start
            hashes[backend] = bundle["hash"]
    print(
        json.dumps(
            {
                "benchmark": "leaderboard_suite_evaluation",
                "episodes": suite.episodes,
                "workers": workers,
                "serial_s": round(timings["serial"], 3),
                "parallel_s": round(timings["process"], 3),
                "speedup_vs_serial": round(timings["serial"] / timings["process"], 3),
                "identical_bundles": hashes["serial"] == hashes["process"],
            }
        )
    )


if __name__ == "__main__":
    main()
