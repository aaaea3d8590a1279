"""Run ReGAL's own data files through the program envs and print the pass counts (one JSON line).

Usage: ``python benchmarks/check_regal_reference.py <folder> [--no-regal-judge]``, where the
folder holds any of ReGAL's files under these names: ``logo_train_200.jsonl``,
``logo_dev_100.jsonl`` (``logo_data/python``), ``date_dev.jsonl`` (``dev.jsonl`` of
``python_data/date/gpt-3.5-turbo_NL+SL``), ``date_train_outputs.jsonl``
(``train_outputs.jsonl``), ``textcraft_dev.jsonl`` and ``textcraft_train*.jsonl``
(``python_data/textcraft/gpt-4``). The files are read, never copied.

- LOGO: every gold program must earn reward 1 through ``ReGAL-Logo-v0`` (sandbox included) on
  its own task; three perturbations of each (the first ``forward`` 0.25 longer, the first turn 2
  degrees wider, the first drawing line outside an embed replaced by ``pass``) are judged in
  process. A perturbation "changes the drawing" when its segments differ from the gold's. The
  judge-agreement table compares our judge with a re-implementation of ReGAL's (2000x2000
  matplotlib render, linewidth 3, JPEG, exact gray equality over the non-white union > 0.98).
- Date: every row must load; its gold answer scores 1 and a date one day later scores 0;
  ReGAL's train programs (outputs file), judged by ReGAL's convention, score 1.
- TextCraft: every row must load and its goal reset (``ReGAL-TextCraft-v0``, world "adapt");
  every gold program must craft its goal through the sandbox.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from societygym.envs.programs.date import tasks as date_tasks
from societygym.envs.programs.date.date_env import ReGALDateEnv
from societygym.envs.programs.jsonl import numbered_rows
from societygym.envs.programs.logo import judge, render
from societygym.envs.programs.logo.dsl import run_program
from societygym.envs.programs.logo.logo_env import ReGALLogoEnv
from societygym.envs.programs.logo.tasks import load_regal_jsonl
from societygym.envs.programs.textcraft import tasks as textcraft_tasks
from societygym.envs.programs.textcraft.program_env import TextCraftProgramEnv

REGAL_THRESHOLD = 0.98
_ARGS = r"\(([^()]*)\)"


def longer_forward(program: str) -> str:
    return re.sub(r"forward" + _ARGS, r"forward(\1 + 0.25)", program, count=1)


def wider_turn(program: str) -> str:
    return re.sub(r"(left|right)" + _ARGS, r"\1(\2 + 2)", program, count=1)


def dropped_line(program: str) -> str:
    lines = program.split("\n")
    for number, line in enumerate(lines):
        if "forward(" in line and "embed(" not in line:
            lines[number] = line[: len(line) - len(line.lstrip())] + "pass"  # stays parseable
            break
    return "\n".join(lines)


PERTURBATIONS: dict[str, Callable[[str], str]] = {
    "forward +0.25": longer_forward,
    "angle +2 deg": wider_turn,
    "line dropped": dropped_line,
}


class RegalJudge:
    """ReGAL's renderer and judge, re-implemented: ``PyTurtle`` draws each segment as a black
    matplotlib line of width 3 on [-50, 50]² axes (no ticks, no frame) in a 20x20-inch figure
    (2000x2000 px), saved as JPEG and read back in grayscale; ``vis_compare`` is the fraction
    of the non-white union with equal gray values."""

    def __init__(self) -> None:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt

        self.fig, self.ax = plt.subplots(1, 1, figsize=(20, 20))
        self.ax.set_xlim(-50, 50)
        self.ax.set_ylim(-50, 50)
        self.ax.set_xticks([])
        self.ax.set_yticks([])
        for spine in self.ax.spines.values():
            spine.set_visible(False)

    def image(self, segments: np.ndarray) -> np.ndarray:
        from matplotlib.collections import LineCollection
        from PIL import Image

        # one collection draws the same pixels as one plot() per segment, much faster
        lines = LineCollection(
            segments.reshape(-1, 2, 2),
            colors="black",
            linewidths=3,
            capstyle="projecting",
            joinstyle="round",
        )
        self.ax.add_collection(lines)
        self.fig.canvas.draw()
        size = self.fig.canvas.get_width_height()
        rgb = Image.frombuffer("RGBA", size, self.fig.canvas.buffer_rgba()).convert("RGB")
        lines.remove()
        jpeg = io.BytesIO()
        rgb.save(jpeg, format="JPEG")
        return np.asarray(Image.open(jpeg).convert("L"))

    @staticmethod
    def correct(drawing: np.ndarray, target: np.ndarray) -> bool:
        return bool(judge.overlap(drawing, target) > REGAL_THRESHOLD)


def _rows(path: Path) -> list[dict[str, Any]]:
    return [row for _, row in numbered_rows(path)]


def same_drawing(a: np.ndarray, b: np.ndarray) -> bool:
    """The same segments (as unordered, undirected pieces), up to float noise."""

    def canonical(segments: np.ndarray) -> np.ndarray:
        pieces = np.round(segments, 9).reshape(-1, 2, 2)
        flip = (pieces[:, 0, 0] > pieces[:, 1, 0]) | (
            (pieces[:, 0, 0] == pieces[:, 1, 0]) & (pieces[:, 0, 1] > pieces[:, 1, 1])
        )
        pieces[flip] = pieces[flip][:, ::-1]
        return np.unique(pieces.reshape(-1, 4), axis=0)

    return a.shape == b.shape and np.array_equal(canonical(a), canonical(b))


def check_logo(files: list[Path], regal: RegalJudge | None) -> dict[str, Any]:
    # every row, repeated queries too: each gold program is its own task's target
    tasks = [task for path in files for task in load_regal_jsonl(path, keep_repeats=True)]
    env = ReGALLogoEnv(tasks=tasks)
    gold_rewarded = 0
    table: Counter[tuple[str, bool, bool, bool]] = Counter()  # variant, changed, ours, regal's
    for index, task in enumerate(tasks):
        env.reset(options={"index": index})
        gold_rewarded += int(env.step(task.program)[1] == 1.0)
        gold = run_program(task.program)
        target = render.render(gold)
        regal_target = regal.image(gold) if regal else None
        variants = {"gold": task.program}
        variants.update({k: perturb(task.program) for k, perturb in PERTURBATIONS.items()})
        for variant, program in variants.items():
            segments = run_program(program)
            ours = judge.judge(render.render(segments), target).correct
            theirs = regal.correct(regal.image(segments), regal_target) if regal else None
            changed = not same_drawing(segments, gold)
            table[(variant, changed, bool(ours), None if theirs is None else bool(theirs))] += 1
    return {
        "rows": len(tasks),
        "gold_rewarded": gold_rewarded,
        "perturbations": {
            variant: {
                "changed": sum(n for k, n in table.items() if k[0] == variant and k[1]),
                "changed_but_passed": sum(
                    n for k, n in table.items() if k[0] == variant and k[1] and k[2]
                ),
                "unchanged": sum(n for k, n in table.items() if k[0] == variant and not k[1]),
            }
            for variant in PERTURBATIONS
        },
        "judge_agreement": [
            {"variant": v, "drawing_changed": c, "ours": o, "regal": r, "count": n}
            for (v, c, o, r), n in sorted(table.items())
        ],
    }


def check_date(folder: Path) -> dict[str, Any]:
    report: dict[str, Any] = {}
    dev = folder / "date_dev.jsonl"
    if dev.exists():
        rows = _rows(dev)
        env = ReGALDateEnv(source=dev)  # the loader under test, through source=
        by_question = {task.question: i for i, task in enumerate(env.tasks)}
        gold_ok = day_off_rejected = 0
        for row in rows:
            index = by_question[row["question"].strip()]
            gold = env.tasks[index].answer
            later = datetime.strptime(gold, "%m/%d/%Y") + timedelta(days=1)
            env.reset(options={"index": index})
            gold_ok += env.step(f"answer = {gold!r}")[1] == 1.0
            env.reset(options={"index": index})
            day_off = f"{later:%m/%d/%Y}"
            day_off_rejected += env.step(f"answer = {day_off!r}")[1] == 0.0
        report["dev"] = {
            "rows": len(rows),
            "tasks": len(env.tasks),
            "gold_scores_1": gold_ok,
            "day_off_scores_0": day_off_rejected,
        }
    outputs = folder / "date_train_outputs.jsonl"
    if outputs.exists():
        rows = _rows(outputs)
        env = ReGALDateEnv(tasks=[date_tasks.generate_tasks()[0]])
        passed = 0
        for row in rows:  # ReGAL's programs: the answer is what their last line prints
            gold = date_tasks.normalize_date(row["answer"].removeprefix("####").strip())
            passed += env.evaluate(row["completion"], gold)["correct"]
        report["train_programs"] = {"rows": len(rows), "regal_convention_correct": passed}
    return report


def check_textcraft(files: list[Path]) -> dict[str, Any]:
    report: dict[str, Any] = {}
    for path in files:
        tasks = textcraft_tasks.load_regal_jsonl(path)
        env = TextCraftProgramEnv(tasks=tasks)
        reset = crafted = with_program = 0
        for index, task in enumerate(tasks):
            observation, info = env.reset(options={"index": index})
            reset += f"Goal: craft {task.goal}." in observation and info["task_id"] == task.task_id
            if task.program is not None:
                with_program += 1
                crafted += env.step(task.program)[1] == 1.0
        report[path.name] = {
            "rows": len(tasks),
            "goals_reset": reset,
            "gold_programs": with_program,
            "gold_crafted": crafted,
        }
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--no-regal-judge", action="store_true", help="skip the 2000px renders")
    args = parser.parse_args(argv)
    folder: Path = args.folder
    start = time.perf_counter()
    logo_files = sorted(folder.glob("logo_*.jsonl"))
    regal = None if args.no_regal_judge else RegalJudge()
    result = {
        "logo": check_logo(logo_files, regal) if logo_files else None,
        "date": check_date(folder),
        "textcraft": check_textcraft(sorted(folder.glob("textcraft_*.jsonl"))),
    }
    result["seconds"] = round(time.perf_counter() - start, 1)
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
