"""The paper's effect, measured: does a teacher that reads the student's state (per-skill
accuracy) raise validation accuracy more than one that ignores it, under the same budget?

Both teachers write data with the same procedural generator and the same number of
examples per iteration; the only difference is the allocation over skills (uniform vs. in
proportion to each skill's validation error rate). Each seed is one episode per teacher with
the same student initialisation. Reports the mean gain in validation accuracy (and the test
accuracy at the end) with 95% t-intervals, the paired difference, and writes a learning-curve
PNG. One JSON line.

    python benchmarks/bench_dataenv_teachers.py --seeds 0 1 2 --iterations 3 --examples 100
    python benchmarks/bench_dataenv_teachers.py --domain code --out runs/dataenv_teachers_code
    RAY_ADDRESS=auto python benchmarks/bench_dataenv_teachers.py --backend ray --seeds 0 1 2 3
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from pathlib import Path

# two-sided 95% Student t quantiles by degrees of freedom
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def mean_ci(values: list[float]) -> dict[str, float]:
    mean = statistics.fmean(values)
    if len(values) < 2:
        return {"mean": mean, "ci95": float("nan"), "n": len(values)}
    half = T95.get(len(values) - 1, 1.96) * statistics.stdev(values) / len(values) ** 0.5
    return {"mean": round(mean, 4), "ci95": round(half, 4), "n": len(values)}


def run_episode(env, teacher, seed: int) -> dict:
    teacher.reset()
    obs, info = env.reset(seed=seed)
    curve, truncated, losses = [info["validation"]["accuracy"]], False, []
    metrics = [info["validation"].get("metrics", {})]  # the domain's own (tool use: plan F1s)
    while not truncated:
        obs, _, _, truncated, info = env.step(teacher.act(obs, info))
        curve.append(info["validation"]["accuracy"])
        metrics.append(info["validation"].get("metrics", {}))
        losses.append(info["train"]["last_loss"] if info["train"] else None)
    return {
        "curve": curve,
        "metrics": metrics,
        "test": info["test"]["accuracy"],
        "losses": losses,
        "per_skill": info["validation"]["per_skill"],
    }


def plot(results: dict, path: Path) -> None:
    from societygym.envs.dataenv.learning_curve import save_learning_curves

    save_learning_curves({name: [e["curve"] for e in eps] for name, eps in results.items()}, path)


TEACHERS = ("no-state", "skill-list (weakest)")


def play(args: argparse.Namespace, seed: int, teacher_name: str) -> dict:
    """One episode: a fresh student (same initialisation per seed) taught by one teacher."""
    from societygym.baselines.dataenv_teachers import NoStateTeacher, SkillListTeacher
    from societygym.envs.dataenv.domains import make_domain
    from societygym.envs.dataenv.env import make_student
    from societygym.envs.dataenv.skill_list import SkillListEnv

    # the domain's own students first (VQA: "cnn"), else an HF causal LM
    train_config = {"epochs": args.epochs} if args.epochs else None
    student = make_student(args.student, "lora", train_config, seed, make_domain(args.domain))
    env = SkillListEnv(
        domain=args.domain,
        student=student,
        max_iterations=args.iterations,
        max_examples=args.iterations * args.examples,
        val_per_skill=args.val_per_skill,
        training=args.training,
        test_per_skill=args.val_per_skill,
    )
    kind = NoStateTeacher if teacher_name == TEACHERS[0] else SkillListTeacher
    teacher = kind(env.domain, examples_per_step=args.examples, seed=seed)
    return {**run_episode(env, teacher, seed), "validation_items": len(env.validation)}


def play_all(args: argparse.Namespace) -> dict[str, list[dict]]:
    """Every (seed, teacher) episode: in turn, or one Ray task each (``--backend ray``: on the
    cluster at ``$RAY_ADDRESS``, else a local one), with a GPU per student where the cluster
    has GPUs. Episodes are independent, so the results do not depend on the backend."""
    jobs = [(seed, name) for seed in args.seeds for name in TEACHERS]
    if args.backend == "serial":
        episodes = [play(args, seed, name) for seed, name in jobs]
    else:
        import os

        import ray

        if not ray.is_initialized():
            ray.init(address=os.environ.get("RAY_ADDRESS"), log_to_driver=False)
        gpus = 1 if ray.cluster_resources().get("GPU", 0) else 0
        remote = ray.remote(num_gpus=gpus)(play)
        episodes = ray.get([remote.remote(args, seed, name) for seed, name in jobs])
    results: dict[str, list[dict]] = {name: [] for name in TEACHERS}
    for (_, name), episode in zip(jobs, episodes, strict=True):
        results[name].append(episode)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--student", default="embedded")
    parser.add_argument("--domain", default="math", help="a teaching domain name (DOMAINS)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--val-per-skill", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=None, help="TrainConfig.epochs (default 3)")
    parser.add_argument("--out", default="runs/dataenv_teachers")
    parser.add_argument(
        "--training", default="continue", choices=["continue", "retrain"], help="env training="
    )
    parser.add_argument("--backend", default="serial", choices=["serial", "ray"])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    logging.getLogger("societygym").setLevel(logging.INFO)  # per-iteration progress on stderr
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    results = play_all(args)
    plot(results, out / "learning_curve.png")
    gains = {n: [e["curve"][-1] - e["curve"][0] for e in eps] for n, eps in results.items()}
    names = list(results)
    paired = [b - a for a, b in zip(gains[names[0]], gains[names[1]], strict=True)]
    summary = {
        "benchmark": "dataenv_teachers",
        "domain": args.domain,
        "student": args.student,
        "seeds": args.seeds,
        "iterations": args.iterations,
        "training": args.training,
        "epochs": args.epochs or 3,
        "examples_per_iteration": args.examples,
        "backend": args.backend,
        "validation_items": results[TEACHERS[0]][0]["validation_items"],
        "val_gain": {n: mean_ci(g) for n, g in gains.items()},
        "test_accuracy": {n: mean_ci([e["test"] for e in eps]) for n, eps in results.items()},
        "paired_gain_difference": mean_ci(paired),
        "curves": {n: [e["curve"] for e in eps] for n, eps in results.items()},
        "plot": str(out / "learning_curve.png"),
        "seconds": round(time.perf_counter() - start, 1),
    }
    (out / "summary.json").write_text(json.dumps({**summary, "episodes": results}, indent=1))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
