"""Embedded-model decoding throughput: eight prompts one at a time vs as one batch of 8.

Greedy with ``ignore_eos``, so every row decodes exactly ``MAX_TOKENS`` tokens and both runs
do the same work. Also reports the one-time GGUF conversion (0 when already cached), the load
time, torch's thread count and the load average, since other busy processes on a 2-core
machine slow multi-threaded torch down a lot. One JSON line.
"""

from __future__ import annotations

import json
import os
import time

from societygym.llm import embedded_model_dir, load_embedded_llm

MAX_TOKENS = 32
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


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    import torch

    _, convert_s = timed(embedded_model_dir)
    llm, load_s = timed(load_embedded_llm)
    llm.generate(PROMPTS[:2], max_tokens=4)  # warm up kernels and the allocator
    tokens = MAX_TOKENS * len(PROMPTS)
    _, single_s = timed(
        lambda: [llm.generate([p], max_tokens=MAX_TOKENS, ignore_eos=True) for p in PROMPTS]
    )
    _, batch_s = timed(lambda: llm.generate(PROMPTS, max_tokens=MAX_TOKENS, ignore_eos=True))
    result = {
        "benchmark": "embedded_llm_tokens",
        "model": llm.name,
        "max_tokens": MAX_TOKENS,
        "convert_s": round(convert_s, 2),
        "load_s": round(load_s, 2),
        "tok_per_s_single": round(tokens / single_s, 1),
        "tok_per_s_batch8": round(tokens / batch_s, 1),
        "batch8_over_single": round(single_s / batch_s, 2),
        "target_ratio": 3.0,
        "torch_threads": torch.get_num_threads(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
