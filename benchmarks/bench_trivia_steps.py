"""Trivia-Calibration-v0 steps per second with a fixed-text agent and the lexical listener.

Measured on one core (this process), through ``gymnasium.make`` (with its wrappers), and
against the bare env loop without answer handling as an in-process baseline. One JSON line.
"""

from __future__ import annotations

import json
import time

import gymnasium as gym

import societygym  # noqa: F401  (registers the ids)

UTTERANCES = (
    "I'm absolutely certain the answer is Lima.",
    "Maybe Fe? Just a guess.",
    "I think it might be 26, but I'm not certain.",
    "It's Austin, as I learned in school.",
)


def steps_per_second(env: gym.Env, steps: int) -> float:
    env.reset(seed=0)
    start = time.perf_counter()
    for i in range(steps):
        env.step(UTTERANCES[i % len(UTTERANCES)])
        env.reset()
    return steps / (time.perf_counter() - start)


def main(steps: int = 20_000) -> None:
    made = gym.make("Trivia-Calibration-v0", listener="lexical")
    bare = made.unwrapped
    steps_per_second(made, 500)  # warm caches (data tables, compiled patterns)
    result = {
        "benchmark": "trivia_calibration_steps",
        "steps": steps,
        "steps_per_s_gym_make": round(steps_per_second(made, steps)),
        "steps_per_s_unwrapped": round(steps_per_second(bare, steps)),
        "target_steps_per_s": 5000,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
