"""Persuasion throughput: ``Persuasion-v0`` steps per second with two scripted debaters, and
PBT dialogue-tree turns generated per second with ``ScriptedRoleLLM`` (a deterministic
model-free double, so this is the builder's own overhead: prompts, extraction, bookkeeping)
and with the embedded SmolLM2 (one batched call per tree level). One JSON line.

The embedded model runs on one torch thread: with two threads on a busy 2-core machine the
threads spin against other processes and decoding got 5-15x slower (12 prompts x 16 tokens:
175 s with two threads, 12 s with one, at load average 9).
"""

from __future__ import annotations

import json
import os
import time

from societygym.agents.persuasion import ScriptedDebater
from societygym.baselines.persuasion_trees import TreeConfig, build_trees, count_nodes
from societygym.envs.persuasion.persuasion_env import PersuasionEnv
from societygym.envs.persuasion.scripted_roles import ScriptedRoleLLM
from societygym.envs.trivia.data import load_embedded


def env_steps_per_second(steps: int) -> float:
    env = PersuasionEnv()
    players = {a: ScriptedDebater(seed=i, p_yield=0.3) for i, a in enumerate(env.possible_agents)}
    observations, infos = env.reset(seed=0)
    start = time.perf_counter()
    for _ in range(steps):
        actions = {a: players[a].act(observations[a], infos[a]) for a in env.agents}
        observations, _, _, _, infos = env.step(actions)
        if not env.agents:
            observations, infos = env.reset()
    return steps / (time.perf_counter() - start)


def tree_turns_per_second(items, llm, config: TreeConfig) -> tuple[int, float]:
    start = time.perf_counter()
    trees = build_trees(items, llm, config, seed=0)
    return count_nodes(trees), time.perf_counter() - start


def main() -> None:
    import torch

    from societygym.llm import load_embedded_llm

    torch.set_num_threads(1)
    items = load_embedded("train")
    env_steps_per_second(200)  # warm caches
    double_turns, double_s = tree_turns_per_second(
        items[:200], ScriptedRoleLLM(items), TreeConfig()
    )
    start = time.perf_counter()
    llm = load_embedded_llm()
    load_s = time.perf_counter() - start
    small = TreeConfig(max_depth=3, max_tokens=16)
    llm_turns, llm_s = tree_turns_per_second(items[:2], llm, small)
    result = {
        "benchmark": "persuasion",
        "env_steps_per_s": round(env_steps_per_second(5000)),
        "tree_turns_double": double_turns,
        "tree_turns_per_s_double": round(double_turns / double_s, 1),
        "tree_turns_embedded": llm_turns,
        "tree_turns_per_s_embedded": round(llm_turns / llm_s, 2),
        "embedded_max_tokens": small.max_tokens,
        "embedded_load_s": round(load_s, 2),
        "torch_threads": torch.get_num_threads(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
