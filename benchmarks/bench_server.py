"""The LLM server under concurrent clients: requests/s, completion tokens/s and p50/p95 latency
with 1, 8 and 50 clients at once, against one client at a time, in one run. One JSON line.

The server runs as its own process (``python -m societygym.llm.server``) on loopback; each
client sends ``--rounds`` chat requests one after another (greedy, ``--max-tokens``), every
request a different question.

    python benchmarks/bench_server.py                       # the embedded SmolLM2
    python benchmarks/bench_server.py --model tiny --clients 1 8 50 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def ask(url: str, question: int, max_tokens: int) -> tuple[float, int]:
    """One chat request; its latency in seconds and completion tokens."""
    body = {
        "messages": [{"role": "user", "content": f"What is {question} + {question % 7}?"}],
        "max_tokens": max_tokens,
        "temperature": 0,
    }
    request = urllib.request.Request(
        url + "/chat/completions", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as response:
        reply = json.load(response)
    return time.perf_counter() - start, reply["usage"]["completion_tokens"]


def level(url: str, clients: int, rounds: int, max_tokens: int) -> dict[str, float]:
    """``clients`` concurrent clients, each sending ``rounds`` requests in turn."""

    def client(c: int) -> list[tuple[float, int]]:
        return [ask(url, c * rounds + r, max_tokens) for r in range(rounds)]

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = [x for per_client in pool.map(client, range(clients)) for x in per_client]
    wall = time.perf_counter() - start
    latencies = sorted(t for t, _ in results)
    return {
        "clients": clients,
        "requests": len(results),
        "requests_per_s": round(len(results) / wall, 2),
        "tokens_per_s": round(sum(n for _, n in results) / wall, 1),
        "p50_s": round(statistics.median(latencies), 3),
        "p95_s": round(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))], 3),
        "seconds": round(wall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="embedded", help="an LLM spec, as load_llm takes")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 50])
    parser.add_argument("--rounds", type=int, default=2, help="requests per client")
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--slots", type=int, default=64, help="the server's batch rows")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="the server's torch threads (OMP_NUM_THREADS); 1 on a machine shared with other "
        "jobs, where spinning OpenMP threads slow small models many times over",
    )
    args = parser.parse_args()

    root = Path(__file__).resolve().parents[1]
    command = [sys.executable, "-m", "societygym.llm.server", "--model", args.model]
    command += ["--port", "0", "--slots", str(args.slots)]
    env = {**os.environ, "PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1"}
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, cwd=root)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().split()[-1]  # "serving NAME at URL"
        ask(url, 0, args.max_tokens)  # warm-up: first-call allocations are not the server's
        levels = [level(url, c, args.rounds, args.max_tokens) for c in args.clients]
    finally:
        server.terminate()
        server.wait(timeout=60)
    one = levels[0]["requests_per_s"]
    summary = {
        "benchmark": "llm_server",
        "model": args.model,
        "max_tokens": args.max_tokens,
        "rounds": args.rounds,
        "threads": args.threads,
        "levels": levels,
        "speedup_vs_one_client": {
            str(lv["clients"]): round(lv["requests_per_s"] / one, 2) for lv in levels
        },
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
