"""Copying teacher vs fresh-item teacher on the open-ended teaching envs (issue 24).

A *copying* teacher resubmits the errors the observation shows, with their gold answers,
as trivial rewrites ("Question: <q>", "<q> Please.", ...); a *fresh* teacher submits as many
items of the same skills from the domain's generator. Each gets one step from the same reset;
the JSON line gives both rewards, per domain, and how many examples the env accepted. The
script only uses APIs that predate the reward/feedback split, so it measures the env before
and after the change alike (run it from an older checkout for "before").

    python benchmarks/bench_copying_teacher.py [--domains math,vqa,code,tooluse] [--seeds 0,1]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

REWRITES = ("Question: {q}", "{q} Please.", "{q}!!", "  {q}  Thanks.")
# The students: VQA's embedded CNN; for the text domains the memorizing student
# (``students/memorizer.py``), the worst case for copying, as SmolLM2 on a shared CPU takes
# over ten minutes a step. ``--student embedded`` uses the default language model instead.
DOMAINS = ("math", "vqa", "code", "tooluse")


def item_skills(env: Any) -> dict[tuple[str, str | None], str]:
    """(question, image) -> skill for every item the env could show."""
    items = list(env.validation) + list(getattr(env, "feedback", []))
    return {(i.question, i.image): i.skill for i in items}


def copying_action(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for n, error in enumerate(errors):
        example = {
            "instruction": REWRITES[n % len(REWRITES)].format(q=error["question"]),
            "response": error["gold_answer"],
        }
        if "image" in error:
            example["image"] = error["image"]
        out.append(example)
    return out


def fresh_action(env: Any, errors: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    skills = item_skills(env)
    rng = np.random.default_rng(seed)
    out = []
    for error in errors:
        skill = skills[(error["question"], error.get("image"))]
        out += [e.to_dict() for e in env.domain.generate(skill, 1, rng)]
    return out


def make_student(domain: str, spec: str) -> Any:
    if domain == "vqa" or spec != "memorizer":
        return "embedded"
    from societygym.envs.dataenv.students.memorizer import MemorizingStudent

    return MemorizingStudent()


def disable_near_duplicate_check() -> None:
    """Measure the split alone: training copies are accepted unless verbatim."""
    from societygym.envs.dataenv.domain import Domain

    if hasattr(Domain, "near_duplicate"):
        Domain.near_duplicate = lambda self, example: None  # type: ignore[method-assign]


def measure(domain: str, seed: int, errors_shown: int, epochs: int, student: str) -> dict[str, Any]:
    from societygym.envs.dataenv.open_ended_env import OpenEndedEnv

    env = OpenEndedEnv(
        domain=domain,
        student=make_student(domain, student),
        max_iterations=1,
        max_examples=errors_shown,
        max_errors_shown=errors_shown,
        val_per_skill=10,
        test_per_skill=1,
        train_config={"epochs": epochs},
        student_seed=seed,
    )
    row: dict[str, Any] = {"domain": domain, "seed": seed}
    for teacher in ("copying", "fresh"):
        start = time.perf_counter()
        obs, _ = env.reset(seed=seed)
        errors = json.loads(obs["errors"])
        action = copying_action(errors) if teacher == "copying" else fresh_action(env, errors, seed)
        _, reward, _, _, info = env.step(action)
        row[teacher] = {
            "reward": round(float(reward), 4),
            "submitted": len(action),
            "accepted": info["accepted"],
            "seconds": round(time.perf_counter() - start, 1),
        }
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--domains", default=",".join(DOMAINS))
    parser.add_argument("--student", default="memorizer", choices=("memorizer", "embedded"))
    parser.add_argument("--no-near-duplicate-check", action="store_true")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--errors", type=int, default=20, help="errors shown and copied")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    if args.no_near_duplicate_check:
        disable_near_duplicate_check()
    for domain in args.domains.split(","):
        for seed in map(int, args.seeds.split(",")):
            row = measure(domain, seed, args.errors, args.epochs, args.student)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
