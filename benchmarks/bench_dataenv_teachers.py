"""DataEnvGym's effect, powered: does a teacher that reads the student's state raise its
accuracy more than one that does not, under the same budget?

Three teachers write data with the same procedural generator, the same number of examples
per iteration and the same random stream; only the allocation over skills differs:
``no-state`` (uniform), ``weakest-first`` (in proportion to each skill's error rate) and
``learning-progress`` (in proportion to each skill's recent change in accuracy). Each seed
is one episode per teacher with the same student initialisation and training seeds, so the
comparison is paired by seed. Every finished episode is saved under ``--workdir``
(``<domain>/<teacher>/seed<k>.json``); a rerun skips them, so an interrupted run resumes.

Writes ``effect_dataenv_<setting>.json`` (rows of ``effect_rows``: base = no-state,
trained = a state-conditioned teacher; plus the power of each comparison: its achieved
interval, the minimum difference detectable at 80% power, and the seeds or items a
+-``--target`` interval needs) and ``effect_dataenv_<setting>.png`` into ``--results``.
A setting is a preset (``PRESETS``) or any teaching domain's name.

    python benchmarks/bench_dataenv_teachers.py --domain vqa            # CNN student, ~10 CPU min
    python benchmarks/bench_dataenv_teachers.py --domain vqa_procedural # drawn scenes only
    python benchmarks/bench_dataenv_teachers.py --domain math --threads 1  # SmolLM2, ~3.5 CPU h
    python benchmarks/bench_dataenv_teachers.py --domain vqa --quick    # a smoke run, ~1 min
    RAY_ADDRESS=auto python benchmarks/bench_dataenv_teachers.py --backend ray --domain math
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from effect_power import power  # sibling modules: the script's folder is on sys.path
from effect_rows import effect_row
from torch_threads import add_threads_argument, use_threads

RESULTS = Path(__file__).resolve().parent / "results"
BASE = "no-state"
TEACHERS = (BASE, "weakest-first", "learning-progress")
PAPER = (
    "DataEnvGym (Khan et al., ICLR 2025): teachers that condition on the student's state "
    "(skill-list, skill-tree) beat a state-agnostic teacher at the same data budget"
)


@dataclasses.dataclass(frozen=True)
class Config:
    """One domain's experiment. Sizes are per skill: the reward half of validation
    (``val_per_skill``; the teacher sees as many other items) and the test split."""

    domain: str
    student: str
    seeds: tuple[int, ...] = tuple(range(10))
    iterations: int = 3
    examples: int = 100
    val_per_skill: int = 10
    test_per_skill: int = 20
    epochs: int | None = None
    training: str = "continue"
    domain_kwargs: tuple[tuple[str, Any], ...] = ()


# Settings by name, sized from a pilot on 2 shared CPU cores (README, "The paper's effect,
# powered"); another name runs that teaching domain with the embedded student.
# the CNN trains in seconds (~20 CPU s an episode); easy-VQA holds 300 items per skill and
# split, so evaluation can be large: 100 reward + 100 feedback validation items and 200 test
# items per skill. With these the pilot's paired differences spread by ~0.02, so ten seeds
# give an interval well inside +-0.03.
_VQA = Config(
    "vqa",
    "cnn",
    seeds=tuple(range(10)),
    iterations=3,
    examples=140,
    val_per_skill=100,
    test_per_skill=200,
    domain_kwargs=(("per_skill", 200),),
)
PRESETS = {
    "vqa": _VQA,
    # the same with drawn scenes only (seven skills), the distribution the teachers' data
    # comes from: where the data goes can matter more when it transfers to the test
    "vqa_procedural": dataclasses.replace(
        _VQA, domain_kwargs=(("per_skill", 200), ("source", "procedural"))
    ),
    # SmolLM2-135M on one thread (pilot): 0.31 CPU s an answer, 0.58 a training example per
    # epoch; 10 reward + 10 feedback validation items per skill (11 skills) three times and
    # the math split's whole test, 40 per skill, once: ~7 CPU min an episode, ~3.5 CPU h
    "math": Config(
        "math", "embedded", iterations=2, examples=60, val_per_skill=10, test_per_skill=40, epochs=1
    ),
}
QUICK = {
    "vqa": Config("vqa", "tiny", seeds=(0, 1), iterations=2, examples=28, val_per_skill=4),
    "vqa_procedural": Config(
        "vqa",
        "tiny",
        seeds=(0, 1),
        iterations=2,
        examples=28,
        val_per_skill=4,
        domain_kwargs=(("source", "procedural"),),
    ),
    "math": Config("math", "tiny", seeds=(0, 1), iterations=1, examples=11, val_per_skill=1),
}


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def make_teacher(name: str, domain: Any, examples: int, seed: int) -> Any:
    from societygym.agents.teachers import (
        LearningProgressTeacher,
        NoStateTeacher,
        SkillListTeacher,
    )

    kinds = {
        "no-state": NoStateTeacher,
        "weakest-first": SkillListTeacher,
        "learning-progress": LearningProgressTeacher,
    }
    return kinds[name](domain, examples_per_step=examples, seed=seed)


def play(config: Config, seed: int, teacher_name: str) -> dict[str, Any]:
    """One episode: a fresh student (same initialisation per seed) taught by one teacher."""
    from societygym.envs.dataenv.skill_list_env import SkillListEnv

    start = time.perf_counter()
    env = SkillListEnv(
        domain=config.domain,
        domain_kwargs=dict(config.domain_kwargs),
        student=config.student,
        student_seed=seed,
        train_config={"epochs": config.epochs} if config.epochs else None,
        max_iterations=config.iterations,
        max_examples=config.iterations * config.examples,
        val_per_skill=config.val_per_skill,
        test_per_skill=config.test_per_skill,
        training=config.training,
    )
    teacher = make_teacher(teacher_name, env.domain, config.examples, seed)
    teacher.reset()
    obs, info = env.reset(seed=seed)
    curve, allocations, truncated = [info["validation"]["accuracy"]], [], False
    while not truncated:
        action = teacher.act(obs, info)
        allocations.append(dict(Counter(example["skill"] for example in action)))
        obs, _, _, truncated, info = env.step(action)
        curve.append(info["validation"]["accuracy"])
    return {
        "seed": seed,
        "teacher": teacher_name,
        "curve": curve,
        "allocations": allocations,
        "validation_per_skill": info["validation"]["per_skill"],
        "test": info["test"]["accuracy"],
        "test_per_skill": info["test"]["per_skill"],
        "validation_items": len(env.validation),
        "test_items": info["test"]["count"],
        "seconds": round(time.perf_counter() - start, 1),
    }


def episode_path(work: Path, teacher: str, seed: int) -> Path:
    return work / teacher / f"seed{seed}.json"


def check_config(config: Config, work: Path) -> None:
    """Episodes in ``work`` must come from this configuration (seeds may grow)."""
    path = work / "config.json"
    mine = {k: v for k, v in dataclasses.asdict(config).items() if k != "seeds"}
    mine = json.loads(json.dumps(mine))  # tuples as lists, as stored
    if path.exists() and json.loads(path.read_text()) != mine:
        raise SystemExit(f"{work} holds episodes of another configuration: use another --workdir")
    work.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(mine, indent=1))


def play_all(
    config: Config, work: Path, backend: str = "serial", teachers: Sequence[str] = TEACHERS
) -> None:
    """Every missing (seed, teacher) episode of ``teachers``, seed by seed so that a partial
    run holds complete pairs; each is saved as it finishes. Processes given disjoint
    ``teachers`` share a workdir, so one seed's episodes can run in parallel."""
    jobs = [
        (seed, name)
        for seed in config.seeds
        for name in teachers
        if not episode_path(work, name, seed).exists()
    ]
    total, done, start = len(config.seeds) * len(teachers), 0, time.perf_counter()
    log(f"{config.domain}: {total - len(jobs)} of {total} episodes already done")

    def save(episode: dict[str, Any]) -> None:
        nonlocal done
        path = episode_path(work, episode["teacher"], episode["seed"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(episode))
        done += 1
        left = (time.perf_counter() - start) / done * (len(jobs) - done)
        log(
            f"{config.domain} seed {episode['seed']} {episode['teacher']}: test "
            f"{episode['test']:.3f}, validation {episode['curve'][0]:.3f} -> "
            f"{episode['curve'][-1]:.3f} ({episode['seconds']:.0f} s); "
            f"{total - len(jobs) + done}/{total} done, ~{left / 60:.0f} min left"
        )

    if backend == "serial":
        for seed, name in jobs:
            save(play(config, seed, name))
        return
    import os

    import ray

    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS"), log_to_driver=False)
    gpus = 1 if ray.cluster_resources().get("GPU", 0) else 0
    remote = ray.remote(num_gpus=gpus)(play)
    pending = [remote.remote(config, seed, name) for seed, name in jobs]
    while pending:
        finished, pending = ray.wait(pending)
        for ref in finished:
            save(ray.get(ref))


def load_episodes(config: Config, work: Path) -> dict[int, dict[str, dict[str, Any]]]:
    """The seeds whose every teacher's episode is done: {seed: {teacher: episode}}."""
    paired = {}
    for seed in config.seeds:
        paths = {name: episode_path(work, name, seed) for name in TEACHERS}
        if all(p.exists() for p in paths.values()):
            paired[seed] = {name: json.loads(p.read_text()) for name, p in paths.items()}
    return paired


METRICS = (
    ("test_accuracy", "test", "test_items"),
    ("validation_gain", "gain", "validation_items"),
)


def summarize(
    config: Config, episodes: dict[int, dict[str, dict[str, Any]]], target: float
) -> dict[str, Any]:
    """Rows (each state-conditioned teacher vs no-state, per metric) and their power."""
    seeds = sorted(episodes)

    def values(teacher: str, key: str) -> list[float]:
        if key == "gain":
            return [
                episodes[s][teacher]["curve"][-1] - episodes[s][teacher]["curve"][0] for s in seeds
            ]
        return [episodes[s][teacher][key] for s in seeds]

    rows, powers = [], {}
    for teacher in TEACHERS[1:]:
        for metric, key, items_key in METRICS:
            base, trained = values(BASE, key), values(teacher, key)
            name = f"{metric} ({teacher})"
            rows.append(effect_row(name, base, trained, "higher", PAPER))
            if len(seeds) >= 2:
                final = (
                    values(BASE, "test")
                    if key == "test"
                    else [episodes[s][BASE]["curve"][-1] for s in seeds]
                )
                items = episodes[seeds[0]][BASE][items_key]
                diffs = [t - b for t, b in zip(trained, base, strict=True)]
                powers[name] = power(diffs, statistics.fmean(final), items, target).to_dict()
    return {"rows": rows, "power": powers}


def plot(
    config: Config, episodes: dict[int, dict[str, dict[str, Any]]], rows: list, path: Path
) -> None:
    """Left: mean validation accuracy per iteration per teacher; right: each state-conditioned
    teacher's paired test-accuracy difference from no-state, with its 95% interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (curves, bars) = plt.subplots(1, 2, figsize=(10, 4))
    for name in TEACHERS:
        runs = [episodes[s][name]["curve"] for s in sorted(episodes)]
        means = [statistics.fmean(run[i] for run in runs) for i in range(len(runs[0]))]
        curves.plot(range(len(means)), means, marker="o", label=name)
    curves.set_xticks(range(config.iterations + 1))
    curves.set_xlabel("teaching iteration")
    curves.set_ylabel("validation accuracy (mean over seeds)")
    curves.legend()
    shown = [r for r in rows if r["diff"] is not None]
    lows = [r["diff"] - r["diff_lo"] if r["diff_lo"] is not None else 0.0 for r in shown]
    highs = [r["diff_hi"] - r["diff"] if r["diff_hi"] is not None else 0.0 for r in shown]
    bars.bar(range(len(shown)), [r["diff"] for r in shown], yerr=[lows, highs], capsize=4)
    bars.axhline(0.0, color="black", linewidth=0.8)
    bars.set_xticks(
        range(len(shown)), [r["metric"] for r in shown], rotation=20, ha="right", fontsize=8
    )
    bars.set_ylabel("minus no-state (95% interval)")
    fig.suptitle(f"DataEnv {config.domain}, {config.student} student, {len(episodes)} seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(
    config: Config,
    work: Path,
    results: Path,
    target: float,
    backend: str = "serial",
    command: str = "",
    play_missing: bool = True,
    setting: str | None = None,
    teachers: Sequence[str] = TEACHERS,
) -> dict[str, Any]:
    """Play what is missing (unless ``play_missing`` is False), then write the results of
    the finished seeds as ``effect_dataenv_<setting>`` (default: the domain's name)."""
    setting = setting or config.domain
    start = time.perf_counter()
    check_config(config, work)
    if play_missing:
        play_all(config, work, backend, teachers)
    episodes = load_episodes(config, work)
    if not episodes:
        raise SystemExit("no seed has all its episodes yet")
    seconds = [e["seconds"] for pair in episodes.values() for e in pair.values()]
    summary = summarize(config, episodes, target)
    missing = [s for s in config.seeds if s not in episodes]
    result = {
        "setting": f"dataenv_{setting}",
        "config": dataclasses.asdict(config),
        "partial": bool(missing),
        "command": command,  # reruns resume: this finishes a partial result
        "seeds_done": sorted(episodes),
        **summary,
        "episode_seconds_mean": round(statistics.fmean(seconds), 1),
        "episode_seconds_total": round(sum(seconds)),
        "test_per_skill": {  # mean over seeds: where each teacher's data went to work
            n: {
                skill: round(
                    statistics.fmean(episodes[s][n]["test_per_skill"][skill] for s in episodes), 4
                )
                for skill in episodes[min(episodes)][n]["test_per_skill"]
            }
            for n in TEACHERS
        },
        "curves": {n: [episodes[s][n]["curve"] for s in sorted(episodes)] for n in TEACHERS},
        "allocations": {
            n: [episodes[s][n]["allocations"] for s in sorted(episodes)] for n in TEACHERS
        },
        "run_seconds": round(time.perf_counter() - start),
    }
    results.mkdir(parents=True, exist_ok=True)
    stem = results / f"effect_dataenv_{setting}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    plot(config, episodes, summary["rows"], stem.with_suffix(".png"))
    log(f"{len(episodes)} seeds of {len(config.seeds)} -> {stem}.json")
    return result


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--domain", default="vqa", help=f"a setting ({', '.join(PRESETS)}) or a teaching domain"
    )
    parser.add_argument("--student", help="the domain's student spec (default: the preset's)")
    parser.add_argument("--quick", action="store_true", help="a smoke run (tiny student)")
    parser.add_argument("--seeds", type=int, nargs="+")
    parser.add_argument("--iterations", type=int)
    parser.add_argument("--examples", type=int, help="examples per iteration")
    parser.add_argument("--val-per-skill", type=int, help="reward-half validation items")
    parser.add_argument("--test-per-skill", type=int)
    parser.add_argument("--epochs", type=int, help="training epochs per step (TrainConfig)")
    parser.add_argument("--training", choices=["continue", "retrain"], help="env training=")
    parser.add_argument("--target", type=float, default=0.03, help="interval half-width aimed at")
    parser.add_argument("--workdir", default="runs/dataenv_teachers")
    parser.add_argument("--results", default=str(RESULTS))
    parser.add_argument("--backend", default="serial", choices=["serial", "ray"])
    parser.add_argument(
        "--report-only", action="store_true", help="write results from the finished seeds"
    )
    parser.add_argument(
        "--teachers", nargs="+", choices=TEACHERS, default=TEACHERS, help="play only these"
    )
    add_threads_argument(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    use_threads(args.threads)
    # the env's one line per teaching iteration (loss, accuracy per skill) on stderr
    logging.getLogger("societygym.envs.dataenv").setLevel(logging.INFO)
    presets = QUICK if args.quick else PRESETS
    config = presets.get(args.domain) or Config(args.domain, "embedded")
    overrides = {
        "student": args.student,
        "epochs": args.epochs,
        "training": args.training,
        "seeds": tuple(args.seeds) if args.seeds else None,
        "iterations": args.iterations,
        "examples": args.examples,
        "val_per_skill": args.val_per_skill,
        "test_per_skill": args.test_per_skill,
    }
    config = dataclasses.replace(config, **{k: v for k, v in overrides.items() if v is not None})
    work = Path(args.workdir) / (f"{args.domain}-quick" if args.quick else args.domain)
    given = [a for a in (sys.argv[1:] if argv is None else argv) if a != "--report-only"]
    command = " ".join(["python benchmarks/bench_dataenv_teachers.py", *given])
    result = run(
        config,
        work,
        Path(args.results),
        args.target,
        args.backend,
        command,
        play_missing=not args.report_only,
        setting=args.domain,
        teachers=args.teachers,
    )
    for row in result["rows"]:
        print(json.dumps({**row, **result["power"].get(row["metric"], {})}))
    return result


if __name__ == "__main__":
    main()
