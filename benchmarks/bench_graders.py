"""Agreement of the teaching graders with their tasks' own scorers (issue 24).

Prints one JSON line: per domain and skill, per variant kind (gold, lenient formatting, and
each kind of wrong answer), how many answers our grader and the source scorer accept, how
many verdicts agree, and how many keep the contract of ``grader_agreement`` (gold accepted,
wrong rejected, disagreements only on lenient formatting); then ``unexplained``, the
verdicts that break it (none expected).

    python benchmarks/bench_graders.py [--math-per-skill 100] [--vqa-per-skill 40] [--code 164]
"""

from __future__ import annotations

import argparse
import json
import time

from societygym.envs.dataenv import grader_agreement as ga


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--math-per-skill", type=int, default=100)
    parser.add_argument("--vqa-per-skill", type=int, default=40)
    parser.add_argument("--code", type=int, default=164, help="HumanEval problems")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    start = time.perf_counter()
    verdicts = (
        ga.math_verdicts(args.math_per_skill, args.seed)
        + ga.vqa_verdicts(args.vqa_per_skill)
        + ga.code_verdicts(args.code)
    )
    bad = ga.unexplained(verdicts)
    report = {
        "benchmark": "graders",
        "verdicts": len(verdicts),
        "wrong_accepted": sum(v.wrong and v.ours for v in verdicts),
        "unexplained": [v.__dict__ for v in bad[:20]],
        "unexplained_count": len(bad),
        "seconds": round(time.perf_counter() - start, 1),
        "table": ga.summarize(verdicts),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
