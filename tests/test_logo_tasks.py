"""The templated LOGO tasks: reference programs, splits, deduplication, the ReGAL loader."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from societygym.envs.programs.logo import judge, render, tasks
from societygym.envs.programs.logo.dsl import MAX_COMMANDS, run_program

FIXTURE = Path(__file__).parent / "fixtures" / "regal_logo_sample.jsonl"
ALL = tasks.load_logo_tasks("all")
BY_QUERY = {t.query: t for t in ALL}

# family: (train, dev, test)
COUNTS = {
    "ngon": (8, 3, 3),
    "circle": (2, 1, 1),
    "in_a_row": (20, 6, 6),
    "next_to": (135, 45, 45),
    "separated": (135, 45, 45),
    "connected": (269, 90, 90),
    "snowflake": (414, 138, 138),
    "concentric_squares": (4, 1, 1),
    "concentric_circles": (5, 1, 1),
    "staircase": (4, 1, 1),
    "zigzag": (1, 1, 1),
    "spiral": (2, 1, 1),
    "star": (1, 1, 1),
}


def ink(source: str) -> np.ndarray:
    """Sorted flat indices of the ink pixels: small enough to keep one per task."""
    return np.flatnonzero(render.render_program(source) == render.INK)


@pytest.fixture(scope="module")
def pictures() -> dict[str, np.ndarray]:
    return {t.query: ink(t.program) for t in ALL}


def test_every_reference_program_draws_inside_the_canvas_within_budget() -> None:
    for task in ALL:
        segments = run_program(task.program, max_commands=MAX_COMMANDS // 5)  # a wide margin
        assert len(segments) and not render.out_of_canvas(segments), task.query


@pytest.mark.parametrize("family", tasks.FAMILIES)
def test_reference_programs_are_judged_correct(family: str) -> None:
    for task in [t for t in ALL if t.family == family][:25]:
        target = render.render_program(task.program)
        assert judge.judge(render.render_program(task.program), target).correct


PERTURBATIONS = [
    # one angle changed
    ("a small 7 gon", "left(360 / 7)", "left(50)"),
    ("7 sided snowflake with a small square as arms", "left(360 / 7)", "left(360 / 8)"),
    ("a 5 pointed star", "left(180 - 36)", "left(180 - 40)"),
    ("a 4 stepped zigzag", "left(45)", "left(30)"),
    # one length changed
    ("a medium square", "forward(4)", "forward(3)"),
    ("a small circle connected by a big line to a small triangle", "forward(20)", "forward(16)"),
    ("a medium 5 gon next to a small 8 gon", "forward(8)", "forward(10)"),
    ("a medium semicircle", "EPS_DIST * 2", "EPS_DIST * 1.8"),
    # a missing loop iteration
    ("4 small square s in a row", "range(4)", "range(3)"),
    ("5 concentric square s", "range(6)", "range(5)"),
    ("4 concentric circle s", "range(5)", "range(4)"),
    ("a 6 stepped staircase", "range(6)", "range(5)"),
    ("a small 6 gon", "range(6)", "range(5)"),
    ("a greek spiral with 7 turns", "range(8)", "range(7)"),
    ("6 sided snowflake with a medium line and a small 5 gon as arms", "range(6)", "range(5)"),
    # the pen never lifted where it should be
    ("a small square next to a medium triangle", "penup()", "pendown()"),
    ("a medium circle separated by a big space from a small 5 gon", "penup()", "pendown()"),
    ("5 sided snowflake with a medium space and a small circle as arms", "penup()", "pendown()"),
    ("3 small circle s in a row", "penup()", "pendown()"),
]


@pytest.mark.parametrize(("query", "old", "new"), PERTURBATIONS)
def test_perturbed_programs_are_judged_wrong(query: str, old: str, new: str) -> None:
    program = BY_QUERY[query].program
    assert old in program
    target = render.render_program(program)
    verdict = judge.judge(render.render_program(program.replace(old, new, 1)), target)
    assert not verdict.correct, verdict


def test_pictures_are_unique_and_same_picture_is_exact(pictures: dict[str, np.ndarray]) -> None:
    kept = {p.tobytes(): q for q, p in pictures.items()}
    assert len(kept) == len(pictures), "two kept queries draw the same picture"
    dropped = {q: p for _, q, p in tasks.templated() if q in tasks.SAME_PICTURE}
    assert set(dropped) == tasks.SAME_PICTURE
    for query, program in dropped.items():
        assert ink(program).tobytes() in kept, query


def test_no_two_tasks_pass_for_each_other(pictures: dict[str, np.ndarray]) -> None:
    """No pair is judge-equivalent (so solving one query never solves another)."""
    queries = sorted(pictures, key=lambda q: len(pictures[q]))
    sizes = [len(pictures[q]) for q in queries]
    for a, query in enumerate(queries):
        for b in range(a + 1, len(queries)):
            if sizes[a] < judge.THRESHOLD * sizes[b]:
                break  # IoU <= smaller / larger
            shared = len(np.intersect1d(pictures[query], pictures[queries[b]], assume_unique=True))
            assert shared / (sizes[a] + sizes[b] - shared) < judge.THRESHOLD, (query, queries[b])


def test_splits_are_disjoint_complete_and_pinned() -> None:
    by_split = {s: tasks.load_logo_tasks(s) for s in tasks.SPLITS}
    ids = [t.id for s in tasks.SPLITS for t in by_split[s]]
    assert len(ids) == len(set(ids)) == len(ALL)
    queries = [{t.query for t in by_split[s]} for s in tasks.SPLITS]
    assert not (queries[0] & queries[1] or queries[0] & queries[2] or queries[1] & queries[2])
    counts = Counter((t.family, t.split) for t in ALL)
    assert {f: tuple(counts[f, s] for s in tasks.SPLITS) for f in tasks.FAMILIES} == COUNTS
    assert tasks.generate() == ALL
    assert tasks.fingerprint(ALL) == tasks.FINGERPRINT
    assert BY_QUERY["a 5 pointed star"].id == "logo-star-fffe9c88c4"


def test_load_logo_tasks_rejects_unknown_splits() -> None:
    with pytest.raises(ValueError, match="unknown split"):
        tasks.load_logo_tasks("validation")


def test_family_of_regal_queries() -> None:
    for task in ALL:
        assert tasks.family_of(task.query) == task.family, task.query
    assert tasks.family_of("draw a house") == "other"


def test_load_regal_jsonl() -> None:
    loaded = tasks.load_regal_jsonl(FIXTURE, split="train")
    rows = FIXTURE.read_text().splitlines()
    assert len(rows) == 8 and len(loaded) == 7  # one repeated query
    assert loaded[0].origin == "regal_logo_sample.jsonl:0" and loaded[-1].origin.endswith(":7")
    assert all(t.split == "train" and t.id.startswith("regal-") for t in loaded)
    assert all(t.family == BY_QUERY[t.query].family for t in loaded)
    # ReGAL-style programs (embed with locals(), teleport and heading in radians, while
    # loops, helpers, negative turns) draw the pictures of our templates, the repeat too
    for row in map(json.loads, rows):
        (query,) = row["language"]
        verdict = judge.judge(
            render.render_program(row["program"]), render.render_program(BY_QUERY[query].program)
        )
        assert verdict.correct, (query, verdict)


def test_load_regal_jsonl_rejects_malformed_rows(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"program": "forward(1)"}) + "\n")
    with pytest.raises(ValueError, match=r"bad\.jsonl:1"):
        tasks.load_regal_jsonl(path)
