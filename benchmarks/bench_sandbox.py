"""Throughput of the sandbox pool vs. a fresh `python -c` subprocess per program.

Prints one JSON line. The subprocess baseline is what ReGAL-style harnesses do: start
an interpreter for every program. Both are measured here, on the same programs.
``fork_floor_per_s`` is the ceiling of any design that runs each program in a fresh
fork: a process with the sandbox server's imports forking and reaping children that
do nothing at all (the copy of its page tables, the exit, the wait).
Run: python benchmarks/bench_sandbox.py [--programs 200]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from societygym.sandbox import Policy, Sandbox

_TEMPLATES = (
    "import datetime\n"
    "d = datetime.date(2024, 1, 1) + datetime.timedelta(days={i})\n"
    "result = d.strftime('%A %Y-%m-%d')\n",
    "total = 0\nfor k in range({i} % 50 + 10):\n    total += k * k\nresult = total\n",
    "import math\nresult = math.gcd({i} * 6, 84) + math.isqrt({i} + 100)\n",
    "words = ['a', 'bb', 'ccc'] * ({i} % 7 + 1)\nresult = sorted({{w: len(w) for w in words}})\n",
)


def make_programs(count: int) -> list[str]:
    return [_TEMPLATES[i % len(_TEMPLATES)].format(i=i) for i in range(count)]


def run_subprocesses(programs: list[str]) -> tuple[float, list[str]]:
    start = time.perf_counter()
    outputs = []
    for program in programs:
        done = subprocess.run(
            [sys.executable, "-c", program + "print(result)"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        outputs.append(done.stdout.strip())
    return time.perf_counter() - start, outputs


# The sandbox server's imports without its jail (see societygym/sandbox/pool.py).
_FORK_FLOOR = """
import gc, importlib, os, sys, time, types
stub = types.ModuleType("societygym")
stub.__path__ = [sys.argv[1]]
sys.modules["societygym"] = stub
from societygym.sandbox import pool, zygote
for name in pool.DEFAULT_PRELOAD:
    importlib.import_module(name)
gc.freeze()
count = int(sys.argv[2])
start = time.perf_counter()
for _ in range(count):
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
print(count / (time.perf_counter() - start))
"""


def fork_floor(count: int) -> float:
    package = Path(__file__).resolve().parents[1] / "societygym"
    done = subprocess.run(
        [sys.executable, "-I", "-c", _FORK_FLOOR, str(package), str(count)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return float(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--programs", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    count = parser.parse_args().programs
    programs = make_programs(count)
    policy = Policy.stdlib()
    jobs = [{"program": p, "result_name": "result", "policy": policy} for p in programs]

    with Sandbox(workers=parser.parse_args().workers, policy=policy) as sandbox:
        start = time.perf_counter()
        sandbox.run("result = 0", result_name="result")  # starts the server and workers
        startup = time.perf_counter() - start

        start = time.perf_counter()
        sequential = [sandbox.run(p, result_name="result") for p in programs]
        sequential_seconds = time.perf_counter() - start

        start = time.perf_counter()
        parallel = sandbox.run_many(jobs)
        parallel_seconds = time.perf_counter() - start

    subprocess_seconds, outputs = run_subprocesses(programs)
    floor_rate = fork_floor(count)
    assert all(r.ok for r in sequential + parallel), "a benchmark program failed in the pool"
    assert [str(r.value) for r in parallel] == outputs, "pool and subprocess results differ"

    pool_rate = count / parallel_seconds
    subprocess_rate = count / subprocess_seconds
    print(
        json.dumps(
            {
                "programs": count,
                "workers": parser.parse_args().workers,
                "pool_startup_s": round(startup, 3),
                "pool_programs_per_s": round(pool_rate, 1),
                "pool_sequential_programs_per_s": round(count / sequential_seconds, 1),
                "subprocess_programs_per_s": round(subprocess_rate, 1),
                "speedup": round(pool_rate / subprocess_rate, 1),
                "speedup_sequential": round(count / sequential_seconds / subprocess_rate, 1),
                "fork_floor_per_s": round(floor_rate, 1),
                "fork_floor_speedup": round(floor_rate / subprocess_rate, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
