"""The built-in baselines of every setting, and the suites each applies to.

``societygym leaderboard baselines`` evaluates them; the cheap ones (no LLM, no training)
are evaluated for the shipped board (``societygym/leaderboard/board/``), the others with
``--expensive`` (the embedded LLM agents on CPU take hours over a whole suite; the teaching
baselines train the student on every step). ``baselines/regal`` plays with the code banks
shipped in ``societygym/baselines/regal/banks/`` (learned with the embedded LLM; see there).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from societygym.leaderboard.suites import SUITES
from societygym.registry import TEACHING_DOMAINS


@dataclass(frozen=True)
class Baseline:
    name: str  # TEAM/AGENT on the board
    agent: str  # an alias of ``societygym.agents.ALIASES``
    suites: tuple[str, ...]
    args: Mapping[str, Any] = field(default_factory=dict)
    expensive: bool = False
    # A trained checkpoint the agent loads, and the command that makes it: a baseline
    # whose checkpoint is absent is skipped with that command, not failed.
    checkpoint: str | None = None
    made_by: str = ""

    def missing_checkpoint(self) -> str:
        """Why this baseline cannot run here ("" when it can)."""
        if self.checkpoint is None or Path(self.checkpoint).is_dir():
            return ""
        return f"{self.name}: no checkpoint at {self.checkpoint}; make it with `{self.made_by}`"


_TEXT = ("trivia", "persuasion", "programs")
# the longest reference program of any ReGAL domain is 160 SmolLM2 tokens; the embedded model
# otherwise repeats itself up to the agent's default 512 (36 s an episode on one core)
_REGAL_ARGS = {"max_tokens": 256}
_LACIE_CHECKPOINT = "runs/effect_lacie/train/seed0"  # relative to the working directory
_PBT_CHECKPOINT = "runs/effect_pbt/train/seed0/model"  # SFT and DPO merged: a full model
_GRPO_TRIVIA_CHECKPOINT = "runs/effect_grpo/Trivia-Calibration-v0/seed0"  # a LoRA adapter


def _teaching_baselines() -> list[Baseline]:
    """The DataEnvGym teachers, per domain whose suites are registered (the procedural
    teachers write that domain's examples; the tree policies need no domain)."""
    found = []
    for domain in TEACHING_DOMAINS:
        base = f"teaching-{domain.stem.lower()}"
        kinds = [s for s in (base, f"{base}-skill-list", f"{base}-skill-tree") if s in SUITES]
        if not kinds:
            continue
        data = {"domain": domain.name, "examples_per_step": 40}
        writing = tuple(s for s in kinds if not s.endswith("skill-tree"))
        tree = tuple(s for s in kinds if s.endswith("skill-tree"))
        found += [
            Baseline(
                "baselines/no-state-teacher",
                "nostate-teacher",
                writing,
                data,
                expensive=True,
            ),
            Baseline(
                "baselines/skill-list-teacher",
                "skill-list-teacher",
                tuple(s for s in writing if s.endswith("skill-list")),
                data,
                expensive=True,
            ),
            Baseline(
                "baselines/alternating-tree",
                "tree-alternating",
                tree,
                expensive=True,
            ),
            Baseline("baselines/threshold-tree", "tree-threshold", tree, expensive=True),
            Baseline("baselines/llm-teacher", "llm-teacher", kinds, expensive=True),
        ]
    return found


def _trained_llm(
    method: str, suites: tuple[str, ...], kind: str, checkpoint: str, script: str
) -> Baseline:
    """``baselines/llm-embedded-<method>``: the ``llm`` agent on a checkpoint that
    ``benchmarks/<script>`` writes (``kind``: ``lora`` adapter or ``hf`` full model)."""
    return Baseline(
        f"baselines/llm-embedded-{method}",
        "llm",
        suites,
        {"llm": f"{kind}:{checkpoint}"},
        expensive=True,
        checkpoint=checkpoint,
        made_by=f"python benchmarks/{script}",
    )


BASELINES: tuple[Baseline, ...] = (
    Baseline("baselines/random", "random", (*_TEXT, "trivia-listener")),
    Baseline("baselines/fixed", "fixed", _TEXT),
    Baseline("baselines/always-accept", "fixed", ("trivia-listener",), {"action": 1}),
    Baseline(
        "baselines/scripted-debater",
        "scripted-debater",
        ("persuasion",),
    ),
    Baseline("baselines/llm-embedded", "llm", (*_TEXT, "trivia-listener"), expensive=True),
    # The embedded model after each effect experiment's training (its first training seed).
    _trained_llm("lacie", ("trivia",), "lora", _LACIE_CHECKPOINT, "effect_lacie.py"),
    _trained_llm("pbt", ("persuasion",), "hf", _PBT_CHECKPOINT, "effect_pbt.py"),
    _trained_llm(
        "grpo",
        ("trivia",),
        "lora",
        _GRPO_TRIVIA_CHECKPOINT,
        "effect_grpo.py --tasks Trivia-Calibration-v0",
    ),
    Baseline(
        "baselines/regal-primitive",
        "regal-primitive",
        ("programs",),
        _REGAL_ARGS,
        expensive=True,
    ),
    Baseline(
        "baselines/regal",
        "regal",
        ("programs",),
        # agents.regal.SHIPPED_BANKS, not imported: that module loads the LLM stack
        {**_REGAL_ARGS, "codebank": "shipped"},
        expensive=True,
    ),
    *_teaching_baselines(),
)


@dataclass(frozen=True)
class Coverage:
    """One (baseline, suite) pair and the bundle that scores it under the suite's current
    spec (``None``: not evaluated, or only under an older version of the suite)."""

    baseline: Baseline
    suite: str
    bundle: str | None


def board_coverage(bundles: Iterable[Mapping[str, Any]]) -> list[Coverage]:
    """Which baseline pairs the given bundles cover, in :data:`BASELINES` order."""
    found = {(b["name"], b["suite"]["name"], b["suite"]["hash"]): b["hash"] for b in bundles}
    return [
        Coverage(baseline, suite, found.get((baseline.name, suite, SUITES[suite].spec_hash)))
        for baseline in BASELINES
        for suite in baseline.suites
    ]


def shipped_bundles() -> list[dict[str, Any]]:
    """The bundles of the shipped board, as stored in the package."""
    from societygym.leaderboard.store import SHIPPED

    return [json.loads(path.read_text()) for path in sorted(SHIPPED.glob("*.json"))]


def run_baselines(
    suites: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
    out: str | Path | None = None,
    *,
    db: str | None = None,
    backend: str = "process",
    workers: int | None = None,
    include_expensive: bool = False,
    missing_only: bool = False,
    progress: bool = True,
) -> Iterator[dict[str, Any]]:
    """Evaluate every selected baseline on every selected suite it applies to;
    ``missing_only`` skips the pairs the shipped board already scores."""
    from societygym.leaderboard.bundle import write
    from societygym.leaderboard.store import file_name
    from societygym.leaderboard.submission import submit

    covered = board_coverage(shipped_bundles()) if missing_only else []
    shipped = {(c.baseline.name, c.suite) for c in covered if c.bundle}
    for baseline in BASELINES:
        if baseline.expensive and not include_expensive:
            continue
        if names and baseline.name not in names and baseline.name.split("/")[1] not in names:
            continue
        for suite in baseline.suites:
            if (suites and suite not in suites) or (baseline.name, suite) in shipped:
                continue
            if baseline.missing_checkpoint():
                print(f"skipped {baseline.missing_checkpoint()}", file=sys.stderr)
                continue
            bundle = submit(
                suite,
                baseline.agent,
                dict(baseline.args),
                baseline.name,
                db=db,
                backend=backend,
                workers=workers,
                progress=progress,
            )
            if out is not None:
                write(bundle, Path(out) / file_name(bundle["hash"]))
            yield bundle
