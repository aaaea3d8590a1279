"""Submitting an agent to a suite: evaluate (or resume), build the bundle, store it. Kept
apart from the command line so that the CLI, the baselines and ``reproduce`` share it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from societygym.leaderboard.suites import Suite

DEFAULT_RUNS = "runs/leaderboard"


def submit(
    suite_name: str | Suite,
    agent: str,
    agent_args: dict[str, Any],
    name: str,
    *,
    db: str | None = None,
    runs: str | Path = DEFAULT_RUNS,
    run_dir: str | Path | None = None,
    backend: str = "process",
    workers: int | None = None,
    batch_size: int = 8,
    progress: bool = True,
    store: bool = True,
) -> dict[str, Any]:
    """Evaluate (or resume evaluating) an agent on a suite, write its bundle, store it."""
    from societygym.leaderboard import bundle as bundles
    from societygym.leaderboard.episodes import AgentSpec
    from societygym.leaderboard.evaluate import evaluate, run_folder, run_spec
    from societygym.leaderboard.suites import get_suite

    bundles.check_name(name)
    suite = suite_name if isinstance(suite_name, Suite) else get_suite(suite_name)
    spec_agent = AgentSpec(agent, agent_args)
    spec = run_spec(suite, spec_agent, batch_size)
    folder = Path(run_dir) if run_dir else run_folder(Path(runs), name, spec)
    start = time.perf_counter()
    results = evaluate(
        suite,
        spec_agent,
        folder,
        backend=backend,
        workers=workers,
        batch_size=batch_size,
        progress=progress,
        spec=spec,
    )
    run = {
        "wall_s": round(time.perf_counter() - start, 3),
        "backend": backend,
        "workers": workers,
        "run_dir": str(folder),
    }
    bundle = bundles.build(name, suite, spec, results, run=run)
    bundles.write(bundle, folder / "bundle.json")
    if store:
        from societygym.leaderboard.store import Store

        Store(db).add(bundle)
    return bundle
