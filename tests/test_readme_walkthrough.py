"""The README's quick commands, run as a new user runs them, so the README cannot drift.

A fenced ``bash`` or ``python`` block right after a ``<!-- walkthrough -->`` comment is a
walkthrough block (``<!-- walkthrough slow -->`` when it loads the embedded LLM, trains, or
starts a Ray cluster). Each block runs in one scratch folder shared by the whole module, in
README order, so a block may use what an earlier one wrote: a bash block command by command, a
python block as one script. A command passes when it exits 0 and every path it names after
``--out``, ``--out-dir``, ``--runs``, ``--workdir`` or ``--results`` holds a non-empty file (or
is a folder holding one), or, naming none, when it prints something. Each command's time is printed
(``-s`` shows it): the README's quick sizes are meant to take under two minutes each.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"<!-- walkthrough( slow)? -->\s*\n```(bash|python)\n(.*?)```", re.DOTALL)
OUTPUT_FLAGS = ("--out", "--out-dir", "--runs", "--workdir", "--results")
COMMAND_TIMEOUT_S = 1800  # a hung command fails; the two-minute target is reported, not asserted


@dataclass(frozen=True)
class Block:
    slow: bool
    language: str
    commands: tuple[str, ...]

    @property
    def name(self) -> str:
        if self.language == "python":
            return "python " + re.sub(r"\W+", " ", self.commands[0].split("\n")[-2])[:40]
        words = self.commands[0].split()
        return " ".join(w for w in words[:4] if not w.startswith("-"))

    def argv(self, command: str) -> list[str]:
        if self.language == "python":
            return [sys.executable, "-c", command]
        return ["bash", "-c", command]


def commands_of(text: str) -> tuple[str, ...]:
    """The commands of a block: continuation lines joined, comment lines dropped."""
    joined = re.sub(r"\s*\\\n\s*", " ", text)
    return tuple(
        line.strip()
        for line in joined.splitlines()
        if line.strip() and not line.strip().startswith("#")
    )


def walkthrough_blocks(readme: str) -> list[Block]:
    return [
        Block(bool(slow), language, commands_of(body) if language == "bash" else (body,))
        for slow, language, body in BLOCK.findall(readme)
    ]


def outputs_of(block: Block, command: str) -> list[str]:
    if block.language != "bash":
        return []
    words = shlex.split(command, comments=True)
    return [words[i + 1] for i, word in enumerate(words[:-1]) if word in OUTPUT_FLAGS]


def has_content(path: Path) -> bool:
    if path.is_dir():
        return any(f.is_file() and f.stat().st_size > 0 for f in path.rglob("*"))
    return path.is_file() and path.stat().st_size > 0


BLOCKS = walkthrough_blocks(README.read_text(encoding="utf-8"))


def test_the_readme_marks_its_quick_commands() -> None:
    assert len(BLOCKS) >= 5 and any(b.slow for b in BLOCKS) and any(not b.slow for b in BLOCKS)
    assert {b.language for b in BLOCKS} == {"bash", "python"} and BLOCKS[0].language == "bash"
    assert all(b.commands for b in BLOCKS)
    text = "--out runs/a  # comment --out not-this"
    assert outputs_of(BLOCKS[0], f"python -m x {text}") == ["runs/a"]
    block = "# a comment\nfoo --a 1 \\\n    --b 2\n\nbar\n"
    assert commands_of(block) == ("foo --a 1 --b 2", "bar")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The folder every block runs in, and an environment that keeps it offline and away
    from the user's leaderboard database. ``benchmarks/`` is linked in, so that its scripts
    run as from a checkout's root."""
    folder = tmp_path_factory.mktemp("walkthrough")
    (folder / "benchmarks").symlink_to(README.parent / "benchmarks", target_is_directory=True)
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",
        SOCIETYGYM_LEADERBOARD_DB=str(folder / "leaderboard.db"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    return folder, env


@pytest.mark.parametrize(
    "block",
    [
        pytest.param(
            b,
            # the suite's 600 s per test is per block here: each command gets its own limit
            marks=[pytest.mark.timeout(COMMAND_TIMEOUT_S * len(b.commands))]
            + ([pytest.mark.slow] if b.slow else []),
            id=b.name,
        )
        for b in BLOCKS
    ],
)
def test_readme_block_runs_and_writes_its_outputs(
    block: Block, scratch: tuple[Path, dict[str, str]]
) -> None:
    folder, env = scratch
    for command in block.commands:
        start = time.perf_counter()
        done = subprocess.run(
            block.argv(command),
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            errors="replace",  # a model's sampled text may hold bytes that are not UTF-8
            timeout=COMMAND_TIMEOUT_S,
        )
        print(f"{time.perf_counter() - start:7.1f}s  {block.name}: {command[:300]}")
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
        outputs = outputs_of(block, command)
        for output in outputs:
            assert has_content(folder / output), f"{command} left {output} empty or absent"
        if not outputs:
            assert done.stdout.strip(), f"{command} printed nothing"
