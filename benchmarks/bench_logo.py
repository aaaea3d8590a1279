"""LOGO drawing and judging throughput. Prints one JSON line.

- in-process: run a reference program with the DSL, rasterize it and judge it against the
  target (the work of building targets and of trusted checks);
- through ReGAL-Logo-v0: ``step`` with the reference program, which runs it in the sandbox
  (one worker round trip), rasterizes and judges; ``reset`` renders the target.
"""

from __future__ import annotations

import json
import time

from societygym.envs.programs.logo import judge, render
from societygym.envs.programs.logo.dsl import run_program
from societygym.envs.programs.logo.logo_env import ReGALLogoEnv
from societygym.envs.programs.logo.tasks import load_logo_tasks


def in_process_per_second(programs: list[str], targets: list) -> tuple[float, float]:
    """(programs rendered and judged per second, fraction judged correct)."""
    start = time.perf_counter()
    correct = 0
    for program, target in zip(programs, targets, strict=True):
        correct += judge.judge(render.render(run_program(program)), target).correct
    return len(programs) / (time.perf_counter() - start), correct / len(programs)


def env_steps_per_second(env: ReGALLogoEnv, episodes: int) -> tuple[float, float]:
    """(reset + step per second with reference programs, fraction rewarded)."""
    env.reset(options={"index": 0})
    env.step(env.tasks[0].program)  # start the sandbox's workers outside the timing
    start, rewarded = time.perf_counter(), 0.0
    for episode in range(episodes):
        index = (episode * 7919) % len(env.tasks)  # a spread of families and sizes
        env.reset(options={"index": index})
        rewarded += env.step(env.tasks[index].program)[1]
    return episodes / (time.perf_counter() - start), rewarded / episodes


def main(sample: int = 400, episodes: int = 300) -> None:
    tasks = load_logo_tasks("all")
    programs = [t.program for t in tasks[:: max(1, len(tasks) // sample)]]
    targets = [render.render_program(p) for p in programs]
    per_second, in_process_correct = in_process_per_second(programs, targets)
    steps, env_correct = env_steps_per_second(ReGALLogoEnv(split="all"), episodes)
    result = {
        "benchmark": "logo",
        "resolution": render.RESOLUTION,
        "programs": len(programs),
        "render_judge_per_s_in_process": round(per_second, 1),
        "in_process_correct": in_process_correct,
        "episodes": episodes,
        "env_steps_per_s_sandbox": round(steps, 1),
        "env_correct": env_correct,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
