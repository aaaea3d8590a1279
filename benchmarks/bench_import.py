"""`import societygym` cost, against `import gymnasium` alone (its floor), in fresh processes.

Prints one JSON line. Also checks that no heavy library is imported by the package.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

HEAVY = ("torch", "transformers", "diffusers", "datasets", "trl", "peft")
PROBE = (
    "import sys, time; t = time.perf_counter(); import {module}; "
    "print(time.perf_counter() - t); print(','.join(m for m in {heavy!r} if m in sys.modules))"
)


def time_import(module: str, runs: int = 7) -> tuple[float, list[str]]:
    times, heavy = [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", PROBE.format(module=module, heavy=HEAVY)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        times.append(float(out[0]))
        heavy = [m for m in out[1].split(",") if m] if len(out) > 1 else []
    return statistics.median(times), heavy


def main() -> None:
    gym_seconds, _ = time_import("gymnasium")
    suite_seconds, heavy = time_import("societygym")
    print(
        json.dumps(
            {
                "benchmark": "import",
                "import_societygym_s": round(suite_seconds, 4),
                "import_gymnasium_s": round(gym_seconds, 4),
                "ratio_vs_gymnasium": round(suite_seconds / gym_seconds, 3),
                "heavy_modules_imported": heavy,
            }
        )
    )


if __name__ == "__main__":
    main()
