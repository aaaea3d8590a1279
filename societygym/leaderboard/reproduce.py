"""Verification by reproduction, and re-scoring stale bundles.

``verify`` only shows that a bundle is consistent: anyone can write episodes, recompute the
summary and the hash. A bundle is **verified** when someone re-ran its specification (suite,
agent spec, group size, under the code versions it records) and every episode matched:

- ``exact`` (agents that do not sample: no LLM, or temperature 0): every episode's return,
  length, metric value and info are identical;
- ``paired`` (agents sampling at temperature > 0): for every task, the mean difference of
  the metric values (reproduced minus stated) is within ``Z`` standard errors of zero
  (a paired z-test; a fabricated score is many standard errors away).

Each attempt, passed or not, is a row in the store's ``verifications`` table: who ran it,
the societygym version and git commit, the backend, the code versions, the time.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from societygym.leaderboard.hashing import canonical_json
from societygym.leaderboard.suites import Suite

Z = 3.0  # the paired rule's threshold, in standard errors
COMPARED = ("return", "length", "value", "info", "curve")


class NotReproducible(ValueError):
    """A bundle that cannot be reproduced as it stands (e.g. made under older code)."""


@dataclass(frozen=True)
class Verification:
    passed: bool
    rule: str
    mismatches: int
    first_mismatch: str | None
    record: dict[str, Any]


def rule_for(agent: Mapping[str, Any]) -> str:
    """``paired`` for an agent that samples (an LLM at temperature > 0), else ``exact``."""
    llm = agent.get("llm") or {}
    temperature = llm.get("temperature") if isinstance(llm, Mapping) else None
    sampling = isinstance(temperature, (int, float)) and temperature > 0
    return "paired" if sampling else "exact"


def _describe(stated: Mapping[str, Any], again: Mapping[str, Any]) -> str:
    key = f"task {stated['task']!r}, seed {stated['seed']}, index {stated['index']}"
    for field in COMPARED:
        if stated.get(field) != again.get(field):
            return (
                f"episode ({key}): {field} {stated.get(field)!r} in the bundle, "
                f"{again.get(field)!r} reproduced"
            )
    return f"episode ({key}) differs"


def _paired_failures(
    suite: Suite, stated: Sequence[Mapping[str, Any]], again: Sequence[Mapping[str, Any]]
) -> list[str]:
    failures = []
    for task in suite.tasks:
        diffs = [
            float(b["value"]) - float(a["value"])
            for a, b in zip(stated, again, strict=True)
            if a["task"] == task.name
        ]
        mean = sum(diffs) / len(diffs)
        var = sum((d - mean) ** 2 for d in diffs) / max(1, len(diffs) - 1)
        error = math.sqrt(var / len(diffs))
        if abs(mean) > Z * error + 1e-12:
            failures.append(f"task {task.name!r}: mean difference {mean:+.4f} > {Z} x {error:.4f}")
    return failures


def compare(
    suite: Suite,
    stated: Sequence[Mapping[str, Any]],
    again: Sequence[Mapping[str, Any]],
    rule: str,
) -> tuple[bool, int, str | None]:
    """``(passed, episodes that differ, the first difference)``; both lists in suite order."""
    # both sides as they read back from JSON, so 1 and 1.0, tuples and lists compare alike
    stated = json.loads(canonical_json(list(stated)))
    again = json.loads(
        canonical_json([{k: e.get(k) for k in (*COMPARED, "task", "seed", "index")} for e in again])
    )
    differ = [
        (a, b)
        for a, b in zip(stated, again, strict=True)
        if any(a.get(f) != b.get(f) for f in COMPARED)
    ]
    first = _describe(*differ[0]) if differ else None
    if rule == "exact":
        return not differ, len(differ), first
    failures = _paired_failures(suite, stated, again)
    return not failures, len(differ), "; ".join(failures) or first


def verifier() -> str:
    """Who ran the reproduction: ``$SOCIETYGYM_VERIFIER``, else user@host."""
    import getpass
    import socket

    return os.environ.get("SOCIETYGYM_VERIFIER") or f"{getpass.getuser()}@{socket.gethostname()}"


def reproduce(
    bundle: Mapping[str, Any],
    run_dir: Path,
    *,
    backend: str = "process",
    workers: int | None = None,
    progress: bool = True,
    who: str | None = None,
) -> Verification:
    """Re-run a (valid) bundle's specification in ``run_dir`` and compare every episode."""
    from societygym.leaderboard.bundle import software
    from societygym.leaderboard.evaluate import AgentSpec, evaluate
    from societygym.leaderboard.stats import summarize
    from societygym.leaderboard.versions import changes, current

    suite = Suite.from_dict(bundle["suite"])
    changed = changes(bundle, suite)
    if changed:
        raise NotReproducible(
            f"bundle {bundle['hash'][:19]} was made under older code ({', '.join(changed)}); "
            "`leaderboard rescore --stale` re-runs it under the current code"
        )
    agent = bundle["agent"]
    spec = {
        "suite": bundle["suite"],
        "agent": agent,
        "group_size": bundle["evaluation"]["group_size"],
        "versions": current(suite),
    }
    results = evaluate(
        suite,
        AgentSpec(agent["spec"], agent["args"]),
        run_dir,
        backend=backend,
        workers=workers,
        progress=progress,
        spec=spec,
    )
    rule = rule_for(agent)
    passed, mismatches, first = compare(suite, bundle["episodes"], results, rule)
    made_with = software()
    sha = made_with.get("git_sha")
    record = {
        "bundle_hash": bundle["hash"],
        "passed": passed,
        "rule": rule,
        "episodes": len(results),
        "mismatches": mismatches,
        "first_mismatch": first,
        "score": summarize(suite, results)["score"],
        "verifier": who or verifier(),
        "societygym_version": made_with.get("societygym") or "?",
        "git_sha": f"{sha}-dirty" if sha and made_with.get("git_dirty") else sha,
        "backend": backend,
        "versions": current(suite),
        "verified_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    return Verification(passed, rule, mismatches, first, record)


# --- re-scoring stale entries ---------------------------------------------------------------


def stale_specs(store: Any, suite: str | None = None) -> list[dict[str, Any]]:
    """The stale bundles to re-run, one per (name, suite spec, agent spec, group size), and
    not those already re-scored under the current versions (so a killed rescore resumes)."""

    def key(bundle: Mapping[str, Any]) -> str:
        return canonical_json(
            [bundle["name"], bundle["suite"]["hash"], bundle["agent"], bundle["evaluation"]]
        )

    rows = store.rows(suite)
    done = {key(store.get(r["hash"])) for r in rows if not r["stale"]}
    todo: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["stale"]:
            bundle = store.get(row["hash"])
            if key(bundle) not in done:
                todo.setdefault(key(bundle), bundle)
    return list(todo.values())


def rescore(
    store: Any,
    *,
    suite: str | None = None,
    runs: str | Path,
    backend: str = "process",
    workers: int | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Re-run every stale entry under the current code and store the new bundles; the old
    rows stay (the store is append-only), flagged stale."""
    from societygym.leaderboard.commands import submit

    fresh = []
    for old in stale_specs(store, suite):
        bundle = submit(
            Suite.from_dict(old["suite"]),
            old["agent"]["spec"],
            dict(old["agent"]["args"]),
            old["name"],
            runs=runs,
            backend=backend,
            workers=workers,
            batch_size=int(old["evaluation"]["group_size"]),
            progress=progress,
            store=False,
        )
        store.add(bundle)
        fresh.append(bundle)
    return fresh
