"""Embedded-model decoding throughput: one prompt vs a batch of 8 prompts.

Greedy with ``ignore_eos``, so every row decodes exactly ``MAX_TOKENS`` tokens. Each is timed
``ROUNDS`` times and the best kept, which damps the effect of other processes: on a 2-core
machine any other busy process slows multi-threaded torch down several-fold, so the load
average is reported too, with the one-time GGUF conversion (0 when already cached), the load
time and torch's thread count. One JSON line.
"""

from __future__ import annotations

import json
import os
import time

from societygym.llm import embedded_model_dir, load_embedded_llm

MAX_TOKENS = 32
ROUNDS = 3
PROMPTS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "user", "content": "Write a haiku about the sea."}],
    [{"role": "user", "content": "List three colours."}],
    [{"role": "user", "content": "Is a whale a fish? Answer yes or no."}],
    "The quick brown fox",
    "Once upon a time",
    "def fibonacci(n):",
    "The three laws of motion are",
]


def seconds(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> None:
    import torch

    convert_s = seconds(embedded_model_dir)
    start = time.perf_counter()
    llm = load_embedded_llm()
    load_s = time.perf_counter() - start

    def decode(prompts):
        llm.generate(prompts, max_tokens=MAX_TOKENS, ignore_eos=True)

    llm.generate(PROMPTS[:2], max_tokens=4)  # warm up kernels and the allocator
    single_s = min(seconds(decode, [PROMPTS[i % len(PROMPTS)]]) for i in range(ROUNDS))
    batch_s = min(seconds(decode, PROMPTS) for _ in range(ROUNDS))
    single = MAX_TOKENS / single_s
    batched = MAX_TOKENS * len(PROMPTS) / batch_s
    result = {
        "benchmark": "embedded_llm_tokens",
        "model": llm.name,
        "max_tokens": MAX_TOKENS,
        "rounds": ROUNDS,
        "convert_s": round(convert_s, 2),
        "load_s": round(load_s, 2),
        "tok_per_s_single": round(single, 1),
        "tok_per_s_batch8": round(batched, 1),
        "batch8_over_single": round(batched / single, 2),
        "target_ratio": 3.0,
        "torch_threads": torch.get_num_threads(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
