"""Tool-plan executions per second: our plan executor vs. running the same plans as
M&Ms-style code programs (``output0 = tool(...)``, M&Ms' ``code_str`` format) in the
sandbox, the safe way to execute a plan written as code.

Both execute the gold plans of the tool-use domain's validation and test splits and must
reach the same results. The sandboxed programs skip the country tools: countryinfo reads its
data files on first use, which the sandbox refuses; the other tools' modules are preloaded
into the pool's server before it forks the workers. The executor's rate includes parsing
the JSON text, checking the plan and comparing the result with the gold one (what grading a
student does). One JSON line; ``ratio`` = executor / sandboxed code.

    python benchmarks/bench_tool_plans.py --repeats 5
"""

from __future__ import annotations

import argparse
import json
import time

PRELOAD = (
    "societygym.envs.dataenv.domains.tooluse.tools",
    "societygym.envs.dataenv.domains.vqa.scenes",
    "periodictable",
    "us",
    "PIL.ImageDraw",
)


def as_code(steps) -> str:
    """The plan as a Python program over the tool functions (M&Ms' code format)."""
    from societygym.envs.dataenv.domains.tooluse.plans import REFERENCE

    lines = []
    for index, step in enumerate(steps):
        args = []
        for name, value in step.args:
            match = REFERENCE.match(value) if isinstance(value, str) else None
            args.append(f"{name}=output{match.group(1)}" if match else f"{name}={value!r}")
        lines.append(f"output{index} = {step.tool}({', '.join(args)})")
    lines.append(f"result = output{len(steps) - 1}")
    return "\n".join(lines)


def main() -> None:
    from societygym.envs.dataenv.domains import make_domain
    from societygym.envs.dataenv.domains.tooluse import plans
    from societygym.envs.dataenv.domains.tooluse.tools import TOOLS
    from societygym.sandbox import Policy, Sandbox
    from societygym.sandbox.pool import DEFAULT_PRELOAD

    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    domain = make_domain("tooluse")
    items = domain.split("validation") + domain.split("test")
    replies = [i.answer for i in items]
    domain.grade(replies, items)  # warm-up: fact tables, scene renders
    start = time.perf_counter()
    for _ in range(args.repeats):
        verdicts = domain.grade(replies, items)
    ours_rate = args.repeats * len(items) / (time.perf_counter() - start)

    policy = Policy.dsl({name: tool.fn for name, tool in TOOLS.items()}, wall_seconds=10)
    kept = [i for i in items if "country_" not in i.answer]
    programs = [as_code(plans.parse_plan(i.answer)) for i in kept]
    preload = (*DEFAULT_PRELOAD, *PRELOAD)
    with Sandbox(workers=args.workers, policy=policy, preload=preload) as sandbox:
        jobs = [{"program": p, "result_name": "result"} for p in programs]
        sandbox.run_many(jobs)  # warm-up
        start = time.perf_counter()
        for _ in range(args.repeats):
            results = sandbox.run_many(jobs)
        code_rate = args.repeats * len(kept) / (time.perf_counter() - start)
    same = all(
        r.ok and plans.same_result(r.value, domain.gold_result(i))
        for r, i in zip(results, kept, strict=True)
    )
    failures = [r.error.strip().splitlines()[-1] for r in results if not r.ok][:3]
    print(
        json.dumps(
            {
                "benchmark": "tool_plans",
                "plans": len(items),
                "sandboxed_plans": len(kept),
                "executor_plans_per_s": round(ours_rate, 1),
                "sandboxed_code_plans_per_s": round(code_rate, 1),
                "ratio": round(ours_rate / code_rate, 2),
                "all_passed": all(verdicts),
                "agree": same,
                "code_failures": failures,
            }
        )
    )


if __name__ == "__main__":
    main()
