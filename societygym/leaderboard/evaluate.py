"""Evaluating an agent on a suite: serially, on a local process pool, or on Ray, resumably.

The run folder holds ``spec.json`` (what is being evaluated), ``episodes.jsonl`` (a journal:
one line per finished episode, flushed and fsynced before the next is recorded), and one
trace per episode under ``traces/``. A killed run re-started with the same specification
finds its folder, keeps every journaled episode and plays only the others; a torn last line
(the kill hit mid-write) is cut off. Only the main process writes the journal.

Episodes are grouped per task into fixed chunks of the suite's canonical order (of
``batch_size`` for batching agents, else 1), so every backend plays the same groups.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from societygym import progress as progress_bars
from societygym.leaderboard.episodes import AgentSpec, EpisodeWorker, Key
from societygym.leaderboard.hashing import canonical_json, content_hash
from societygym.leaderboard.suites import Suite

BACKENDS = ("serial", "process", "ray")


class Journal:
    """The append-only record of finished episodes of one run."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[Key, dict[str, Any]]:
        """Every complete line; a torn last line is truncated away so appends stay valid."""
        done: dict[Key, dict[str, Any]] = {}
        if not self.path.exists():
            return done
        good = 0
        with open(self.path, "rb") as handle:
            for line in handle:
                if not line.endswith(b"\n"):
                    break
                try:
                    result = json.loads(line)
                except json.JSONDecodeError:
                    break
                done.setdefault((result["task"], result["seed"], result["index"]), result)
                good += len(line)
        if good != self.path.stat().st_size:
            with open(self.path, "r+b") as handle:
                handle.truncate(good)
        return done

    def append(self, results: Iterable[dict[str, Any]]) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            for result in results:
                handle.write(canonical_json(result) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def groups(suite: Suite, size: int, skip: set[Key] | dict[Key, Any]) -> list[list[Key]]:
    """Fixed chunks of each task's episodes, minus those already done."""
    chunks: list[list[Key]] = []
    for task in suite.tasks:
        keys = [k for k in suite.episode_keys() if k[0] == task.name]
        for start in range(0, len(keys), size):
            todo = [k for k in keys[start : start + size] if k not in skip]
            if todo:
                chunks.append(todo)
    return chunks


def run_spec(suite: Suite, agent: AgentSpec, batch_size: int) -> dict[str, Any]:
    """What decides the results of a run (and so names its folder)."""
    from societygym.leaderboard.versions import current

    size = batch_size if agent.batches() else 1
    # the code versions too: a run made before a version bump is not resumed after it
    return {
        "suite": suite.to_dict(),
        "agent": agent.to_dict(),
        "group_size": size,
        "versions": current(suite),
    }


def run_folder(root: Path, name: str, spec: dict[str, Any]) -> Path:
    slug = name.replace("/", "__")
    digest = content_hash(spec).split(":")[1][:12]
    return root / f"{spec['suite']['name']}-v{spec['suite']['version']}" / f"{slug}-{digest}"


# --- backends: each yields the results of every group as groups finish -----------------------

_WORKER: EpisodeWorker | None = None


def mp_context() -> Any:
    """Fork while torch is not loaded (it saves every worker the imports); spawn once it is,
    since a forked child would inherit torch's threads and locks mid-state."""
    import multiprocessing
    import sys

    method = "spawn" if "torch" in sys.modules or sys.platform != "linux" else "fork"
    return multiprocessing.get_context(method)


def _init_worker(suite: dict[str, Any], agent: dict[str, Any], traces: str) -> None:
    global _WORKER
    _WORKER = EpisodeWorker(suite, agent, traces)


def _run_in_worker(keys: list[Key]) -> list[dict[str, Any]]:
    assert _WORKER is not None
    return _WORKER.run_group(keys)


def _serial(
    suite: Suite, agent: AgentSpec, traces: Path, chunks: list[list[Key]], workers: int
) -> Iterator[list[dict[str, Any]]]:
    worker = EpisodeWorker(suite, agent, traces)
    try:
        for chunk in chunks:
            yield worker.run_group(chunk)
    finally:
        worker.close()


def _process(
    suite: Suite, agent: AgentSpec, traces: Path, chunks: list[list[Key]], workers: int
) -> Iterator[list[dict[str, Any]]]:
    from concurrent.futures import ProcessPoolExecutor, as_completed

    context = mp_context()
    initargs = (suite.to_dict(), {"spec": agent.spec, "args": dict(agent.args)}, str(traces))
    with ProcessPoolExecutor(workers, context, _init_worker, initargs) as pool:
        futures = [pool.submit(_run_in_worker, chunk) for chunk in chunks]
        for future in as_completed(futures):
            yield future.result()


def _ray(
    suite: Suite, agent: AgentSpec, traces: Path, chunks: list[list[Key]], workers: int
) -> Iterator[list[dict[str, Any]]]:
    try:
        import ray
    except ImportError as error:
        raise ValueError("the ray backend needs `pip install societygym[ray]`") from error
    from ray.util import ActorPool

    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS"), log_to_driver=False)
    gpus = int(ray.cluster_resources().get("GPU", 0))
    # A teaching episode trains its student: where the cluster has GPUs, each worker holds
    # one, and there are at most as many workers as GPUs (a worker still waiting for a GPU
    # would hold its queued chunk until another worker's run ends).
    per_worker = 1 if gpus and _trains_students(suite) else 0
    if per_worker:
        workers = min(workers, gpus)
    remote_worker = ray.remote(num_gpus=per_worker)(EpisodeWorker)
    args = (suite.to_dict(), {"spec": agent.spec, "args": dict(agent.args)}, str(traces))
    pool = ActorPool([remote_worker.remote(*args) for _ in range(workers)])
    yield from pool.map_unordered(lambda actor, chunk: actor.run_group.remote(chunk), chunks)


def _trains_students(suite: Suite) -> bool:
    from societygym.registry import entry

    return any(
        entry(t.env_id).entry_point.startswith("societygym.envs.dataenv.") for t in suite.tasks
    )


_BACKEND_FUNCTIONS: dict[str, Callable[..., Iterator[list[dict[str, Any]]]]] = {
    "serial": _serial,
    "process": _process,
    "ray": _ray,
}


def evaluate(
    suite: Suite,
    agent: AgentSpec,
    run_dir: Path,
    *,
    backend: str = "process",
    workers: int | None = None,
    batch_size: int = 8,
    progress: bool = True,
    spec: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Play every episode of ``suite`` not yet in ``run_dir``'s journal; all results, in the
    suite's order. ``workers`` defaults to the CPU count (the serial backend uses one)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}")
    spec = spec or run_spec(suite, agent, batch_size)
    run_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive(run_dir):
        return _evaluate_locked(suite, agent, run_dir, spec, backend, workers, progress)


@contextmanager
def _exclusive(run_dir: Path) -> Iterator[None]:
    """One evaluation per run folder at a time: a second submitter of the same specification
    is told so instead of interleaving its journal lines (the lock dies with its process)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no locking
        yield
        return
    with open(run_dir / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise ValueError(f"another evaluation is running in {run_dir}") from error
        yield


def _evaluate_locked(
    suite: Suite,
    agent: AgentSpec,
    run_dir: Path,
    spec: dict[str, Any],
    backend: str,
    workers: int | None,
    progress: bool,
) -> list[dict[str, Any]]:
    spec_file = run_dir / "spec.json"
    if spec_file.exists():
        if json.loads(spec_file.read_text(encoding="utf-8")) != json.loads(canonical_json(spec)):
            raise ValueError(f"{run_dir} holds a run of a different specification")
    else:
        spec_file.write_text(json.dumps(spec, indent=2, sort_keys=True), encoding="utf-8")
    journal = Journal(run_dir / "episodes.jsonl")
    done = journal.load()
    chunks = groups(suite, int(spec["group_size"]), done)
    workers = max(1, workers or os.cpu_count() or 1)
    if chunks:
        bar = progress_bars.bar(
            suite.episodes, suite.name, "ep", initial=len(done), quiet=not progress
        )
        run = _BACKEND_FUNCTIONS[backend]
        for results in run(suite, agent, run_dir / "traces", chunks, min(workers, len(chunks))):
            journal.append(results)
            done.update({(r["task"], r["seed"], r["index"]): r for r in results})
            bar.update(len(results))
        bar.close()
    return [done[key] for key in suite.episode_keys()]
