"""Continuous batching on CPU: ours (``TransformersLLM.generate`` through ``llm/continuous.py``)
against transformers' own (``model.generate_batch``), same model, prompts and greedy decoding.
Reports tokens/s, peak resident memory while decoding (Linux) and whether the two produce
identical tokens. One JSON line.

Each implementation runs in its own process, so its peak memory is its own. The library's
paged cache is sized explicitly (``--pages``): left to itself on a CPU it sizes the cache
from free memory (14 GB for the tiny test model here, and 40x slower).

    python benchmarks/bench_continuous_batching.py                  # the embedded SmolLM2
    python benchmarks/bench_continuous_batching.py --model tiny --prompts 16
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path


def prompts(count: int) -> list[list[dict[str, str]]]:
    topics = ["a river", "the moon", "a city", "winter", "a teacher", "bread", "a robot", "music"]
    return [
        [{"role": "user", "content": f"Write two sentences about {topics[i % 8]} and {i}."}]
        for i in range(count)
    ]


def reset_peak_memory() -> None:
    """Start counting peak memory from now (Linux), so loading the model does not mask it."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def peak_memory_mb() -> float:
    with open("/proc/self/status") as handle:
        line = next(line for line in handle if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def run(args: argparse.Namespace) -> dict:
    """One implementation in this process: its tokens, time and peak memory."""
    from societygym.llm import load_llm

    llm = load_llm(args.model, shared=False, batch_size=args.slots)
    batch = prompts(args.prompts)
    loaded_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    reset_peak_memory()
    start = time.perf_counter()
    if args.run == "ours":
        tokens = [g[0].token_ids for g in llm.generate(batch, max_tokens=args.max_tokens)]
    else:
        from transformers import GenerationConfig
        from transformers.generation.configuration_utils import ContinuousBatchingConfig

        ids = [llm.encode(p) for p in batch]
        config = GenerationConfig(
            max_new_tokens=args.max_tokens,
            do_sample=False,
            eos_token_id=llm.tokenizer.eos_token_id,
            pad_token_id=llm.tokenizer.pad_token_id,
        )
        longest = max(map(len, ids)) + args.max_tokens
        paging = ContinuousBatchingConfig(
            page_size=args.page_size,
            num_blocks=args.slots * -(-longest // args.page_size) + 1,
            max_batch_tokens=512,
            max_requests_per_batch=args.slots,
        )
        out = llm.model.generate_batch(
            inputs=ids,
            generation_config=config,
            continuous_batching_config=paging,
            progress_bar=False,
            warmup=False,
        )
        # requests are named req_<index> in submission order
        tokens = [list(out[f"req_{i}"].generated_tokens) for i in range(len(ids))]
    seconds = time.perf_counter() - start
    eos = llm.tokenizer.eos_token_id
    tokens = [t[:-1] if t and t[-1] == eos else t for t in tokens]
    return {
        "tokens": tokens,
        "seconds": round(seconds, 2),
        "tokens_per_s": round(sum(map(len, tokens)) / seconds, 1),
        "loaded_peak_mb": round(loaded_mb),
        "decoding_peak_mb": round(peak_memory_mb()),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="embedded", help="an LLM spec, as load_llm takes")
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--slots", type=int, default=16, help="rows decoded together")
    parser.add_argument("--page-size", type=int, default=64, help="the library's cache pages")
    parser.add_argument("--run", choices=["ours", "library"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run(args)))
        return
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1"}
    results = {}
    for name in ("ours", "library"):
        command = [sys.executable, __file__, *sys.argv[1:], "--run", name]
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])
    pairs = zip(results["ours"]["tokens"], results["library"]["tokens"], strict=True)
    same = sum(a == b for a, b in pairs)
    summary = {
        "benchmark": "continuous_batching",
        "model": args.model,
        "prompts": args.prompts,
        "max_tokens": args.max_tokens,
        "slots": args.slots,
        "identical_greedy_outputs": f"{same}/{args.prompts}",
        **{name: {k: v for k, v in r.items() if k != "tokens"} for name, r in results.items()},
        "speed_ratio_ours_vs_library": round(
            results["ours"]["tokens_per_s"] / results["library"]["tokens_per_s"], 2
        ),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
