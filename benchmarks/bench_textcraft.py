"""TextCraft-v0 steps per second, with the planner's commands as the agent (every episode wins).

Episodes cycle through the goals; plans are made before timing, so the numbers are the env's
own cost (command parsing, recipe matching, resets that lay out the crafting commands).
Measured on one core through ``gymnasium.make`` and on the unwrapped env. One JSON line.
"""

from __future__ import annotations

import json
import time

import gymnasium as gym

import societygym  # noqa: F401  (registers the ids)
from societygym.envs.programs.textcraft.planner import solve


def run(env: gym.Env, plans: list[list[str]], episodes: int) -> tuple[float, float]:
    """(steps per second, episodes per second) over ``episodes`` planner-driven episodes."""
    steps = 0
    start = time.perf_counter()
    for episode in range(episodes):
        index = episode % len(plans)
        env.reset(seed=episode, options={"index": index})
        for command in plans[index]:
            _, reward, terminated, truncated, _ = env.step(command)
            steps += 1
        assert reward == 1.0 and terminated and not truncated
    elapsed = time.perf_counter() - start
    return steps / elapsed, episodes / elapsed


def main(episodes: int = 4000) -> None:
    made = gym.make("TextCraft-v0")
    book = made.unwrapped.book
    plans = [solve(goal, book) for goal in book.goals]
    run(made, plans, 200)  # warm caches
    steps_made, episodes_made = run(made, plans, episodes)
    steps_bare, episodes_bare = run(made.unwrapped, plans, episodes)
    result = {
        "benchmark": "textcraft_steps",
        "episodes": episodes,
        "mean_plan_length": round(sum(map(len, plans)) / len(plans), 2),
        "steps_per_s_gym_make": round(steps_made),
        "steps_per_s_unwrapped": round(steps_bare),
        "episodes_per_s_gym_make": round(episodes_made),
        "episodes_per_s_unwrapped": round(episodes_bare),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
