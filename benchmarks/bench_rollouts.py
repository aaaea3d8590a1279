"""Rollout throughput with the embedded model: 8 env copies batched vs one env at a time.

``collect_rollouts`` plays the same ``EPISODES`` episodes of Trivia-Calibration-v0 (lexical
listener) with the embedded SmolLM2 three ways in this process: on 8 copies sharing one
continuously refilled decoding batch (the default), on 8 copies in lockstep (one batched call
per step, which waits for the step's longest completion), and on one copy. Greedy decoding,
so every run generates the same completions and the ratios compare like with like. The
modes alternate for ``ROUNDS`` rounds and the fastest run of each is kept, since other busy
processes on a 2-core machine slow multi-threaded torch down several-fold, and unevenly.
Reports episodes/s and generated tokens/s of each, the ratios against one copy, and the load
average. One JSON line.
"""

from __future__ import annotations

import json
import os

from societygym.agents.llm_agent import LLMAgent
from societygym.llm import load_embedded_llm
from societygym.rollouts import Rollouts, collect_rollouts

ENV_ID = "Trivia-Calibration-v0"
EPISODES = 16
MAX_TOKENS = 48
ROUNDS = 2
MODES = (("batched", 8, "continuous"), ("lockstep", 8, "lockstep"), ("single", 1, "lockstep"))


def main() -> None:
    agent = LLMAgent(load_embedded_llm(), max_tokens=MAX_TOKENS)
    collect_rollouts(ENV_ID, agent, episodes=2, num_envs=2)  # warm up kernels and caches
    runs: dict[str, Rollouts] = {}
    for _ in range(ROUNDS):  # interleaved, so a burst of load hits both modes alike
        for name, num_envs, schedule in MODES:
            run = collect_rollouts(
                ENV_ID, agent, episodes=EPISODES, num_envs=num_envs, schedule=schedule
            )
            if name not in runs or run.seconds < runs[name].seconds:
                runs[name] = run
    completions = {name: [r["completion"] for r in run.rows] for name, run in runs.items()}
    same = all(c == completions["single"] for c in completions.values())
    result: dict[str, object] = {
        "benchmark": "rollouts",
        "env": ENV_ID,
        "episodes": EPISODES,
        "max_tokens": MAX_TOKENS,
        "same_completions": same,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    for name, run in runs.items():
        rates = run.throughput()
        result[f"{name}_num_envs"] = run.num_envs
        result[f"{name}_seconds"] = round(run.seconds, 3)
        result[f"{name}_episodes_per_s"] = round(rates["episodes_per_s"], 3)
        result[f"{name}_tokens_per_s"] = round(rates["tokens_per_s"], 1)
        result[f"{name}_completion_tokens"] = run.completion_tokens
    result["speedup_episodes"] = round(runs["single"].seconds / runs["batched"].seconds, 2)
    result["speedup_tokens_per_s"] = round(
        result["batched_tokens_per_s"] / max(result["single_tokens_per_s"], 1e-9), 2
    )
    result["lockstep_speedup_episodes"] = round(
        runs["single"].seconds / runs["lockstep"].seconds, 2
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
