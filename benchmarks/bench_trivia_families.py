"""How often the embedded speaker (SmolLM2-135M-Instruct) answers each trivia family right.

The speaker answers ``--per-family`` train questions of every embedded family (spread evenly
over each family, greedy, the env's speaker prompt); the rule extractor and ``is_correct``
judge each answer, as ``Trivia-Calibration-v0`` does. Writes
``results/trivia_families.json``: per family, the questions asked, the right answers and the
accuracy. ``societygym/envs/trivia/difficulty.py`` ranks the families into difficulty levels
by these numbers.

    OMP_NUM_THREADS=1 python benchmarks/bench_trivia_families.py   # 375 s on 2 busy CPU cores
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from societygym.envs.trivia.answers import RuleBasedExtractor, is_correct
from societygym.envs.trivia.data import FAMILIES, load_embedded
from societygym.envs.trivia.prompts import SPEAKER_PROMPT
from societygym.llm import load_llm

RESULTS = Path(__file__).resolve().parent / "results" / "trivia_families.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-family", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    llm = load_llm("embedded")
    extract = RuleBasedExtractor()
    train = load_embedded("train")
    rows = []
    start = time.perf_counter()
    for family in FAMILIES:
        items = [it for it in train if it.family == family]
        count = min(args.per_family, len(items))
        asked = [items[i * len(items) // count] for i in range(count)]
        prompts = [SPEAKER_PROMPT.format(question=it.question) for it in asked]
        outputs = llm.generate(prompts, max_tokens=args.max_tokens, temperature=0.0)
        right = sum(
            is_correct(extract(out[0].text, it.question), it.answers)
            for it, out in zip(asked, outputs, strict=True)
        )
        rows.append({"family": family, "asked": count, "correct": right})
        print(f"{family}: {right}/{count} ({time.perf_counter() - start:.0f} s)", flush=True)
    result = {
        "benchmark": "trivia_families",
        "model": llm.name,
        "split": "train",
        "decoding": f"greedy, {args.max_tokens} tokens, rule extractor",
        "families": {r["family"]: {**r, "accuracy": r["correct"] / r["asked"]} for r in rows},
        "seconds": round(time.perf_counter() - start),
    }
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "families"}))


if __name__ == "__main__":
    main()
